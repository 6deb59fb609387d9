"""Debian's docker-compose (1.29) through portside's socket: a web service built from a Dockerfile that reaches
``db`` by name over a user network, a named volume, a port published on loopback, ``depends_on: condition:
service_healthy``; up -d, ps, logs, down -v, and nothing left. The same scenario passes against a real dockerd
(``scripts/dockerpy-suite baseline`` runs it there), so a failure here is portside's."""

from __future__ import annotations

import os

import pytest
from support.composeapp import ComposeRun
from support.require import require

pytestmark = pytest.mark.integration


def test_compose_up_ps_logs_down_of_two_services(docker_api) -> None:
    require("docker-compose")
    run = ComposeRun(docker_api.url, f"pscompose{os.urandom(3).hex()}", docker_api.ps.free_port())
    try:
        run.scenario()
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nservice log:\n{docker_api.log_tail(40)}") from None
