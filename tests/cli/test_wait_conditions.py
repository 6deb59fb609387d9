"""``wait --condition``: docker's wait conditions (the Docker API's ``?condition=``) on real containers."""

from __future__ import annotations

import subprocess

import pytest
from support.wait import eventually


def still_waiting(proc: subprocess.Popen) -> bool:
    """Not returned within a second (it would return at once if it did not wait for its condition)."""
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(1)
    return True


def test_next_exit_waits_for_a_start_and_removed_for_the_removal(portside) -> None:
    portside("create", "--name", "later", "--network", "none", "busybox", "sh", "-c", "exit 7")
    assert portside("wait", "later").stdout == "0\n"  # not-running: at once for a container that never ran
    waiter = portside.popen("wait", "--condition", "next-exit", "later")
    assert still_waiting(waiter)
    portside("start", "later")
    assert waiter.communicate(timeout=60) == ("7\n", "")

    remover = portside.popen("wait", "--condition", "removed", "later")
    assert still_waiting(remover)
    portside("rm", "later")
    assert remover.communicate(timeout=60) == ("7\n", "")

    bad = portside("wait", "--condition", "sometimes", "later", check=False)
    assert bad.stderr == "portside: invalid wait condition 'sometimes': expected not-running, next-exit or removed\n"


def test_wait_is_answered_at_a_restart_and_kill_returns_once_the_container_is_dead(portside) -> None:
    portside("run", "-d", "--name", "flapping", "--network", "none", "--restart", "always", "busybox", "sh", "-c",
             "sleep 0.5; exit 3")
    assert portside("wait", "flapping", timeout=30).stdout == "3\n"  # docker's: the first exit answers
    portside("kill", "flapping")
    portside("rm", "flapping")  # dead once kill returned, and not restarted: no -f needed


def test_a_removed_containers_exit_code_reaches_a_waiter_that_looked_away(portside) -> None:
    """A Docker API wait checks every two seconds whether its client still listens; a ``--rm`` container may end
    and vanish during that check (here: a check that lasts until then). The exit code still comes through."""
    from portside.engine import Engine

    engine = Engine(portside.root)
    cid = portside("create", "--rm", "--network", "none", "busybox", "sh", "-c", "sleep 2.5; exit 6").stdout.strip()

    def gone() -> bool:  # the first check outlasts the container's end and removal
        eventually(lambda: cid not in portside("ps", "-aq", "--no-trunc").stdout.split(), 20,
                   what="the --rm container to be removed")
        return False
    portside("start", cid)
    assert engine.wait(cid, "not-running", gone=gone) == 6
