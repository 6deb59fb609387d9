"""The two-tier example from plain Kubernetes YAML, unchanged (``kubectl apply -f examples/two-tier/``): Redis in a
StatefulSet with a claim template and its headless Service, and a web Deployment that reaches it by the Service
name. A note written through the web tier survives deleting the database pod, restarting the node's agent and
restarting ``portside up``.

The node is a ``portside agent`` on this machine joined to a ``portside up`` that runs no node of its own, so the
agent and the server restart apart, as they do when a node or the control plane is upgraded. The images are built
once per test run with the example's ``build.sh`` (the web tier on the shared Python base; Redis from this
machine's Debian package) into a store every worker links its agent's root to.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from support.require import require
from support.wait import Watch, eventually

from tests.image.test_bootstrap_integration import _shared_dir, python_base  # noqa: F401 - the shared bootstrap

from .conftest import server, wait_ready
from .test_join import join_command

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]  # may wait for the shared bootstrap
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "two-tier"
TIMEOUT = 90


@pytest.fixture(scope="session")
def two_tier_images(python_base, tmp_path_factory) -> Path:  # noqa: F811 - python_base is the fixture
    """An image store with the Python base, ``notes-web:1`` and ``redis:7.0``, built by the example's script once
    for all workers (the first to take the lock builds; the others reuse its outcome)."""
    require("root", "redis-server")
    base, outcome = python_base
    assert outcome["code"] == 0, outcome["stderr"]
    shared = _shared_dir(tmp_path_factory)
    root, result = shared / "two-tier", shared / "two-tier.json"
    with open(shared / "two-tier.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            root.mkdir(exist_ok=True)
            subprocess.run(["cp", "-al", str(base / "image"), str(root / "image")], check=True)
            env = {**os.environ, "PORTSIDE": f"{sys.executable} -m portside", "PORTSIDE_ROOT": str(root)}
            built = subprocess.run(["sh", str(EXAMPLE / "build.sh")], env=env, capture_output=True, text=True,
                                   timeout=600, stdin=subprocess.DEVNULL)
            result.write_text(json.dumps({"code": built.returncode, "output": built.stdout + built.stderr}))
    built = json.loads(result.read_text())
    assert built["code"] == 0, built["output"]
    return root / "image"


def note(url: str, value: str | None = None) -> str:
    """GET (or PUT ``value``) a note; the answer's body, or "" while the app or its database cannot answer."""
    data = value.encode() if value is not None else None
    request = urllib.request.Request(url, data=data, method="PUT" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.read().decode()
    except (OSError, http.client.HTTPException):  # refused, reset, timed out, or an error status (HTTPError)
        return ""


def app_ready(cluster, redis_uid: str = "") -> dict:
    """The pods once redis-0 (another than ``redis_uid``) and both web replicas are Ready."""
    def ready(pods: dict) -> dict | None:
        live = [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")]
        is_ready = [p for p in live if any(c["type"] == "Ready" and c["status"] == "True"
                                           for c in (p.get("status") or {}).get("conditions", []))]
        redis = pods.get("redis-0")
        web = [p for p in is_ready if p["metadata"]["labels"].get("app") == "web"]
        fresh = redis is not None and redis in is_ready and redis["metadata"]["uid"] != redis_uid
        return pods if fresh and len(web) == 2 else None
    return eventually(ready, TIMEOUT, what="redis-0 and two web pods Ready",
                      watch=Watch(cluster.kubeconfig, "pods", "default"))


def test_a_two_tier_app_keeps_its_data_across_a_database_pod_deletion_and_restarts(tmp_path, agents, needs_root,
                                                                                   two_tier_images):
    # a pod range of its own: the agents of other clusters on this machine use the default one
    with server(tmp_path, "--cluster-cidr", f"10.{180 + os.getpid() % 60}.0.0/16") as cluster:
        url, token = join_command(cluster)
        agent = agents("two-tier", images=two_tier_images).start(url, token)
        wait_ready(cluster, "two-tier")
        cluster.kubectl("apply", "-f", str(EXAMPLE))
        pods = app_ready(cluster)
        service = json.loads(cluster.kubectl("get", "svc", "web", "-o", "json").stdout)["spec"]["clusterIP"]
        notes = f"http://{service}/notes"
        assert eventually(lambda: note(f"{notes}/first", "kept"), 30, 0.2, "a note written") == "stored\n"
        assert note(f"{notes}/first") == "kept" and note(f"{notes}/missing") == ""
        claim = json.loads(cluster.kubectl("get", "pvc", "data-redis-0", "-o", "json").stdout)
        assert claim["status"]["phase"] == "Bound"
        assert cluster.kubectl("get", "sts", "redis").stdout.splitlines()[1].split()[:2] == ["redis", "1/1"]

        cluster.kubectl("delete", "pod", "redis-0")
        app_ready(cluster, pods["redis-0"]["metadata"]["uid"])
        assert eventually(lambda: note(f"{notes}/first"), 30, 0.2, "the note after redis-0 was deleted") == "kept"
        again = json.loads(cluster.kubectl("get", "pvc", "data-redis-0", "-o", "json").stdout)
        assert again["metadata"]["uid"] == claim["metadata"]["uid"]  # the same claim, not a new one
        assert note(f"{notes}/second", "also kept") == "stored\n"

        agent.stop()
        agent.start(url, token)
        wait_ready(cluster, "two-tier")
        assert eventually(lambda: note(f"{notes}/first"), 30, 0.2, "the note after the agent restarted") == "kept"

        cluster.stop()
        cluster.start()
        wait_ready(cluster, "two-tier")
        assert eventually(lambda: note(f"{notes}/second"), 30, 0.2, "the note after up restarted") == "also kept"
        assert note(f"{notes}/first") == "kept"
        app_ready(cluster)
