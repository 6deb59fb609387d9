"""``wait --condition``: docker's wait conditions (the Docker API's ``?condition=``) on real containers."""

from __future__ import annotations

import subprocess

import pytest


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
