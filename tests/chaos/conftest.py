"""The chaos suite's fixtures: the seed example's image built once per test run (on the shared Python base) and
saved to an archive that each agent host loads, and three agent hosts with the seed scaled to six replicas."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from leftovers import TEST_CGROUP_PARENT

from tests.image.test_bootstrap_integration import python_base  # noqa: F401 - the shared bootstrap fixture

REPO = Path(__file__).resolve().parents[2]


def portside(root: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portside", "--root", str(root), *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def seed_archive(python_base) -> Path:  # noqa: F811 - python_base is the fixture
    """``my-app:latest`` (examples/seed built by its build.sh) as a docker-archive, made once per run."""
    base_root, outcome = python_base
    assert outcome["code"] == 0, outcome["stderr"]
    shared = base_root.parent
    root, archive, result = shared / "seed-image", shared / "seed-image.tar", shared / "seed-image.json"
    with open(shared / "seed-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            root.mkdir(exist_ok=True)
            # the build's RUN steps in this process's test cgroup parent, which the suite removes at its end
            (root / "engine.json").write_text(json.dumps({"cgroup_parent": TEST_CGROUP_PARENT}))
            subprocess.run(["cp", "-al", str(base_root / "image"), str(root / "image")], check=True)
            env = {**os.environ, "PORTSIDE": f"{sys.executable} -m portside", "PORTSIDE_ROOT": str(root)}
            proc = subprocess.run(["sh", str(REPO / "examples/seed/build.sh")], env=env, capture_output=True,
                                  text=True, timeout=600, stdin=subprocess.DEVNULL)
            if proc.returncode == 0:
                proc = portside(root, "save", "-o", str(archive), "my-app:latest")
            result.write_text(json.dumps({"code": proc.returncode, "out": proc.stdout + proc.stderr}))
    built = json.loads(result.read_text())
    assert built["code"] == 0, built["out"]
    return archive
