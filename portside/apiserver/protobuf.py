"""Request bodies in Kubernetes' protobuf encoding, decoded to the JSON form everything else handles.

Since 1.31 client-go's typed clients send built-in objects as ``application/vnd.kubernetes.protobuf``, so
``kubectl create namespace|configmap|secret|service|deployment|job|cronjob|priorityclass|pdb|quota``, ``kubectl run`` and
``kubectl drain`` (its Evictions) POST protobuf. Responses stay JSON (the same clients accept it). The envelope is the magic ``k8s\\0`` followed by a
``runtime.Unknown`` whose ``raw`` is the object's message; field numbers below follow the published
``generated.proto`` of k8s.io/api and k8s.io/apimachinery. Only the kinds and fields those commands produce are
described; unknown fields are skipped, and zero values are dropped as Go's ``omitempty`` JSON would drop them.

The encoding half (:func:`varint`, :func:`field`) is the wire format alone, without message tables: the OpenAPI v2
document kubectl asks for as protobuf (:mod:`.openapi_proto`) is built from it.
"""

from __future__ import annotations

import base64
import datetime
import struct
from typing import Any

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# message -> {field number: (json name, type, mode)}; mode: "" | "repeated" | "map" | "inline"
S, I, B, BYTES, Q, T, IOS = "string", "int", "bool", "bytes", "quantity", "time", "intstr"
SCHEMA: dict[str, dict[int, tuple[str, str, str]]] = {
    "Unknown": {1: ("typeMeta", "TypeMeta", ""), 2: ("raw", BYTES, ""), 3: ("contentEncoding", S, ""),
                4: ("contentType", S, "")},
    "TypeMeta": {1: ("apiVersion", S, ""), 2: ("kind", S, "")},
    "ObjectMeta": {1: ("name", S, ""), 2: ("generateName", S, ""), 3: ("namespace", S, ""), 5: ("uid", S, ""),
                   6: ("resourceVersion", S, ""), 7: ("generation", I, ""), 11: ("labels", S, "map"),
                   12: ("annotations", S, "map"), 13: ("ownerReferences", "OwnerReference", "repeated"),
                   14: ("finalizers", S, "repeated")},
    "OwnerReference": {1: ("kind", S, ""), 3: ("name", S, ""), 4: ("uid", S, ""), 5: ("apiVersion", S, ""),
                       6: ("controller", B, ""), 7: ("blockOwnerDeletion", B, "")},
    "LabelSelector": {1: ("matchLabels", S, "map"), 2: ("matchExpressions", "Requirement", "repeated")},
    "Requirement": {1: ("key", S, ""), 2: ("operator", S, ""), 3: ("values", S, "repeated")},
    "Namespace": {1: ("metadata", "ObjectMeta", ""), 2: ("spec", "NamespaceSpec", "")},
    "NamespaceSpec": {1: ("finalizers", S, "repeated")},
    "ConfigMap": {1: ("metadata", "ObjectMeta", ""), 2: ("data", S, "map"), 3: ("binaryData", BYTES, "map"),
                  4: ("immutable", B, "")},
    "Secret": {1: ("metadata", "ObjectMeta", ""), 2: ("data", BYTES, "map"), 3: ("type", S, ""),
               4: ("stringData", S, "map"), 5: ("immutable", B, "")},
    "Service": {1: ("metadata", "ObjectMeta", ""), 2: ("spec", "ServiceSpec", "")},
    "ServiceSpec": {1: ("ports", "ServicePort", "repeated"), 2: ("selector", S, "map"), 3: ("clusterIP", S, ""),
                    4: ("type", S, ""), 5: ("externalIPs", S, "repeated"), 7: ("sessionAffinity", S, ""),
                    10: ("externalName", S, ""), 11: ("externalTrafficPolicy", S, ""),
                    18: ("clusterIPs", S, "repeated")},
    "ServicePort": {1: ("name", S, ""), 2: ("protocol", S, ""), 3: ("port", I, ""), 4: ("targetPort", IOS, ""),
                    5: ("nodePort", I, "")},
    "Pod": {1: ("metadata", "ObjectMeta", ""), 2: ("spec", "PodSpec", "")},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta", ""), 2: ("spec", "PodSpec", "")},
    "PodSpec": {2: ("containers", "Container", "repeated"), 3: ("restartPolicy", S, ""),
                4: ("terminationGracePeriodSeconds", I, ""), 5: ("activeDeadlineSeconds", I, ""),
                6: ("dnsPolicy", S, ""), 7: ("nodeSelector", S, "map"), 8: ("serviceAccountName", S, ""),
                10: ("nodeName", S, ""), 11: ("hostNetwork", B, ""), 19: ("schedulerName", S, ""),
                20: ("initContainers", "Container", "repeated"), 22: ("tolerations", "Toleration", "repeated"),
                24: ("priorityClassName", S, ""), 25: ("priority", I, "")},
    "Container": {1: ("name", S, ""), 2: ("image", S, ""), 3: ("command", S, "repeated"),
                  4: ("args", S, "repeated"), 5: ("workingDir", S, ""), 6: ("ports", "ContainerPort", "repeated"),
                  7: ("env", "EnvVar", "repeated"), 8: ("resources", "ResourceRequirements", ""),
                  13: ("terminationMessagePath", S, ""), 14: ("imagePullPolicy", S, ""), 16: ("stdin", B, ""),
                  17: ("stdinOnce", B, ""), 18: ("tty", B, ""), 20: ("terminationMessagePolicy", S, "")},
    "ContainerPort": {1: ("name", S, ""), 2: ("hostPort", I, ""), 3: ("containerPort", I, ""),
                      4: ("protocol", S, ""), 5: ("hostIP", S, "")},
    "EnvVar": {1: ("name", S, ""), 2: ("value", S, ""), 3: ("valueFrom", "EnvVarSource", "")},
    "EnvVarSource": {1: ("fieldRef", "FieldRef", ""), 3: ("configMapKeyRef", "KeyRef", ""),
                     4: ("secretKeyRef", "KeyRef", "")},
    "FieldRef": {1: ("apiVersion", S, ""), 2: ("fieldPath", S, "")},
    "KeyRef": {1: ("", "LocalRef", "inline"), 2: ("key", S, ""), 3: ("optional", B, "")},
    "LocalRef": {1: ("name", S, "")},
    "ResourceRequirements": {1: ("limits", Q, "map"), 2: ("requests", Q, "map")},
    "Toleration": {1: ("key", S, ""), 2: ("operator", S, ""), 3: ("value", S, ""), 4: ("effect", S, ""),
                   5: ("tolerationSeconds", I, "")},
    "Deployment": {1: ("metadata", "ObjectMeta", ""), 2: ("spec", "DeploymentSpec", "")},
    "DeploymentSpec": {1: ("replicas", I, ""), 2: ("selector", "LabelSelector", ""),
                       3: ("template", "PodTemplateSpec", ""), 4: ("strategy", "Strategy", ""),
                       5: ("minReadySeconds", I, ""), 6: ("revisionHistoryLimit", I, ""), 7: ("paused", B, ""),
                       9: ("progressDeadlineSeconds", I, "")},
    "Strategy": {1: ("type", S, ""), 2: ("rollingUpdate", "RollingUpdate", "")},
    "RollingUpdate": {1: ("maxUnavailable", IOS, ""), 2: ("maxSurge", IOS, "")},
    "Job": {1: ("metadata", "ObjectMeta", ""), 2: ("spec", "JobSpec", "")},
    "JobSpec": {1: ("parallelism", I, ""), 2: ("completions", I, ""), 3: ("activeDeadlineSeconds", I, ""),
                4: ("selector", "LabelSelector", ""), 5: ("manualSelector", B, ""),
                6: ("template", "PodTemplateSpec", ""), 7: ("backoffLimit", I, ""),
                8: ("ttlSecondsAfterFinished", I, ""), 9: ("completionMode", S, ""), 10: ("suspend", B, "")},
    "CronJob": {1: ("metadata", "ObjectMeta", ""), 2: ("spec", "CronJobSpec", "")},
    "CronJobSpec": {1: ("schedule", S, ""), 2: ("startingDeadlineSeconds", I, ""), 3: ("concurrencyPolicy", S, ""),
                    4: ("suspend", B, ""), 5: ("jobTemplate", "JobTemplateSpec", ""),
                    6: ("successfulJobsHistoryLimit", I, ""), 7: ("failedJobsHistoryLimit", I, ""),
                    8: ("timeZone", S, "")},
    "JobTemplateSpec": {1: ("metadata", "ObjectMeta", ""), 2: ("spec", "JobSpec", "")},
    "PriorityClass": {1: ("metadata", "ObjectMeta", ""), 2: ("value", I, ""), 3: ("globalDefault", B, ""),
                      4: ("description", S, ""), 5: ("preemptionPolicy", S, "")},
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta", ""), 2: ("spec", "AccessReviewSpec", "")},
    "AccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes", "")},
    "ResourceAttributes": {1: ("namespace", S, ""), 2: ("verb", S, ""), 3: ("group", S, ""), 4: ("version", S, ""),
                           5: ("resource", S, ""), 6: ("subresource", S, ""), 7: ("name", S, "")},
    "PodDisruptionBudget": {1: ("metadata", "ObjectMeta", ""), 2: ("spec", "PodDisruptionBudgetSpec", "")},
    "PodDisruptionBudgetSpec": {1: ("minAvailable", IOS, ""), 2: ("selector", "LabelSelector", ""),
                                3: ("maxUnavailable", IOS, ""), 4: ("unhealthyPodEvictionPolicy", S, "")},
    "Eviction": {1: ("metadata", "ObjectMeta", ""), 2: ("deleteOptions", "DeleteOptions", "")},
    "DeleteOptions": {1: ("gracePeriodSeconds", I, ""), 2: ("preconditions", "Preconditions", ""),
                      3: ("orphanDependents", B, ""), 4: ("propagationPolicy", S, ""), 5: ("dryRun", S, "repeated")},
    "Preconditions": {1: ("uid", S, ""), 2: ("resourceVersion", S, "")},
    "ResourceQuota": {1: ("metadata", "ObjectMeta", ""), 2: ("spec", "ResourceQuotaSpec", "")},
    "ResourceQuotaSpec": {1: ("hard", Q, "map"), 2: ("scopes", S, "repeated"), 3: ("scopeSelector", "ScopeSelector", "")},
    "ScopeSelector": {1: ("matchExpressions", "ScopedResourceSelectorRequirement", "repeated")},
    "ScopedResourceSelectorRequirement": {1: ("scopeName", S, ""), 2: ("operator", S, ""), 3: ("values", S, "repeated")},
    "Quantity": {1: ("string", S, "")},
    "Time": {1: ("seconds", I, ""), 2: ("nanos", I, "")},
    "IntOrString": {1: ("type", I, ""), 2: ("intVal", I, ""), 3: ("strVal", S, "")},
    "MapEntry": {1: ("key", S, ""), 2: ("value", BYTES, "")},
}
KINDS = ("Namespace", "ConfigMap", "Secret", "Service", "Pod", "Deployment", "Job", "CronJob", "PriorityClass",
         "SelfSubjectAccessReview", "PodDisruptionBudget", "Eviction", "ResourceQuota")
# Optional fields (pointers in Go) whose zero is a value: an eviction with grace 0, a budget of 0 pods.
KEEP_ZERO = frozenset({"intVal", "gracePeriodSeconds", "minAvailable", "maxUnavailable"})


class ProtobufError(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes):
    """(field number, wire type, value) triples; value is an int (varint, fixed) or bytes (length-delimited)."""
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        else:
            raise ProtobufError(f"unsupported wire type {wire} for field {number}")
        yield number, wire, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(kind: str, value: Any) -> Any:
    if kind == S:
        return value.decode()
    if kind == I:
        return _signed(value)
    if kind == B:
        return bool(value)
    if kind == BYTES:
        return base64.b64encode(value).decode()
    if kind == Q:
        return message("Quantity", value).get("string", "0")
    if kind == T:
        seconds = message("Time", value).get("seconds", 0)
        return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == IOS:
        ios = message("IntOrString", value)
        return ios.get("strVal", "") if ios.get("type") == 1 else ios.get("intVal", 0)
    return message(kind, value)


def _map_entry(kind: str, value: bytes) -> tuple[str, Any]:
    entry = dict((n, v) for n, _, v in fields(value))
    return entry.get(1, b"").decode(), _scalar(kind, entry.get(2, b"" if kind != I else 0))


def message(name: str, data: bytes) -> dict[str, Any]:
    """Decode one message; zero values and empty collections are left out, as Go's omitempty JSON does."""
    schema, out = SCHEMA[name], {}
    for number, _, value in fields(data):
        if number not in schema:
            continue
        key, kind, mode = schema[number]
        if mode == "inline":
            out.update(message(kind, value))
        elif mode == "map":
            k, v = _map_entry(kind, value)
            out.setdefault(key, {})[k] = v
        elif mode == "repeated":
            out.setdefault(key, []).append(_scalar(kind, value))
        else:
            out[key] = _scalar(kind, value)
    return {k: v for k, v in out.items() if v not in ("", 0, False, {}, []) or (k in KEEP_ZERO and v == 0)}


def decode(body: bytes) -> dict[str, Any]:
    """The JSON-form object inside a protobuf request body; ProtobufError says what is unsupported."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf envelope")
    unknown = message("Unknown", body[len(MAGIC):])
    type_meta = unknown.get("typeMeta") or {}
    kind = type_meta.get("kind", "")
    if kind not in KINDS:
        raise ProtobufError(f"protobuf bodies are accepted for {', '.join(KINDS)}, not {kind or 'an unnamed kind'}; "
                            f"send application/json")
    obj = message(kind, base64.b64decode(unknown.get("raw", "")))
    return {"apiVersion": type_meta.get("apiVersion", ""), "kind": kind, **obj}


def varint(value: int) -> bytes:
    """Base-128, low group first; a negative int is sent as its 64-bit two's complement (ten bytes), as Go does."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(number: int, value: bytes | str | float) -> bytes:
    """One field on the wire: bytes and str length-delimited (type 2), float as fixed64 (type 1), bool and int as
    varint (type 0). An embedded message is its encoded body passed as bytes."""
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return varint(number << 3 | 2) + varint(len(value)) + value
    if isinstance(value, float):
        return varint(number << 3 | 1) + struct.pack("<d", value)
    return varint(number << 3) + varint(int(value))
