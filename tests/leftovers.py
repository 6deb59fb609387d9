"""Removing what tests leave in the cgroup hierarchies, and the cgroup parent for containers the tests run outside
an engine root (build RUN steps, one-shot and monitor tests): one per test process, so that what those leave is
this process's to remove, at the end of its session."""

import os
import time
from pathlib import Path

TEST_CGROUP_PARENT = f"portside-test-{os.getpid()}"
CGROUP_ROOT = Path("/sys/fs/cgroup")
REMOVE_TIMEOUT_S = 10.0  # a killed process that is still unmapping a large memory takes seconds on a loaded host


def remove_cgroup_parent(name: str, *, kill: bool = False, strict: bool = True) -> list[str]:
    """Remove ``name`` and the cgroups below it from every hierarchy.

    ``kill``: processes still inside are killed first, and named in the list returned (a leak to report).
    ``strict``: a cgroup still busy after REMOVE_TIMEOUT_S raises; otherwise it is left where it is.
    """
    leaks: list[str] = []
    for base in (CGROUP_ROOT, *CGROUP_ROOT.glob("*")):
        parent = base / name
        if parent.is_dir():
            for group in [*(d for d in parent.iterdir() if d.is_dir()), parent]:
                if kill:
                    leaks += _kill_all(group)
                _rmdir(group, strict)
    return leaks


def _kill_all(cgroup: Path) -> list[str]:
    """A process still in one of a test's cgroups is a leak: named, then killed so that the cgroup can go."""
    try:
        pids = [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]
    except OSError:
        return []
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    return [f"process {pid} in {cgroup}" for pid in pids]


def _rmdir(cgroup: Path, strict: bool) -> None:
    """A cgroup whose last process is still being reaped refuses rmdir for a moment."""
    deadline = time.monotonic() + REMOVE_TIMEOUT_S
    while True:
        try:
            cgroup.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                if strict:
                    raise OSError(f"cgroup {cgroup} still busy after {REMOVE_TIMEOUT_S} s: {_contents(cgroup)}") from None
                return
            time.sleep(0.05)


def _contents(cgroup: Path) -> str:
    """What keeps a cgroup busy: its child groups and its processes with their command lines."""
    children = [d.name for d in cgroup.iterdir() if d.is_dir()]
    try:
        pids = (cgroup / "cgroup.procs").read_text().split()
    except OSError:
        pids = []
    return f"children {children}, processes {[f'{pid} {_cmdline(pid)}' for pid in pids]}"


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return "(gone)"
