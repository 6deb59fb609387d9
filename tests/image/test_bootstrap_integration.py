"""One real ``portside bootstrap`` per test run (about a minute, ~270 MB), shared by the tests that need a
Python base: the bootstrapped image runs Python in a runc container, and the seed example builds on it.

The bootstrap runs once for all pytest-xdist workers: the first worker to take the lock makes it in a
directory every worker sees; the others wait for the lock and reuse the result.
"""

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from portside.image import ImageStore

pytestmark = pytest.mark.integration

BASE = "portside/python:3.11-bookworm"
REPO = Path(__file__).resolve().parents[2]


def portside(root: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portside", "--root", str(root), *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _shared_dir(factory: pytest.TempPathFactory) -> Path:
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def python_base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """(engine root holding BASE, the bootstrap command's outcome)."""
    if os.geteuid() != 0:
        pytest.skip("bootstrap needs root")
    shared = _shared_dir(tmp_path_factory)
    root, outcome = shared / "python-base", shared / "python-base.json"
    with open(shared / "python-base.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not outcome.exists():
            proc = portside(root, "bootstrap", "-q", "debian:bookworm", "--include", "python3-flask", "-t", BASE)
            outcome.write_text(json.dumps({"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}))
    return root, json.loads(outcome.read_text())


def test_bootstrapped_base_runs_python_with_flask(python_base, needs_root, tmp_path):
    from image.registry.helpers import run_in_image

    root, outcome = python_base
    assert outcome["code"] == 0, outcome["stderr"]
    store = ImageStore(root / "image")
    image = store.resolve(BASE)
    assert outcome["stdout"].strip() == image.id
    assert list((store.root / "tmp").iterdir()) == []  # the debootstrap tree is gone
    rootfs = store.layer_dirs(image)[0]
    assert list((rootfs / "var/lib/apt/lists").glob("*_Packages")) == []  # apt caches emptied
    code, out = run_in_image(store, image, ["python3", "-c", "import flask, sys; print(sys.version_info[:2])"],
                             tmp_path)
    assert (code, out) == (0, "(3, 11)\n")
