"""Swarm mode's endpoints answer as dockerd's do on a node in no swarm, and making a swarm is refused clearly."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

NOT_A_MANAGER = ("This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect "
                 "this node to swarm and try again.")


def test_a_node_in_no_swarm_answers_503_as_dockerd_does(docker_api) -> None:
    client = docker_api.client()
    assert client.leave_swarm(force=True) is True  # docker-py takes the 503 for "not in a swarm"
    for method, path in (("GET", "/swarm"), ("GET", "/nodes"), ("GET", "/services/web"), ("POST", "/secrets/create"),
                         ("DELETE", "/configs/c1"), ("POST", "/swarm/leave")):
        response = client.request(method, client._url(path))
        assert response.status_code == 503, (method, path, response.text)
        assert response.headers["Content-Type"] == "application/json"
        expected = "This node is not part of a swarm" if path == "/swarm/leave" else NOT_A_MANAGER
        assert response.json() == {"message": expected}
    listing = docker_api.docker("node", "ls", check=False)
    assert listing.returncode == 1 and NOT_A_MANAGER in listing.stderr


def test_making_or_joining_a_swarm_is_refused_by_name(docker_api) -> None:
    client = docker_api.client()
    init = docker_api.docker("swarm", "init", "--advertise-addr", "127.0.0.1", check=False)
    assert init.returncode == 1 and "swarm mode is not available" in init.stderr, init.stderr
    response = client.post(client._url("/swarm/join"), json={})
    assert response.status_code == 501 and "Kubernetes API" in response.json()["message"]
