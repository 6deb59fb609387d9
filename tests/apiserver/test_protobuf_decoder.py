"""The protobuf request decoder against hand-built messages (field numbers from k8s.io/api's generated.proto), and
the promise behind it: every field of every model a served kind reaches has its number, and what has none is
refused, never dropped."""

import asyncio
import contextlib
import json

import aiohttp
import pytest
from support.net import free_port

from portside.api.schema import schema_of
from portside.apiserver import APIServer, ServerConfig, protobuf
from portside.apiserver.protobuf import Message, ProtobufError, Slot, UnsupportedKind, describe, field
from portside.apiserver.protobuf_fields import MESSAGES, META


def msg(*parts: bytes) -> bytes:
    return b"".join(parts)


def entry(key: str, value: bytes | str) -> bytes:
    """One map entry (key 1, value 2), as Go writes map fields."""
    return msg(field(1, key), field(2, value))


def body(api_version: str, kind: str, raw: bytes) -> bytes:
    """The k8s envelope: magic, then runtime.Unknown{typeMeta: {apiVersion, kind}, raw}."""
    return protobuf.MAGIC + msg(field(1, msg(field(1, api_version), field(2, kind))), field(2, raw))


def quantity(text: str) -> bytes:
    return field(1, text)


def test_every_field_of_every_served_kind_has_its_number():
    """Walks each kind's model with the numbers: a model field without a number (or a number naming no model field)
    would be a field that protobuf bodies silently lose."""
    missing, seen = [], set()

    def walk(message: Message, node, where: str) -> None:
        if (message.name, id(node)) in seen:
            return
        seen.add((message.name, id(node)))
        slots = dict(_slots(message))
        package, short = message.name.rsplit(".", 1)
        absent = {token.split("=")[0] for token in MESSAGES[package][short].split() if token.endswith("=-")}
        from_envelope = ("apiVersion", "kind") if where == "" else ()
        missing.extend(f"{message.name}.{name}" for name in node.props
                       if name not in slots and name not in absent and name not in from_envelope)
        for slot in slots.values():
            item = slot.node.item if slot.node.kind in ("list", "map") else slot.node
            if item.kind == "object":
                walk(describe(slot.package, slot.as_type or item.cls.__name__, item), item, f"{where}.{slot.name}")
            elif item.kind == "any" and slot.as_type not in ("", "json"):
                sub = schema_of(getattr(protobuf.models, slot.as_type))
                walk(describe(slot.package, slot.as_type, sub), sub, f"{where}.{slot.name}")

    for (_, kind), (model, package) in protobuf.KINDS.items():
        walk(describe(package, kind, schema_of(model)), schema_of(model), "")
    delete_options = schema_of(protobuf.models.DeleteOptions)
    walk(describe(META, "DeleteOptions", delete_options), delete_options, "")
    assert missing == []
    assert len(seen) > 180  # the walk reached the whole tree: pod specs, volumes, probes, statuses, autoscalers


def _slots(message: Message):
    for slot in message.slots.values():
        if isinstance(slot, Slot):
            yield slot.name, slot
        elif isinstance(slot, Message):
            yield from _slots(slot)


def test_a_pod_decodes_whole_with_go_zero_semantics():
    container = msg(
        field(1, "main"), field(2, "busybox"), field(3, "sh"), field(3, "-c"),
        field(7, msg(field(1, "CM"), field(3, msg(field(3, msg(field(1, msg(field(1, "settings"))), field(2, "k"),
                                                                field(3, False))))))),
        field(8, msg(field(1, entry("memory", quantity("128Mi"))), field(2, entry("cpu", quantity("250m"))))),
        field(9, msg(field(1, "scratch"), field(3, "/scratch"), field(2, False))),
        field(10, msg(field(1, msg(field(1, msg(field(1, "true"))))), field(2, 5), field(7, 0))),
        field(11, msg(field(1, msg(field(2, msg(field(2, msg(field(1, 1), field(3, "http"))))))))),
        field(15, msg(field(4, 0), field(2, False), field(1, msg(field(2, "ALL"))))),
        field(16, False))  # stdin: not a pointer, omitempty: Go writes false, its JSON leaves it out
    volumes = [msg(field(1, "scratch"), field(2, field(2, b""))),
               msg(field(1, "logs"), field(2, field(1, msg(field(1, "/var/log"), field(2, "Directory")))))]
    spec = msg(*(field(1, v) for v in volumes), field(2, container), field(11, False), field(21, False),
               field(4, 0), field(14, msg(field(4, 7), field(4, b"\x08\x09"))),
               field(22, msg(field(1, "k"), field(2, "Exists"), field(5, 0))))
    meta = msg(field(1, "p"), field(11, entry("app", "web")), field(8, b""))
    pod = protobuf.decode(body("v1", "Pod", msg(field(1, meta), field(2, spec), field(3, b""))))
    assert pod == {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "web"}},
        "spec": {
            "volumes": [{"name": "scratch", "emptyDir": {}},
                        {"name": "logs", "hostPath": {"path": "/var/log", "type": "Directory"}}],
            "containers": [{
                "name": "main", "image": "busybox", "command": ["sh", "-c"],
                "env": [{"name": "CM", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "k",
                                                                         "optional": False}}}],
                "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "250m"}},
                "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
                "livenessProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": 5,
                                  "terminationGracePeriodSeconds": 0},
                "readinessProbe": {"httpGet": {"port": "http"}},
                "securityContext": {"runAsUser": 0, "privileged": False, "capabilities": {"drop": ["ALL"]}}}],
            "automountServiceAccountToken": False, "terminationGracePeriodSeconds": 0,
            "securityContext": {"supplementalGroups": [7, 8, 9]},  # unpacked and packed both read
            "tolerations": [{"key": "k", "operator": "Exists", "tolerationSeconds": 0}]},
        "status": {}}


def test_workload_fields_of_each_kind():
    rolling = msg(field(1, msg(field(1, 1), field(3, "25%"))), field(2, msg(field(2, 0))))
    deploy = protobuf.decode(body("apps/v1", "Deployment", msg(
        field(1, field(1, "d")), field(2, msg(field(1, 0), field(4, msg(field(1, "RollingUpdate"), field(2, rolling))),
                                              field(6, 3), field(7, False))))))
    assert deploy["spec"] == {"replicas": 0, "strategy": {"type": "RollingUpdate", "rollingUpdate": {
        "maxUnavailable": "25%", "maxSurge": 0}}, "revisionHistoryLimit": 3}
    job = protobuf.decode(body("batch/v1", "Job", msg(field(2, msg(field(7, 0), field(10, True), field(14, "Failed"))),
                                                      field(3, field(1, msg(field(1, "Complete"), field(2, "True"),
                                                                            field(4, field(1, 1700000000))))))))
    assert job["spec"] == {"backoffLimit": 0, "suspend": True, "podReplacementPolicy": "Failed"}
    assert job["status"] == {"conditions": [{"type": "Complete", "status": "True",
                                             "lastTransitionTime": "2023-11-14T22:13:20Z"}]}


def test_each_version_of_a_kind_is_read_with_its_own_messages():
    """autoscaling/v1 and v2 both have HorizontalPodAutoscaler, with different fields (kubectl autoscale sends v1)."""
    target = msg(field(1, "Deployment"), field(2, "web"), field(3, "apps/v1"))
    v1 = protobuf.decode(body("autoscaling/v1", "HorizontalPodAutoscaler", field(2, msg(
        field(1, target), field(2, 1), field(3, 5), field(4, 0)))))
    assert v1["spec"] == {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                          "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 0}
    # the resource source comes in two pieces: one message, which protobuf's parsers merge
    cpu = msg(field(1, "Resource"), field(4, field(1, "cpu")), field(4, field(2, msg(field(1, "Utilization"),
                                                                                       field(4, 60)))))
    v2 = protobuf.decode(body("autoscaling/v2", "HorizontalPodAutoscaler", field(2, msg(
        field(1, target), field(3, 5), field(4, cpu)))))
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]
    claim = protobuf.decode(body("v1", "PersistentVolumeClaim", field(2, msg(
        field(1, "ReadWriteOnce"), field(2, field(2, entry("storage", quantity("1Gi")))), field(5, "local")))))
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                             "storageClassName": "local"}
    volume = protobuf.decode(body("v1", "PersistentVolume", field(2, field(2, field(20, field(1, "/data"))))))
    assert volume["spec"] == {"local": {"path": "/data"}}  # PersistentVolumeSource, embedded at 2


def test_bytes_raw_json_micro_times_and_options():
    secret = protobuf.decode(body("v1", "Secret", msg(field(2, entry("k", b"\x00\xff")), field(3, "Opaque"))))
    assert secret["data"] == {"k": "AP8="} and secret["type"] == "Opaque"
    revision = protobuf.decode(body("apps/v1", "ControllerRevision", msg(
        field(2, field(1, b'{"spec":{"template":{}}}')), field(3, 0))))
    assert revision["data"] == {"spec": {"template": {}}} and revision["revision"] == 0
    lease = protobuf.decode(body("coordination.k8s.io/v1", "Lease", field(2, msg(
        field(1, "me"), field(4, msg(field(1, 1700000000), field(2, 123456000)))))))
    assert lease["spec"] == {"holderIdentity": "me", "renewTime": "2023-11-14T22:13:20.123456Z"}
    eviction = protobuf.decode(body("policy/v1", "Eviction", msg(
        field(1, field(1, "p")), field(2, msg(field(1, 0), field(2, field(1, "uid-1")), field(5, "All"))))))
    assert eviction["deleteOptions"] == {"gracePeriodSeconds": 0, "preconditions": {"uid": "uid-1"},
                                         "dryRun": ["All"]}
    review = protobuf.decode(body("authorization.k8s.io/v1", "SelfSubjectAccessReview", field(2, field(
        1, msg(field(2, "get"), field(5, "pods"))))))
    assert review["spec"] == {"resourceAttributes": {"verb": "get", "resource": "pods"}}


def test_a_field_the_server_does_not_model_is_refused_naming_it():
    nfs = msg(field(1, "share"), field(2, field(7, msg(field(1, "nfs.local"), field(2, "/export")))))
    with pytest.raises(ProtobufError) as refused:
        protobuf.decode(body("v1", "Pod", field(2, msg(field(1, nfs)))))
    assert str(refused.value) == ("spec.volumes[0]: field 7 (nfs) of k8s.io.api.core.v1.VolumeSource is not "
                                  "supported by this server")
    with pytest.raises(ProtobufError, match=r"^spec: field 99 of k8s.io.api.apps.v1.DeploymentSpec is not supp"):
        protobuf.decode(body("apps/v1", "Deployment", field(2, field(99, 1))))
    with pytest.raises(ProtobufError, match=r"field 11 \(podFailurePolicy\) of k8s.io.api.batch.v1.JobSpec"):
        protobuf.decode(body("batch/v1", "Job", field(2, field(11, field(1, b"")))))


def test_an_unmodelled_field_go_always_writes_passes_only_as_its_zero():
    """PodStatus.resize is a plain string in Go, so every client writes it, empty when unset: that says nothing."""
    assert protobuf.decode(body("v1", "Pod", field(3, field(14, ""))))["status"] == {}
    with pytest.raises(ProtobufError, match=r"^status: field 14 \(resize\) of k8s.io.api.core.v1.PodStatus"):
        protobuf.decode(body("v1", "Pod", field(3, field(14, "InProgress"))))


@pytest.mark.parametrize("raw, error", [
    (b"not protobuf", "missing the k8s protobuf envelope"),
    (protobuf.MAGIC + b"\x12\x05ab", "field 2 runs past the end of its message"),
    (body("v1", "Pod", field(1, 5)), "metadata: a varint where the field is length-delimited"),
    (body("v1", "Pod", field(1, field(1, b"\xff"))), "metadata.name: a string that is not UTF-8"),
    (body("apps/v1", "ControllerRevision", field(2, field(1, b"{nope"))), "data: raw bytes that are not JSON"),
])
def test_malformed_bodies_are_refused(raw, error):
    with pytest.raises(ProtobufError, match=error) as refused:
        protobuf.decode(raw)
    assert not isinstance(refused.value, UnsupportedKind)


def test_a_kind_that_is_not_served_is_unsupported():
    with pytest.raises(UnsupportedKind, match="not Ingress in networking.k8s.io/v1; send application/json"):
        protobuf.decode(body("networking.k8s.io/v1", "Ingress", b""))
    with pytest.raises(UnsupportedKind, match="not Deployment in apps/v1beta1"):
        protobuf.decode(body("apps/v1beta1", "Deployment", b""))


@contextlib.asynccontextmanager
async def running(tmp_path):
    port = free_port()
    server = APIServer(ServerConfig(str(tmp_path), port=port, insecure_http=True))
    await server.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            yield http
    finally:
        await server.stop()


def test_the_server_answers_400_for_an_unsupported_field_and_415_for_an_unserved_kind(tmp_path):
    headers = {"Content-Type": protobuf.MEDIA_TYPE, "Accept": f"{protobuf.MEDIA_TYPE},application/json"}
    nfs_pod = body("v1", "Pod", msg(field(1, field(1, "p")), field(2, msg(
        field(1, msg(field(1, "share"), field(2, field(7, field(1, "nfs.local"))))),
        field(2, msg(field(1, "c"), field(2, "busybox")))))))
    config = body("v1", "ConfigMap", msg(field(1, field(1, "c")), field(3, entry("blob", b"\x00\x01"))))

    async def run():
        async with running(tmp_path) as http:
            out = []
            for path, raw in (("/api/v1/namespaces/default/pods", nfs_pod),
                              ("/api/v1/namespaces/default/configmaps", body("networking.k8s.io/v1", "Ingress",
                                                                              b"")),
                              ("/api/v1/namespaces/default/configmaps", config)):
                async with http.post(path, data=raw, headers=headers) as resp:
                    out.append((resp.status, json.loads(await resp.read())))
            async with http.get("/api/v1/namespaces/default/pods/p") as resp:
                out.append((resp.status, None))
            return out

    (pod_status, refused), (kind_status, unsupported), (cm_status, created), (get_status, _) = asyncio.run(run())
    assert pod_status == 400 and refused["reason"] == "BadRequest", refused
    assert kind_status == 415 and "not Ingress" in unsupported["message"], unsupported
    assert "field 7 (nfs) of k8s.io.api.core.v1.VolumeSource" in refused["message"]
    assert get_status == 404  # nothing was stored
    assert cm_status == 201 and created["binaryData"] == {"blob": "AAE="}
