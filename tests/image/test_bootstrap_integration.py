"""One real ``portside bootstrap`` per test run (one to two minutes, ~270 MB), shared by the tests that need a
Python base: the bootstrapped image runs Python under ``portside run``, and the seed example builds and serves.

The bootstrap runs once for all pytest-xdist workers: the first worker to take the lock makes it in a
directory every worker sees; the others wait for the lock and reuse the result. Each test then works on its own
engine root whose image store is a hard-linked copy of the shared one (the store only ever renames files into
place, never rewrites them, so the copies cannot disturb each other).
"""

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.net import free_port, http_get
from support.require import require

from portside.image import ImageStore

from .registry.helpers import isolated_engine, portside

pytestmark = pytest.mark.integration

BASE = "portside/python:3.11-bookworm"
REPO = Path(__file__).resolve().parents[2]


def _shared_dir(factory: pytest.TempPathFactory) -> Path:
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def python_base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """(engine root holding BASE, the bootstrap command's outcome)."""
    require("root", "debootstrap")
    shared = _shared_dir(tmp_path_factory)
    root, outcome = shared / "python-base", shared / "python-base.json"
    with open(shared / "python-base.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not outcome.exists():
            proc = portside(root, "bootstrap", "-q", "debian:bookworm", "--include", "python3-flask", "-t", BASE,
                            timeout=900)
            outcome.write_text(json.dumps({"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}))
    return root, json.loads(outcome.read_text())


@pytest.fixture
def own_root(python_base, needs_root, tmp_path) -> Path:
    """An engine root of this test's own, holding the bootstrapped base, with its own bridge and cgroups."""
    shared, outcome = python_base
    assert outcome["code"] == 0, outcome["stderr"]
    root = tmp_path / "engine"
    root.mkdir()
    subprocess.run(["cp", "-al", str(shared / "image"), str(root / "image")], check=True)
    with isolated_engine(root):
        yield root


def test_bootstrapped_base_runs_python_with_flask(python_base, own_root):
    _, outcome = python_base
    store = ImageStore(own_root / "image")
    image = store.resolve(BASE)
    assert outcome["stdout"].strip() == image.id
    assert list((store.root / "tmp").iterdir()) == []  # the debootstrap tree is gone
    rootfs = store.layer_dirs(image)[0]
    assert list((rootfs / "var/lib/apt/lists").glob("*_Packages")) == []  # apt caches emptied
    ran = portside(own_root, "run", "--rm", "--network", "none", BASE, "python3", "-c",
                   "import flask, sys; print(sys.version_info[:2])")
    assert (ran.returncode, ran.stdout) == (0, "(3, 11)\n"), ran.stderr


def test_seed_example_builds_with_its_script_and_serves(own_root):
    env = {**os.environ, "PORTSIDE": f"{sys.executable} -m portside", "PORTSIDE_ROOT": str(own_root)}
    built = subprocess.run(["sh", str(REPO / "examples/seed/build.sh")], env=env, capture_output=True, text=True,
                           timeout=600, stdin=subprocess.DEVNULL)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "flask" in built.stdout  # the RUN step's check printed Flask's version
    port = free_port()
    ran = portside(own_root, "run", "-d", "--name", "seed", "-e", "POD_NAME=my-app-1", "-p",
                   f"127.0.0.1:{port}:5000", "my-app:latest")
    assert ran.returncode == 0, ran.stderr
    assert http_get(f"http://127.0.0.1:{port}/") == "Hello from my-app-1\n"
    assert http_get(f"http://127.0.0.1:{port}/healthz") == "ok\n"
