import pytest

from portside.api.selectors import selector_from_set
from portside.scheduler.model import Requirement
from portside.scheduler.wire import WireError, node_from_wire, pod_from_wire

POD = {
    "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "resourceVersion": "42", "labels": {"app": "web"},
                 "annotations": {"portside.io/gang": "g", "portside.io/gang-min": "3"}},
    "spec": {
        "priority": 100, "schedulerName": "binpack", "nodeSelector": {"disk": "ssd"},
        "initContainers": [{"name": "init", "resources": {"requests": {"cpu": "2"}}}],
        "containers": [
            {"name": "a", "image": "app:v1", "ports": [{"containerPort": 80, "hostPort": 8080}],
             "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}}},
            {"name": "b", "image": "side:v2", "resources": {"limits": {"cpu": "0.5", "nvidia.com/gpu": "1"}}},
        ],
        "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}}},
    },
}


def test_pod_fields():
    p = pod_from_wire(POD)
    assert (p.uid, p.namespace, p.priority, p.scheduler_name, p.resource_version) == ("u1", "shop", 100, "binpack", "42")
    # limits stand in for missing requests; the larger init container wins over the containers' sum for cpu
    assert p.requests == {"cpu": 2000, "memory": 128 << 20, "nvidia.com/gpu": 1}
    assert p.node_selector == selector_from_set({"disk": "ssd"})
    assert p.node_affinity.terms[0].requirements == (Requirement("zone", "In", ("a", "b")),)
    assert p.host_ports[0].port == 8080 and p.images == ("app:v1", "side:v2")
    assert (p.gang, p.gang_min) == ("g", 3)


def test_bad_quantity_names_the_field():
    bad = {"metadata": {"name": "x"}, "spec": {"containers": [{"resources": {"requests": {"memory": "12x"}}}]}}
    with pytest.raises(WireError, match=r"^pod.spec.containers\[0\].resources.requests.memory: invalid quantity '12x'"):
        pod_from_wire(bad)


def test_bad_gang_min_and_missing_name():
    with pytest.raises(WireError, match=r"metadata.annotations\[portside.io/gang-min\]: expected an integer"):
        pod_from_wire({"metadata": {"name": "x", "annotations": {"portside.io/gang-min": "many"}}})
    with pytest.raises(WireError, match="pod.metadata.name: required"):
        pod_from_wire({"metadata": {}})


def test_node_fields():
    n = node_from_wire({"metadata": {"name": "n1", "labels": {"zone": "a"}},
                        "spec": {"unschedulable": True, "taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]},
                        "status": {"allocatable": {"cpu": "7800m", "memory": "31Gi", "pods": "110"},
                                   "images": [{"names": ["app:v1", "app@sha256:x"], "sizeBytes": 1000}]}})
    assert n.allocatable == {"cpu": 7800, "memory": 31 << 30, "pods": 110}
    assert n.labels == {"zone": "a", "kubernetes.io/hostname": "n1"}
    assert n.unschedulable and n.taints[0].key == "gpu" and n.images["app:v1"] == 1000


def test_typed_models_and_wire_dicts_take_the_same_path():
    from portside.api.models import Node, Pod
    from portside.scheduler import node_info, pod_info

    typed_pod = Pod.from_dict(POD)
    assert pod_info(typed_pod).requests == pod_from_wire(POD).requests
    assert pod_from_wire(typed_pod).node_affinity == pod_from_wire(POD).node_affinity  # a model passes through
    raw = {"metadata": {"name": "n1"}, "status": {"capacity": {"cpu": "2", "memory": "1Gi"}}}
    assert node_info(Node.from_dict(raw)).allocatable == node_from_wire(raw).allocatable == {
        "cpu": 2000, "memory": 1 << 30, "pods": 110}


def test_bad_selector_names_the_field():
    bad = {"metadata": {"name": "x"}, "spec": {"affinity": {"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "zone", "labelSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}]}}}}
    with pytest.raises(WireError, match=r"pod.spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution"
                                        r"\[0\].labelSelector.matchExpressions\[0\].operator: 'Near'"):
        pod_from_wire(bad)
