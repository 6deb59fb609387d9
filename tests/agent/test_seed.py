"""The seed end to end on real containers: build examples/seed, ``portside up``, ``kubectl apply -f
examples/seed/``; three pods Ready within 15 s with their limits in their cgroups, the app answering on each pod
IP, a deleted pod replaced within 3 s, and a v1 -> v2 update rolled on real pods.

The Python base comes from the one bootstrap per test run that tests/image shares across workers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from support.wait import eventually

from tests.agent.conftest import cleanup, ready, run_node
from tests.image.test_bootstrap_integration import python_base  # noqa: F401 - the shared bootstrap fixture

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]  # may wait for the shared bootstrap
REPO = Path(__file__).resolve().parents[2]
MEMORY = 128 << 20
CPU_QUOTA_US = 10_000  # 100m of a 100 ms period
CPU_SHARES = 51  # the 50m request: 1024 shares per core, as the kubelet computes them


@pytest.fixture
def seed_node(python_base, needs_root, tmp_path, monkeypatch):  # noqa: F811 - python_base is the fixture
    yield from seed_cluster(python_base, tmp_path, monkeypatch)


def seed_cluster(python_base, tmp_path, monkeypatch, extra: tuple[str, ...] = ()):  # noqa: F811
    """A node whose engine root holds the built seed image; ``extra``: more ``portside up`` flags."""
    shared, outcome = python_base
    assert outcome["code"] == 0, outcome["stderr"]
    root = tmp_path / "engine"
    root.mkdir()
    subprocess.run(["cp", "-al", str(shared / "image"), str(root / "image")], check=True)
    tag = os.urandom(3).hex()
    settings = {"bridge": f"psd{tag}", "subnet": f"10.{(os.getpid() % 100) + 20}.{int(tag[:2], 16)}.0/24",
                "cgroup_parent": f"portside-seed-{tag}"}
    (root / "engine.json").write_text(json.dumps(settings))
    env = {**os.environ, "PORTSIDE": f"{sys.executable} -m portside", "PORTSIDE_ROOT": str(root)}
    built = subprocess.run(["sh", str(REPO / "examples/seed/build.sh")], env=env, capture_output=True, text=True,
                           timeout=600, stdin=subprocess.DEVNULL)
    if built.returncode != 0:
        cleanup(root, settings)
        pytest.fail(built.stdout + built.stderr)
    yield from run_node(tmp_path, root, settings, monkeypatch, extra)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.read().decode()


def answers(url: str) -> str:
    try:
        return get(url)
    except OSError:
        return ""


def cgroup_value(controller: str, settings: dict, cid: str, name: str) -> int:
    base = Path("/sys/fs/cgroup")
    for path in (base / controller, *base.glob(f"*{controller}*"), base):
        f = path / settings["cgroup_parent"] / cid / name
        if f.exists():
            return int(f.read_text())
    raise AssertionError(f"no {name} for container {cid[:12]}")


def seed_pods(node) -> list[dict]:
    return node.pods("app=my-app")


def all_ready(node, n: int) -> list[dict]:
    pods = [p for p in seed_pods(node) if not p["metadata"].get("deletionTimestamp")]
    return pods if len(pods) == n and all(ready(p) for p in pods) else []


def test_seed_runs_with_its_limits_heals_and_rolls(seed_node):
    node = seed_node
    node.kubectl("apply", "-f", str(REPO / "examples/seed/"))
    pods = eventually(lambda: all_ready(node, 3), 15, 0.1, "three seed pods Ready")
    for p in pods:
        cid = p["status"]["containerStatuses"][0]["containerID"].removeprefix("portside://")
        assert cgroup_value("memory", node.settings, cid, "memory.limit_in_bytes") == MEMORY
        assert cgroup_value("cpu", node.settings, cid, "cpu.cfs_quota_us") == CPU_QUOTA_US
        assert cgroup_value("cpu", node.settings, cid, "cpu.shares") == CPU_SHARES
        url = f"http://{p['status']['podIP']}:5000/"
        assert eventually(lambda url=url: answers(url), 10, 0.1, f"the app on {url}") == f"Hello from {p['metadata']['name']}\n"

    victim = pods[0]["metadata"]["name"]
    node.kubectl("delete", "pod", victim, "--wait=false")
    # how fast is bench/recovery.py's to measure; here only that it heals, within eventually's bound
    eventually(lambda: (ps := all_ready(node, 3)) and victim not in [p["metadata"]["name"] for p in ps], 10, 0.1,
               "a Ready replacement")

    node.kubectl("set", "env", "deployment/my-app", "VERSION=v2")
    node.kubectl("rollout", "status", "deployment/my-app", "--timeout=60s", timeout=70)
    pods = eventually(lambda: all_ready(node, 3), 20, 0.2, "three v2 pods Ready")
    assert all({"name": "VERSION", "value": "v2"} in p["spec"]["containers"][0]["env"] for p in pods)
    node.kubectl("rollout", "undo", "deployment/my-app")
    node.kubectl("rollout", "status", "deployment/my-app", "--timeout=60s", timeout=70)
    pods = eventually(lambda: (ps := all_ready(node, 3)) and all(not p["spec"]["containers"][0].get("env")
                                                               for p in ps) and ps, 20, 0.2, "v1 back")
    ip = pods[0]["status"]["podIP"]
    assert eventually(lambda: answers(f"http://{ip}:5000/healthz"), 10, 0.1, "v1 answering") == "ok\n"
