"""The PV controller and the storage API through stock kubectl and the official client, without a node: field
errors, binding (by size, selector, pre-binding), the phases and kubectl's columns, reclaim of a volume that has
no deleter, protection of a bound volume, and the Events that say why a claim waits."""

from __future__ import annotations

import json

import kubernetes
import pytest
from support.builders import pv, pvc, storage_class
from support.cluster import only
from support.wait import Watch, eventually

TIMEOUT = 20


@pytest.fixture(scope="module")
def up_flags() -> tuple[str, ...]:
    return only("volume-controllers", "local-storage")


def apply(cluster, obj: dict, check: bool = True):
    return cluster.kubectl("apply", "-f", "-", input=json.dumps(obj), check=check)


def phase_is(cluster, resource: str, name: str, want: str, ns: str = "") -> dict:
    return eventually(lambda objs: objs.get(name, {}).get("status", {}).get("phase") == want and objs[name],
                      TIMEOUT, what=f"{resource} {name} {want}", watch=Watch(cluster.kubeconfig, resource, ns))


def events_of(cluster, ns: str, name: str) -> str:
    return cluster.kubectl("get", "events", "-n", ns, "--field-selector", f"involvedObject.name={name}").stdout


@pytest.mark.parametrize("obj, error", [
    (pvc("c") | {"spec": {"accessModes": ["ReadWriteOnce"]}}, "spec.resources.requests.storage: Required value"),
    (pvc("c", "lots"), 'spec.resources.requests.storage: Invalid value: "lots"'),
    (pvc("c", "0"), 'spec.resources.requests.storage: Invalid value: "0": must be greater than zero'),
    (pvc("c", accessModes=["ReadWriteAlways"]), 'spec.accessModes: Unsupported value: "ReadWriteAlways"'),
    (pv("v", hostPath=None, storageClassName=""), "spec: Required value: must specify a volume type"),
    (pv("v", local={"path": "/mnt/disk"}, hostPath=None), "spec.nodeAffinity: Required value"),
    (pv("v", persistentVolumeReclaimPolicy="Recycle"),
     'spec.persistentVolumeReclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"'),
    (storage_class("s", binding="Later"), 'volumeBindingMode: Unsupported value: "Later"'),
])
def test_invalid_storage_objects_are_refused_naming_the_field(cluster, obj, error):
    ns = cluster.namespace("invalid")
    obj["metadata"].pop("namespace", None)
    proc = cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(obj), check=False)
    assert proc.returncode != 0 and error in proc.stderr, proc.stderr


def test_a_claim_binds_the_smallest_volume_its_selector_admits_and_kubectl_shows_both(cluster):
    ns = cluster.namespace("binding")
    apply(cluster, pv("small-fast", "1Gi") | {"metadata": {"name": "small-fast", "labels": {"tier": "fast"}}})
    apply(cluster, pv("big-fast", "5Gi") | {"metadata": {"name": "big-fast", "labels": {"tier": "fast"}}})
    apply(cluster, pv("tiny-slow", "1Mi") | {"metadata": {"name": "tiny-slow", "labels": {"tier": "slow"}}})
    apply(cluster, pvc("data", "512Mi", ns, storageClassName="", selector={"matchLabels": {"tier": "fast"}}))
    claim = phase_is(cluster, "persistentvolumeclaims", "data", "Bound", ns)
    assert claim["spec"]["volumeName"] == "small-fast"
    assert claim["status"]["capacity"] == {"storage": "1Gi"} and claim["status"]["accessModes"] == ["ReadWriteOnce"]
    volume = phase_is(cluster, "persistentvolumes", "small-fast", "Bound")
    assert volume["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
    assert volume["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    lines = cluster.kubectl("get", "pv", "small-fast", "tiny-slow").stdout.splitlines()
    assert lines[0].split() == ["NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM",
                                "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
    assert lines[1].split()[:7] == ["small-fast", "1Gi", "RWO", "Retain", "Bound", f"{ns}/data", "<unset>"]
    assert lines[2].split()[:5] == ["tiny-slow", "1Mi", "RWO", "Retain", "Available"]
    classes = cluster.kubectl("get", "sc").stdout.splitlines()
    assert classes[0].split() == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION",
                                  "AGE"]
    assert classes[1].split()[:6] == ["local-path", "(default)", "portside.io/local-path", "Delete",
                                      "WaitForFirstConsumer", "false"]


def test_a_claim_naming_its_volume_gets_that_one(cluster):
    ns = cluster.namespace("prebound")
    apply(cluster, pv("exact-a", "1Gi"))
    apply(cluster, pv("wanted-b", "3Gi"))
    apply(cluster, pvc("data", "1Gi", ns, storageClassName="", volumeName="wanted-b"))
    assert phase_is(cluster, "persistentvolumeclaims", "data", "Bound", ns)["spec"]["volumeName"] == "wanted-b"
    assert phase_is(cluster, "persistentvolumes", "exact-a", "Available")


def test_a_host_path_volume_with_delete_policy_fails_for_want_of_a_deleter(cluster):
    ns = cluster.namespace("nodeleter")
    apply(cluster, pv("doomed", "1Gi", persistentVolumeReclaimPolicy="Delete"))
    apply(cluster, pvc("data", "1Gi", ns, storageClassName="", volumeName="doomed"))
    phase_is(cluster, "persistentvolumeclaims", "data", "Bound", ns)
    cluster.kubectl("delete", "pvc", "data", "-n", ns)
    failed = phase_is(cluster, "persistentvolumes", "doomed", "Failed")
    assert "no deletable volume plugin matched" in failed["status"]["message"]


def test_a_bound_volume_is_removed_only_once_its_claim_is_gone(cluster):
    ns = cluster.namespace("pvprotect")
    apply(cluster, pv("held", "1Gi"))
    apply(cluster, pvc("data", "1Gi", ns, storageClassName="", volumeName="held"))
    phase_is(cluster, "persistentvolumes", "held", "Bound")
    cluster.kubectl("delete", "pv", "held", "--wait=false")
    terminating = json.loads(cluster.kubectl("get", "pv", "held", "-o", "json").stdout)
    assert terminating["metadata"]["deletionTimestamp"] and terminating["status"]["phase"] == "Bound"
    cluster.kubectl("delete", "pvc", "data", "-n", ns)
    eventually(lambda pvs: "held" not in pvs, TIMEOUT, what="volume held removed",
               watch=Watch(cluster.kubeconfig, "persistentvolumes"))


def test_a_waiting_claim_says_what_it_waits_for(cluster):
    ns = cluster.namespace("waiting")
    apply(cluster, pvc("classless", "100Ti", ns, storageClassName=""))  # bigger than any volume here
    apply(cluster, pvc("unknown", "1Gi", ns, storageClassName="gold"))
    apply(cluster, pvc("default", "1Gi", ns))
    eventually(lambda: "no persistent volumes available for this claim and no storage class is set"
               in events_of(cluster, ns, "classless"), TIMEOUT, 0.2, "FailedBinding event")
    eventually(lambda: 'storageclass.storage.k8s.io "gold" not found' in events_of(cluster, ns, "unknown"),
               TIMEOUT, 0.2, "ProvisioningFailed event")
    eventually(lambda: "waiting for first consumer to be created before binding" in events_of(cluster, ns, "default"),
               TIMEOUT, 0.2, "WaitForFirstConsumer event")


def test_the_official_client_reads_claims_and_volumes_typed(cluster):
    ns = cluster.namespace("pyclient")
    with kubernetes.config.new_client_from_config(config_file=cluster.kubeconfig) as api:
        core = kubernetes.client.CoreV1Api(api)
        body = kubernetes.client.V1PersistentVolumeClaim(
            metadata=kubernetes.client.V1ObjectMeta(name="typed"),
            spec=kubernetes.client.V1PersistentVolumeClaimSpec(
                access_modes=["ReadWriteOnce"], storage_class_name="",
                resources=kubernetes.client.V1VolumeResourceRequirements(requests={"storage": "1Gi"})))
        created = core.create_namespaced_persistent_volume_claim(ns, body)
        assert created.status.phase == "Pending" and created.spec.volume_mode == "Filesystem"
        classes = kubernetes.client.StorageV1Api(api).list_storage_class().items
        assert [c.metadata.name for c in classes if c.provisioner == "portside.io/local-path"] == ["local-path"]


def test_the_local_path_volume_for_a_claim_lives_on_the_chosen_node():
    from portside.api.models import Node, ObjectMeta, PersistentVolumeClaim, StorageClass
    from portside.controllers.storage.localpath import default_class, refusal, volume_for

    claim = PersistentVolumeClaim.from_dict(pvc("data", "3Gi", "shop") | {"metadata": {
        "name": "data", "namespace": "shop", "uid": "u-1"}})
    node = Node(metadata=ObjectMeta(name="b", labels={"kubernetes.io/hostname": "b"},
                                    annotations={"portside.io/storage-dir": "/var/lib/portside/storage"}))
    sc = default_class()
    assert refusal(claim, sc, node, "b") == ""
    made = volume_for(claim, sc, node, "/var/lib/portside/storage").to_dict()
    assert made["metadata"] == {"name": "pvc-u-1", "annotations": {"pv.kubernetes.io/provisioned-by":
                                                                    "portside.io/local-path"}}
    assert made["spec"]["hostPath"] == {"path": "/var/lib/portside/storage/pvc-u-1_shop_data",
                                        "type": "DirectoryOrCreate"}
    assert made["spec"]["claimRef"]["uid"] == "u-1" and made["spec"]["capacity"] == {"storage": "3Gi"}
    [term] = made["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["b"]}]
    immediate = StorageClass.from_dict(storage_class("now", "portside.io/local-path", binding="Immediate"))
    assert "use volumeBindingMode WaitForFirstConsumer" in refusal(claim, immediate, node, "b")
    shared = PersistentVolumeClaim.from_dict(pvc("data", accessModes=["ReadWriteMany"]))
    assert "not ReadWriteMany" in refusal(shared, sc, node, "b")
    bare = Node(metadata=ObjectMeta(name="c"))
    assert "announces no storage directory" in refusal(claim, sc, bare, "c")
