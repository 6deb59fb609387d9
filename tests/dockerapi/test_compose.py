"""Debian's docker-compose (1.29) through portside's socket: a web service built from a Dockerfile that reaches
``db`` by name over a user network, a named volume, a port published on loopback, ``depends_on: condition:
service_healthy``; up -d, ps, logs, down -v, and nothing left. The same scenario passes against a real dockerd
(``scripts/dockerpy-suite baseline`` runs it there), so a failure here is portside's.

A missing image is a 404 saying "No such image: NAME:TAG", as dockerd's: docker-py picks ImageNotFound (and
compose builds or pulls the image) only on those words."""

from __future__ import annotations

import os

import docker
import pytest
from support.composeapp import ComposeRun
from support.require import require

pytestmark = pytest.mark.integration


def test_a_missing_image_is_docker_py_s_image_not_found(docker_api) -> None:
    client = docker_api.client()
    with pytest.raises(docker.errors.ImageNotFound, match="No such image: no-such-image-x1:latest"):
        client.inspect_image("no-such-image-x1")
    for method, path in (("DELETE", "/images/no-such-image-x1:2"), ("GET", "/images/no-such-image-x1:2/history")):
        response = client.request(method, client._url(path))
        assert (response.status_code, response.json()) == (404, {"message": "No such image: no-such-image-x1:2"})


def test_compose_up_ps_logs_down_of_two_services(docker_api) -> None:
    require("docker-compose")
    run = ComposeRun(docker_api.url, f"pscompose{os.urandom(3).hex()}", docker_api.ps.free_port())
    try:
        run.scenario()
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nservice log:\n{docker_api.log_tail(40)}") from None
