"""kill and wait as dockerd 20.10 answers them: a SIGKILL returns once the container is dead (a remove right
after it succeeds), a wait is answered at a restart-policy container's first exit, and a ``--rm`` container's
exit code reaches its waiter whenever the removal happens."""

from __future__ import annotations

import os
import threading
import time

import docker.errors
import pytest

pytestmark = pytest.mark.integration


def unique(prefix: str) -> str:
    return f"{prefix}-{os.urandom(3).hex()}"


def _create(client, argv: list[str], **host) -> str:
    return client.create_container("busybox", argv, name=unique("kw"),
                                   host_config=client.create_host_config(network_mode="none", **host))["Id"]


def test_a_sigkill_returns_once_the_container_is_dead_and_another_signal_at_once(docker_api) -> None:
    client = docker_api.client()
    ids = [_create(client, ["sleep", "60"]) for _ in range(3)]
    ids.append(_create(client, ["sleep", "60"], restart_policy={"Name": "always"}))
    try:
        for cid in ids:
            client.start(cid)
        client.pause(ids[0])
        for cid in ids:
            client.kill(cid)
            state = client.inspect_container(cid)["State"]
            assert (state["Status"], state["Running"], state["ExitCode"]) == ("exited", False, 137), cid
            client.remove_container(cid)  # no 409: it is not running any more
        # any other signal is only sent: the kill does not wait for the container's own handler
        slow = _create(client, ["sh", "-c", "trap 'sleep 3; exit 3' TERM; while :; do sleep 0.1; done"])
        ids.append(slow)
        client.start(slow)
        time.sleep(0.3)  # the trap is set once the shell runs its loop
        started = time.monotonic()
        client.kill(slow, "SIGTERM")
        assert time.monotonic() - started < 2.5
        assert client.inspect_container(slow)["State"]["Running"]
        assert client.wait(slow, timeout=30) == {"StatusCode": 3, "Error": None}
    finally:
        for cid in ids:
            _force_remove(client, cid)


def test_wait_is_answered_at_the_first_exit_of_a_restarting_container(docker_api) -> None:
    client = docker_api.client()
    slow = _create(client, ["sh", "-c", "sleep 1; exit 3"], restart_policy={"Name": "always"})
    quick = _create(client, ["sh", "-c", "exit 4"], restart_policy={"Name": "always"})
    try:
        client.start(slow)
        assert client.wait(slow, timeout=30) == {"StatusCode": 3, "Error": None}
        with pytest.raises(docker.errors.APIError) as refused:  # it restarts: dockerd counts it as running
            client.remove_container(slow)
        assert refused.value.status_code == 409 and "You cannot remove a running container" in \
            refused.value.explanation
        client.start(quick)  # it ends at once, again and again: a wait may start in any phase of it
        for condition in ("not-running", "next-exit", "not-running"):
            assert client.wait(quick, timeout=30, condition=condition) == {"StatusCode": 4, "Error": None}
        assert client.inspect_container(quick)["RestartCount"] >= 1
        for cid in (slow, quick):  # running or between two runs: a kill ends it for good either way
            client.kill(cid)
            assert client.inspect_container(cid)["State"]["Status"] == "exited"
            client.remove_container(cid)
    finally:
        _force_remove(client, slow)
        _force_remove(client, quick)


def test_an_autoremove_containers_exit_code_reaches_a_wait_without_condition(docker_api) -> None:
    """docker-py's ``run(auto_remove=True)``: start, then wait (not-running); the container ends and is removed
    while the wait runs, at any moment of it (two seconds is when a waiter looks whether its client is still
    there)."""
    client = docker_api.client()
    ids = [_create(client, ["sh", "-c", "sleep 2; exit 6"], auto_remove=True) for _ in range(4)]
    results: dict[str, dict] = {}

    def run(cid: str) -> None:
        client.start(cid)
        results[cid] = client.wait(cid, timeout=30)
    threads = [threading.Thread(target=run, args=(cid,)) for cid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(40)
    assert results == {cid: {"StatusCode": 6, "Error": None} for cid in ids}
    for cid in ids:
        with pytest.raises(docker.errors.NotFound):
            client.inspect_container(cid)


def _force_remove(client, cid: str) -> None:
    try:
        client.remove_container(cid, force=True)
    except docker.errors.NotFound:
        pass
