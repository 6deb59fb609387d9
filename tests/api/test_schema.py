"""The schema decode step: JSON types with exact paths, pruning unknown fields, canonical quantities, typed access."""

import copy
import dataclasses

import pytest

from portside.api import models
from portside.api.errors import FieldError
from portside.api.schema import normalize, schema_of

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "labels": {"app": "x"}},
    "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"limits": {"cpu": 0.5, "memory": "1Gi"}},
                             "ports": [{"containerPort": 80}]}]},
}


def _normalize(obj: object) -> tuple[object, list[FieldError], list[str]]:
    errs: list[FieldError] = []
    unknown: list[str] = []
    return normalize(schema_of(models.Pod), obj, "", errs, unknown), errs, unknown


def test_valid_object_passes_and_quantities_become_canonical() -> None:
    out, errs, unknown = _normalize(POD)
    assert errs == [] and unknown == []
    assert out["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "500m", "memory": "1Gi"}


def test_unknown_fields_are_pruned_and_reported_with_paths() -> None:
    obj = {**POD, "extra": 1, "spec": {**POD["spec"], "containers": [{**POD["spec"]["containers"][0], "imag": "x"}]}}
    out, errs, unknown = _normalize(obj)
    assert errs == []
    assert sorted(unknown) == ["extra", "spec.containers[0].imag"]
    assert "extra" not in out and "imag" not in out["spec"]["containers"][0]


def test_wrong_json_types_are_errors_with_paths() -> None:
    obj = {"metadata": {"name": 3, "labels": {"a": 1}}, "spec": {"containers": {"name": "c"}, "hostNetwork": "yes"}}
    _, errs, _ = _normalize(obj)
    assert [str(e) for e in errs] == [
        'metadata.name: Invalid value: "number": metadata.name in body must be of type string: "number"',
        'metadata.labels[a]: Invalid value: "number": metadata.labels[a] in body must be of type string: "number"',
        'spec.containers: Invalid value: "object": spec.containers in body must be of type array: "object"',
        'spec.hostNetwork: Invalid value: "string": spec.hostNetwork in body must be of type boolean: "string"',
    ]


def test_bool_is_not_an_integer_and_nulls_are_dropped() -> None:
    out, errs, _ = _normalize({"spec": {"priority": True, "nodeName": None}})
    assert [e.path for e in errs] == ["spec.priority"]
    assert "nodeName" not in out["spec"]


def test_bad_quantity_path_uses_resource_name() -> None:
    _, errs, _ = _normalize({"spec": {"containers": [{"name": "c", "resources": {"limits": {"memory": "12x"}}}]}})
    assert str(errs[0]).startswith('spec.containers[0].resources.limits.memory: Invalid value: "12x": quantities must')


def test_typed_round_trip() -> None:
    out, _, _ = _normalize(POD)
    pod = models.Pod.from_dict(out)
    assert pod.spec.containers[0].ports[0].container_port == 80
    assert pod.metadata.labels == {"app": "x"}
    assert pod.to_dict() == out


def test_a_decoded_model_is_the_constructed_one() -> None:
    """Decoding fills only the fields on the wire; absent ones read the dataclass default, so equality, copies,
    ``dataclasses.replace`` and later assignments behave as on a model built by its constructor."""
    wire = {"metadata": {"name": "a", "labels": {"app": "x"}}, "spec": {"nodeName": None, "containers": [
        {"name": "c", "image": "busybox"}]}, "unknown": 1}
    pod = models.Pod.from_dict(wire)
    built = models.Pod(metadata=models.ObjectMeta(name="a", labels={"app": "x"}),
                       spec=models.PodSpec(containers=[models.Container(name="c", image="busybox")]))
    assert pod == built and pod.status is None and pod.spec.node_name is None
    assert dataclasses.replace(pod, status=models.PodStatus(phase="Running")).status.phase == "Running"
    moved = copy.deepcopy(pod)
    moved.spec.node_name = "n1"
    assert moved.to_dict()["spec"]["nodeName"] == "n1" and pod.spec.node_name is None
    assert pod.to_dict() == {k: v for k, v in wire.items() if k != "unknown"} | {"spec": {"containers": [
        {"name": "c", "image": "busybox"}]}}


def test_wire_names_follow_kubernetes_spelling() -> None:
    props = schema_of(models.PodSpec).props
    assert {"hostPID", "hostIPC", "setHostnameAsFQDN", "nodeName", "topologySpreadConstraints"} <= set(props)
    assert {"clusterIP", "clusterIPs", "externalIPs", "ipFamilyPolicy"} <= set(schema_of(models.ServiceSpec).props)
    assert "podIPs" in schema_of(models.PodStatus).props
    assert "Port" in schema_of(models.DaemonEndpoint).props


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "Service", "Job", "Node", "Lease", "PriorityClass"])
def test_every_model_compiles(kind: str) -> None:
    assert schema_of(getattr(models, kind)).props["metadata"].node.cls is models.ObjectMeta
