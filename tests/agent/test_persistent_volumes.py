"""Persistent volumes on real pods: a claim of the default class is provisioned on the node of its first pod and
keeps its data across pods and a restart of ``portside up``; reclaim policies Delete and Retain; a static
hostPath volume mounted read-only at a subPath; a pod whose claim is missing stays Pending with the reason; a
claim in use is not removed until its pod is gone.

One cluster for the module (each test in its own namespace): pods here start in about a second, a cluster in
several.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.builders import container, pod, pv, pvc, storage_class, with_claim
from support.cluster import NODE_COMPONENTS, Cluster
from support.wait import Watch, eventually

from tests.agent.conftest import BACKOFF_BASE_S, Node, cleanup, engine_root

TIMEOUT = 60


@pytest.fixture(scope="module")
def node(tmp_path_factory, busybox_rootfs_tar):
    from support.require import require
    require("root", "runc")
    base = tmp_path_factory.mktemp("storage")
    root, settings = engine_root(base, busybox_rootfs_tar)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PORTSIDE_ROOT", str(root))
        mp.setenv("PORTSIDE_BACKOFF_BASE_S", BACKOFF_BASE_S)
        cluster = Cluster(base / "data", node=NODE_COMPONENTS)
        try:
            cluster.start()
            yield Node(cluster, root, settings)
        finally:
            try:
                cluster.stop()
            finally:
                left = cleanup(root, settings)
    assert not left, f"left behind: {left}"


def namespace(node: Node, name: str) -> str:
    return node.cluster.namespace(name)


def busybox(name: str, ns: str, script: str, claim: str = "data", **source) -> dict:
    obj = container(pod(restartPolicy="Never", terminationGracePeriodSeconds=1), image="busybox",
                    imagePullPolicy="IfNotPresent", command=["sh", "-c", script])
    obj["metadata"] = {"name": name, "namespace": ns}
    return with_claim(obj, claim, **source)


def get(node: Node, kind: str, name: str, ns: str = "") -> dict:
    args = ["get", kind, name, "-o", "json"] + (["-n", ns] if ns else [])
    proc = node.kubectl(*args, check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else {}


def finished(node: Node, name: str, ns: str) -> dict:
    return node.wait_pod(name, lambda p: p["status"].get("phase") in ("Succeeded", "Failed"), TIMEOUT,
                         "finished", ns=ns)


def run_to_end(node: Node, name: str, ns: str, script: str, claim: str = "data", **source) -> str:
    """Run a pod on the claim to its end; its log."""
    node.apply(busybox(name, ns, script, claim, **source))
    done = finished(node, name, ns)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    return node.kubectl("logs", name, "-n", ns).stdout


def delete_pod(node: Node, name: str, ns: str) -> None:
    node.kubectl("delete", "pod", name, "-n", ns, "--wait=true", timeout=TIMEOUT)


def volume_dir(node: Node, claim: str, ns: str) -> Path:
    bound = get(node, "pvc", claim, ns)
    return Path(get(node, "pv", bound["spec"]["volumeName"])["spec"]["hostPath"]["path"])


def test_a_claim_of_the_default_class_is_provisioned_where_its_pod_runs_and_keeps_its_data(node):
    ns = namespace(node, "provision")
    node.apply(pvc("data", "64Mi", ns))
    assert get(node, "pvc", "data", ns)["spec"]["storageClassName"] == "local-path"
    assert run_to_end(node, "writer", ns, "echo kept > /data/note") == ""
    claim = get(node, "pvc", "data", ns)
    volume = get(node, "pv", claim["spec"]["volumeName"])
    assert claim["status"]["phase"] == "Bound" and volume["status"]["phase"] == "Bound"
    [term] = volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    writer_node = get(node, "pod", "writer", ns)["spec"]["nodeName"]
    assert term["matchExpressions"][0]["values"] == [writer_node]
    path = Path(volume["spec"]["hostPath"]["path"])
    assert path.parent == node.cluster.data_dir / "storage" and (path / "note").read_text() == "kept\n"
    delete_pod(node, "writer", ns)
    assert run_to_end(node, "reader", ns, "cat /data/note") == "kept\n"
    table = node.kubectl("get", "pvc", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
                                "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert table[1].split()[:6] == ["data", "Bound", claim["spec"]["volumeName"], "64Mi", "RWO", "local-path"]


def test_data_survives_a_restart_of_portside_up(node):
    ns = namespace(node, "restart")
    node.apply(pvc("data", "16Mi", ns))
    run_to_end(node, "before", ns, "echo survived > /data/f")
    node.restart()
    assert run_to_end(node, "after", ns, "cat /data/f") == "survived\n"


def test_deleting_the_claim_of_a_delete_volume_removes_its_directory_and_volume(node):
    ns = namespace(node, "reclaim")
    node.apply(pvc("data", "16Mi", ns))
    run_to_end(node, "w", ns, "echo x > /data/f")
    path, name = volume_dir(node, "data", ns), get(node, "pvc", "data", ns)["spec"]["volumeName"]
    assert path.is_dir()
    delete_pod(node, "w", ns)
    node.kubectl("delete", "pvc", "data", "-n", ns, timeout=TIMEOUT)
    eventually(lambda pvs: name not in pvs, TIMEOUT, what=f"volume {name} deleted",
               watch=Watch(node.cluster.kubeconfig, "persistentvolumes"))
    assert not path.exists()


def test_a_retain_volume_keeps_its_directory_and_stays_released(node):
    ns = namespace(node, "retain")
    node.apply(storage_class("keep", "portside.io/local-path", reclaimPolicy="Retain"))
    node.apply(pvc("data", "16Mi", ns, storageClassName="keep"))
    run_to_end(node, "w", ns, "echo stays > /data/f")
    path, name = volume_dir(node, "data", ns), get(node, "pvc", "data", ns)["spec"]["volumeName"]
    delete_pod(node, "w", ns)
    node.kubectl("delete", "pvc", "data", "-n", ns, timeout=TIMEOUT)
    released = eventually(lambda pvs: pvs.get(name, {}).get("status", {}).get("phase") == "Released" and pvs[name],
                          TIMEOUT, what=f"volume {name} Released", watch=Watch(node.cluster.kubeconfig,
                                                                               "persistentvolumes"))
    assert released["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert (path / "f").read_text() == "stays\n"
    row = next(line.split() for line in node.kubectl("get", "pv", name).stdout.splitlines()[1:])
    assert row[1:6] == ["16Mi", "RWO", "Retain", "Released", f"{ns}/data"]
    node.kubectl("delete", "pv", name, timeout=TIMEOUT)
    assert path.exists()  # an administrator's to remove


def test_a_static_local_volume_mounts_read_only_at_a_sub_path(node, tmp_path):
    ns = namespace(node, "static")
    (tmp_path / "site" / "html").mkdir(parents=True)
    (tmp_path / "site" / "html" / "index").write_text("static\n")
    here = json.loads(node.kubectl("get", "nodes", "-o", "json").stdout)["items"][0]["metadata"]["name"]
    node.apply(pv("site-pv", "1Gi", node=here, hostPath=None, local={"path": str(tmp_path / "site")}))
    node.apply(pvc("site", "1Gi", ns, storageClassName="", volumeName="site-pv"))
    manifest = busybox("reader", ns, "cat /www/index; touch /www/new 2>/dev/null && echo writable || echo read-only",
                       claim="site", mount="/www", readOnly=True)
    manifest["spec"]["containers"][0]["volumeMounts"][0]["subPath"] = "html"
    node.apply(manifest)
    assert finished(node, "reader", ns)["status"]["phase"] == "Succeeded"
    assert node.kubectl("logs", "reader", "-n", ns).stdout == "static\nread-only\n"
    assert not (tmp_path / "site" / "html" / "new").exists()
    delete_pod(node, "reader", ns)
    node.kubectl("delete", "pvc", "site", "-n", ns, timeout=TIMEOUT)
    node.kubectl("delete", "pv", "site-pv", timeout=TIMEOUT)


def test_a_pod_whose_claim_is_missing_stays_pending_with_the_reason_until_it_exists(node):
    ns = namespace(node, "missing")
    node.apply(busybox("waits", ns, "cat /data/f 2>/dev/null; echo ran", claim="nope"))
    message = 'persistentvolumeclaim "nope" not found'
    events = eventually(lambda: message in node.kubectl("get", "events", "-n", ns).stdout, TIMEOUT, 0.2,
                        "the FailedScheduling event")
    assert events
    waiting = get(node, "pod", "waits", ns)
    assert waiting["status"]["phase"] == "Pending" and not waiting["spec"].get("nodeName")
    [scheduled] = [c for c in waiting["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert scheduled["status"] == "False" and message in scheduled["message"]
    node.apply(pvc("nope", "16Mi", ns))
    assert finished(node, "waits", ns)["status"]["phase"] == "Succeeded"
    node.apply(pvc("unbound", "100Ti", ns, storageClassName=""))  # no volume that large, no class to make one
    node.apply(busybox("stuck", ns, "true", claim="unbound"))
    eventually(lambda: "pod has unbound immediate PersistentVolumeClaims" in node.kubectl("get", "events", "-n", ns)
               .stdout, TIMEOUT, 0.2, "the unbound-claim FailedScheduling event")


def test_a_claim_in_use_is_removed_only_after_its_pod(node):
    ns = namespace(node, "protect")
    node.apply(pvc("data", "16Mi", ns))
    node.apply(busybox("user", ns, "sleep 600"))
    node.wait_pod("user", lambda p: p["status"].get("phase") == "Running", TIMEOUT, "running", ns=ns)
    node.kubectl("delete", "pvc", "data", "-n", ns, "--wait=false")
    claim = get(node, "pvc", "data", ns)
    assert claim["metadata"]["deletionTimestamp"] and claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert node.kubectl("get", "pvc", "data", "-n", ns).stdout.splitlines()[1].split()[1] == "Terminating"
    node.kubectl("delete", "pod", "user", "-n", ns, "--wait=false")
    eventually(lambda claims: "data" not in claims, TIMEOUT, what="claim removed after its pod",
               watch=Watch(node.cluster.kubeconfig, "persistentvolumeclaims", ns))


def test_a_sub_path_a_pod_left_as_a_symlink_out_of_the_volume_is_refused(node):
    ns = namespace(node, "escape")
    node.apply(pvc("data", "16Mi", ns))
    run_to_end(node, "plant", ns, "ln -s /etc /data/escape")
    manifest = busybox("victim", ns, "ls /mnt")
    manifest["spec"]["containers"][0]["volumeMounts"][0]["subPath"] = "escape"
    node.apply(manifest)
    refused = node.wait_pod("victim", lambda p: (container_waiting(p) or {}).get("reason") ==
                            "CreateContainerConfigError", TIMEOUT, "refused", ns=ns)
    assert "leads outside the volume" in container_waiting(refused)["message"]


def container_waiting(p: dict) -> dict | None:
    statuses = p.get("status", {}).get("containerStatuses") or []
    return statuses[0]["state"].get("waiting") if statuses else None
