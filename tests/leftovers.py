"""The cgroup parent for containers the tests run outside an engine root (build RUN steps, one-shot and monitor
tests): one per test process, so that what those leave is this process's to remove, at the end of its session."""

import os
from pathlib import Path

TEST_CGROUP_PARENT = f"portside-test-{os.getpid()}"


def remove_cgroup_parent(name: str) -> None:
    """Remove ``name`` and its (empty) children from every hierarchy; a busy one stays and is not an error here:
    the tests that made it report their own leftovers."""
    for base in (Path("/sys/fs/cgroup"), *Path("/sys/fs/cgroup").glob("*")):
        parent = base / name
        if parent.is_dir():
            for group in [*(d for d in parent.iterdir() if d.is_dir()), parent]:
                try:
                    group.rmdir()
                except OSError:
                    pass
