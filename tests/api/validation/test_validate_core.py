"""Service, Namespace, Node, ConfigMap, Secret, Event, Endpoints, PriorityClass and Lease rules."""

import base64

import pytest
from support.builders import service

from tests.api.messages import messages


def _obj(kind: str, api_version: str = "v1", namespaced: bool = True, **fields: object) -> dict:
    meta = {"name": "thing", **({"namespace": "default"} if namespaced else {})}
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **fields}


def test_seed_service_is_valid() -> None:
    assert messages(service(type="LoadBalancer")) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"ports": []}, "spec.ports: Required value"),
        ({"type": "Cheap"}, 'spec.type: Unsupported value: "Cheap": supported values: "ClusterIP", "ExternalName", '
                            '"LoadBalancer", "NodePort"'),
        ({"ports": [{"port": 0}]}, "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
        ({"ports": [{"port": 80, "targetPort": 0}]},
         "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive"),
        ({"ports": [{"port": 80}, {"port": 81}]}, "spec.ports[0].name: Required value"),
        ({"ports": [{"port": 80, "name": "a"}, {"port": 81, "name": "a"}]}, 'spec.ports[1].name: Duplicate value: "a"'),
        ({"ports": [{"port": 80, "protocol": "HTTP"}]}, 'spec.ports[0].protocol: Unsupported value: "HTTP"'),
        ({"ports": [{"port": 80, "nodePort": 30001}]},
         "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"),
        ({"clusterIP": "10.0.0.300"},
         'spec.clusterIP: Invalid value: "10.0.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'),
        ({"sessionAffinity": "Sticky"}, 'spec.sessionAffinity: Unsupported value: "Sticky": supported values: '
                                        '"ClientIP", "None"'),
        ({"type": "ExternalName", "ports": []}, "spec.externalName: Required value"),
    ],
)
def test_service_rules(spec: dict, expected: str) -> None:
    found = messages(service(**spec))
    assert any(m.startswith(expected) for m in found), found


def test_service_names_are_dns1035_labels() -> None:
    obj = service()
    obj["metadata"]["name"] = "1-app"
    assert messages(obj)[0].startswith('metadata.name: Invalid value: "1-app": a DNS-1035 label must consist')


def test_service_port_names_are_dns1123_labels() -> None:
    """As Kubernetes validates them: `kubectl create service nodeport x --tcp=80:8080` names its port "80-8080"."""
    assert messages(service(ports=[{"port": 80, "name": "80-8080"}])) == []
    found = messages(service(ports=[{"port": 80, "name": "Web_1"}]))
    assert found[0].startswith('spec.ports[0].name: Invalid value: "Web_1": a lowercase RFC 1123 label'), found


def test_cluster_scoped_kinds_refuse_a_namespace() -> None:
    obj = _obj("Namespace", namespaced=False)
    assert messages(obj) == []
    obj["metadata"]["namespace"] = "default"
    assert messages(obj) == ["metadata.namespace: Forbidden: not allowed on this type"]
    dotted = _obj("Namespace", namespaced=False)
    dotted["metadata"]["name"] = "a.b"
    assert messages(dotted)[0].startswith('metadata.name: Invalid value: "a.b": a lowercase RFC 1123 label')


def test_node_taints() -> None:
    node = _obj("Node", namespaced=False, spec={"taints": [{"key": "k", "effect": "Sometimes"}]})
    assert messages(node) == ['spec.taints[0].effect: Unsupported value: "Sometimes": supported values: '
                              '"NoExecute", "NoSchedule", "PreferNoSchedule"']


def test_configmap_and_secret_keys() -> None:
    assert messages(_obj("ConfigMap", data={"ok.key": "v"})) == []
    bad = messages(_obj("ConfigMap", data={"bad key": "v"}))
    assert bad[0].startswith('data[bad key]: Invalid value: "bad key": a valid config key must consist of')
    good_secret = _obj("Secret", data={"k": base64.b64encode(b"v").decode()})
    assert messages(good_secret) == []
    assert messages(_obj("Secret", data={"k": "not base64!"})) == [
        'data[k]: Invalid value: "<secret contents redacted>": illegal base64 data']


def test_event_priorityclass_lease_endpoints() -> None:
    assert messages(_obj("Event", involvedObject={"kind": "Pod", "name": "p"}, type="Normal")) == []
    assert messages(_obj("Event", type="Normal")) == ["involvedObject: Required value"]
    pc = _obj("PriorityClass", "scheduling.k8s.io/v1", namespaced=False, value=2_000_000_000)
    assert messages(pc) == ["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]
    lease = _obj("Lease", "coordination.k8s.io/v1", spec={"leaseDurationSeconds": 0})
    assert messages(lease) == ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
    eps = _obj("Endpoints", subsets=[{"addresses": [{"ip": "nope"}], "ports": [{"port": 80}]}])
    assert messages(eps) == ['subsets[0].addresses[0].ip: Invalid value: "nope": must be a valid IP address, '
                             "(e.g. 10.9.8.7 or 2001:db8::ffff)"]


def test_invalid_status_body_names_kind_and_causes() -> None:
    from portside import api

    obj = service(type="Cheap")
    with pytest.raises(api.Invalid) as err:
        api.prepare_create(api.lookup("", "v1", "services"), obj)
    status = err.value.status()
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["message"].startswith('Service "my-app" is invalid: spec.type: Unsupported value: "Cheap"')
    assert status["details"]["causes"][0] == {"reason": "FieldValueNotSupported", "field": "spec.type",
                                              "message": 'Unsupported value: "Cheap": supported values: "ClusterIP", '
                                                         '"ExternalName", "LoadBalancer", "NodePort"'}


def test_owner_references() -> None:
    obj = _obj("ConfigMap")
    obj["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": ""}]
    assert messages(obj) == ['metadata.ownerReferences.uid: Invalid value: "": uid must not be empty']
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "1", "controller": True}
    obj["metadata"]["ownerReferences"] = [ref, {**ref, "uid": "2"}]
    assert messages(obj)[0].startswith("metadata.ownerReferences: Invalid value: ")
    assert messages(obj)[0].endswith("Only one reference can have Controller set to true")
