"""A pod talks to the API as its ServiceAccount: the official Python client's in-cluster configuration
(``kubernetes.config.load_incluster_config()``) inside a real pod, reading the token and CA its projected volume
holds and dialling the ``kubernetes`` Service through the node's service proxy. Refused until a RoleBinding
allows it; its token dies with the pod.

The pod runs the Python base image of the one bootstrap per test run; the client is this interpreter's own
``kubernetes`` package, mounted read-only from the host (the image has Python, not the client).
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import kubernetes
import pytest

from tests.agent.conftest import run_node
from tests.image.test_bootstrap_integration import BASE, python_base  # noqa: F401 - the shared bootstrap fixture

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]  # may wait for the shared bootstrap
SITE_PACKAGES = str(Path(kubernetes.__file__).resolve().parents[1])
LIST_PODS = """
from kubernetes import client, config
config.load_incluster_config()
names = sorted(p.metadata.name for p in client.CoreV1Api().list_namespaced_pod("apps").items)
print("PODS", ",".join(names))
"""


@pytest.fixture
def python_node(python_base, needs_root, tmp_path, monkeypatch):  # noqa: F811 - python_base is the fixture
    shared, outcome = python_base
    assert outcome["code"] == 0, outcome["stderr"]
    root = tmp_path / "engine"
    root.mkdir()
    subprocess.run(["cp", "-al", str(shared / "image"), str(root / "image")], check=True)
    tag = os.urandom(3).hex()
    settings = {"bridge": f"pic{tag}", "subnet": f"10.{(os.getpid() % 100) + 120}.{int(tag[:2], 16)}.0/24",
                "cgroup_parent": f"portside-incluster-{tag}"}
    (root / "engine.json").write_text(json.dumps(settings))
    yield from run_node(tmp_path, root, settings, monkeypatch)


def client_pod(name: str, account: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "apps"},
            "spec": {"serviceAccountName": account, "restartPolicy": "Never",
                     "containers": [{"name": "c", "image": BASE, "imagePullPolicy": "IfNotPresent",
                                     "command": ["python3", "-c", LIST_PODS],
                                     "env": [{"name": "PYTHONPATH", "value": "/client"}],
                                     "volumeMounts": [{"name": "client", "mountPath": "/client", "readOnly": True}]}],
                     "volumes": [{"name": "client", "hostPath": {"path": SITE_PACKAGES}}]}}


def finished(node, name: str) -> dict:
    return node.wait_pod(name, lambda p: p["status"].get("phase") in ("Succeeded", "Failed"), timeout=60,
                         what="run to its end", ns="apps")


def api_status(node, token: str) -> int:
    request = urllib.request.Request(node.cluster.url + "/version", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=node.cluster.ca),
                                    timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_pod_lists_pods_with_its_service_account_only_once_allowed(python_node):
    node = python_node
    node.kubectl("create", "namespace", "apps")
    node.kubectl("create", "serviceaccount", "lister", "-n", "apps")
    node.apply(client_pod("refused", "lister"))
    refused = finished(node, "refused")
    logs = node.kubectl("logs", "refused", "-n", "apps").stdout
    assert refused["status"]["phase"] == "Failed", logs
    assert "(403)" in logs and 'User \\"system:serviceaccount:apps:lister\\" cannot list resource \\"pods\\"' in logs
    node.kubectl("create", "rolebinding", "lister-view", "--clusterrole=view", "--serviceaccount=apps:lister",
                 "-n", "apps")
    node.apply(client_pod("allowed", "lister"))
    allowed = finished(node, "allowed")
    logs = node.kubectl("logs", "allowed", "-n", "apps").stdout
    assert allowed["status"]["phase"] == "Succeeded" and "PODS allowed,refused" in logs, logs
    # the token the agent put in the pod is bound to it: valid while the pod exists, refused once it is gone
    uid = allowed["metadata"]["uid"]
    token_file = next(node.root.glob(f"pods/*/{uid}/volumes/kube-api-access-*/token"))
    token = token_file.read_text()
    assert api_status(node, token) == 200
    node.kubectl("delete", "pod", "allowed", "-n", "apps", "--grace-period=0", "--force")
    assert api_status(node, token) == 401
