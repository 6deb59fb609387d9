"""Request bodies in Kubernetes' protobuf encoding, decoded whole to the JSON form everything else handles.

What arrives as protobuf: client-go's typed clients send ``application/vnd.kubernetes.protobuf`` and ask for
``application/vnd.kubernetes.protobuf,application/json``. In kubectl 1.32 those are ``kubectl create`` of a
namespace, configmap, secret, service, deployment, job (also ``--from=cronjob/NAME``, which copies the whole job
template), cronjob, priorityclass and poddisruptionbudget; ``kubectl debug --copy-to`` and ``debug node/`` (a whole
Pod); ``kubectl autoscale`` (an autoscaling/v1 HorizontalPodAutoscaler), ``kubectl drain`` (Evictions) and ``kubectl
auth can-i`` (SelfSubjectAccessReview). ``kubectl run``, ``create -f``, ``apply``, ``replace``, ``expose`` and every
patch send JSON. Responses are JSON: the same clients accept it, so nothing is encoded in protobuf here but the
OpenAPI v2 document (:mod:`.openapi_proto`).

The envelope is the magic ``k8s\\0`` and a ``runtime.Unknown`` (typeMeta 1, raw 2) whose ``raw`` is the
object's message. Every kind the server serves is accepted, and decoded completely: the decoder walks the kind's
typed model (field names and types) with the field numbers of :mod:`.protobuf_fields` in hand. A field the model
does not have is refused with a 400 naming the field number, its message and where it was, so a body is never
stored with part of it silently dropped; the same object in JSON would be refused by ``fieldValidation=Strict``,
which kubectl sends. Zero values follow what encoding/json makes of the same Go object (see
:mod:`.protobuf_fields`), so a client gets the same result whichever of the two encodings it sends.
A kind without numbers here is refused with 415 Unsupported Media Type; client-go does not retry that as JSON
(kubectl simply fails), which is why every served kind is described rather than some refused.

The encoding half (:func:`varint`, :func:`field`) is the wire format alone, without message tables: the OpenAPI v2
document kubectl asks for as protobuf is built from it.
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from portside import api
from portside.api import models
from portside.api.schema import Node, schema_of
from portside.apiserver.protobuf_fields import AUTHORIZATION, AUTOSCALING, CORE, MESSAGES, META, POLICY

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5



def _package(group: str, version: str) -> str:
    """The protobuf package of an API group's version: ``k8s.io.api.apps.v1``, ``k8s.io.api.storage.v1``."""
    return f"k8s.io.api.{group.split('.')[0] if group else 'core'}.{version}"


# (apiVersion, kind) -> (model, protobuf package): every served kind, and the kinds that arrive as request bodies
# only (subresources, a question, an Eviction also from older clients). DeleteOptions comes in any group's version.
KINDS: dict[tuple[str, str], tuple[type, str]] = {
    **{(info.api_version, info.kind): (info.model, _package(info.group, info.version)) for info in api.RESOURCES},
    ("autoscaling/v1", "Scale"): (models.Scale, AUTOSCALING), ("v1", "Binding"): (models.Binding, CORE),
    ("policy/v1", "Eviction"): (models.Eviction, POLICY), ("policy/v1beta1", "Eviction"): (models.Eviction, POLICY),
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): (models.SelfSubjectAccessReview, AUTHORIZATION),
}


class ProtobufError(ValueError):
    """The body is not a well-formed message of its kind, or carries a field this server does not support."""


class UnsupportedKind(ProtobufError):
    """The envelope names a kind that is not accepted in protobuf (the client should send JSON)."""


# The wire format.

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


def fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) triples; value is an int (varint, fixed) or bytes (length-delimited)."""
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == VARINT:
            value, pos = _varint(data, pos)
        elif wire == BYTES:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        else:
            raise ProtobufError(f"unsupported wire type {wire} for field {number}")
        if pos > len(data):
            raise ProtobufError(f"field {number} runs past the end of its message")
        yield number, wire, value


def _signed(value: int) -> int:
    """Go writes a negative int32 or int64 as its 64-bit two's complement."""
    return value - (1 << 64) if value >= 1 << 63 else value


# Message descriptions: a model's fields by number, compiled once per message from its line of field numbers.

@dataclass(frozen=True)
class Slot:
    """A model field on the wire: its JSON name and schema node, whether a zero is kept, and how to read it."""

    name: str
    node: Node
    keep_zero: bool
    as_type: str  # "" (from the node), "bytes", "json", "micro", or the message of an object field
    package: str  # where the message of an object field is looked for first


@dataclass(frozen=True)
class Unmodelled:
    """A Kubernetes field portside has no model field for; accepted only as the zero Go writes when unset."""

    name: str
    zero_allowed: bool


@dataclass
class Message:
    """``slots`` by field number: a Slot, an Unmodelled field, or a Message Go embeds and JSON flattens."""

    name: str
    slots: dict[int, Slot | Unmodelled | Message] = dataclass_field(default_factory=dict)


@functools.cache
def describe(package: str, name: str, node: Node) -> Message:
    """Message ``name`` of ``package`` (or of the one package that has it) by field number, its fields those of
    ``node``'s model; compiled once, then cached."""
    package = _owner(package, name)
    msg = Message(f"{package}.{name}")
    for token in MESSAGES[package][name].split():
        _place(msg, package, node, token)
    return msg


def _owner(package: str, name: str) -> str:
    if name in MESSAGES.get(package, {}):
        return package
    owners = [p for p, messages in MESSAGES.items() if name in messages]
    if len(owners) != 1:
        raise ProtobufError(f"no field numbers are known for message {name} of {package}")
    return owners[0]


def _place(msg: Message, package: str, node: Node, token: str) -> None:
    """Put one token of a message line into ``msg``: ``@N=Embedded``, ``-name=N``, ``name=-`` or ``name=N``."""
    key, _, spec = token.partition("=")
    if key.startswith("@"):
        _embedded(msg, package, key[1:]).name = f"{package}.{spec}"
        return
    if spec == "-":
        return
    number, _, as_type = spec.partition(":")
    path = [int(n) for n in number.rstrip("!?").split(".")]
    parent = _embedded(msg, package, ".".join(map(str, path[:-1]))) if len(path) > 1 else msg
    if key.startswith("-"):
        parent.slots[path[-1]] = Unmodelled(key[1:], not number.endswith("?"))
    else:
        parent.slots[path[-1]] = Slot(key, node.props[key].node, number.endswith("!"), as_type, package)


def _embedded(msg: Message, package: str, path: str) -> Message:
    """The embedded message at a dotted path of field numbers, made on first use."""
    for number in (int(n) for n in path.split(".") if n):
        inner = msg.slots.setdefault(number, Message(f"{package}.?"))
        assert isinstance(inner, Message), f"{msg.name}: field {number} is both a field and an embedded struct"
        msg = inner
    return msg


# Decoding.

def decode(body: bytes) -> dict[str, Any]:
    """The JSON-form object inside a protobuf request body; ProtobufError says what is unsupported or wrong."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf envelope (the magic bytes k8s\\0)")
    envelope = {number: value for number, wire, value in fields(body[len(MAGIC):]) if wire == BYTES}
    if envelope.get(3):
        raise ProtobufError(f"the envelope's contentEncoding {envelope[3]!r} is not supported")
    type_meta = {number: value.decode(errors="replace") for number, wire, value in fields(envelope.get(1, b""))
                 if wire == BYTES}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    model, package = _kind(api_version, kind)
    obj = _decode_message(describe(package, kind, schema_of(model)), envelope.get(2, b""), "")
    return {"apiVersion": api_version, "kind": kind, **obj}


def _kind(api_version: str, kind: str) -> tuple[type, str]:
    """The model and protobuf package of a body's kind; UnsupportedKind (415) for any other."""
    if kind == "DeleteOptions":
        return models.DeleteOptions, META
    if (api_version, kind) not in KINDS:
        accepted = ", ".join(sorted({k for _, k in KINDS} | {"DeleteOptions"}))
        raise UnsupportedKind(f"protobuf bodies are accepted for {accepted} in the versions served, not "
                              f"{kind or 'an unnamed kind'} in {api_version or 'no version'}; send application/json")
    return KINDS[(api_version, kind)]


def _decode_message(msg: Message, data: bytes, path: str) -> dict[str, Any]:
    """One message as a JSON object; zero values dropped where Go's JSON would drop them."""
    out: dict[str, Any] = {}
    _fill(out, msg, data, path)
    return {k: v for k, v in out.items() if v is not None}


def _fill(out: dict[str, Any], msg: Message, data: bytes, path: str) -> None:
    for number, wire, value in fields(data):
        slot = msg.slots.get(number)
        if isinstance(slot, Slot):
            _set(out, slot, wire, value, path)
        elif isinstance(slot, Message):
            _fill(out, slot, _expect(wire, BYTES, value, f"{path}: field {number} of {msg.name}"), path)
        elif isinstance(slot, Unmodelled) and slot.zero_allowed and value in (0, b""):
            continue
        else:
            what = f" ({slot.name})" if slot else ""
            where = f"{path}: " if path else ""
            raise ProtobufError(f"{where}field {number}{what} of {msg.name} is not supported by this server")


def _set(out: dict[str, Any], slot: Slot, wire: int, value: Any, path: str) -> None:
    child = f"{path}.{slot.name}" if path else slot.name
    node = slot.node
    if node.kind == "list":
        items = out.setdefault(slot.name, [])
        assert node.item is not None
        if wire == BYTES and node.item.kind in ("integer", "boolean"):  # a packed repeated scalar
            items.extend(_value(node.item, slot, VARINT, v, f"{child}[{len(items)}]")
                         for v in _packed(value))
        else:
            items.append(_value(node.item, slot, wire, value, f"{child}[{len(items)}]"))
    elif node.kind == "map":
        assert node.item is not None
        key, item = _map_entry(node.item, slot, value, child)
        out.setdefault(slot.name, {})[key] = item
    else:
        decoded = _value(node, slot, wire, value, child)
        omitted = node.kind in _SCALAR_WIRE and not slot.keep_zero and decoded in ("", 0, False)
        earlier = out.get(slot.name)
        out[slot.name] = _merged(earlier, decoded) if isinstance(earlier, dict) else None if omitted else decoded


def _merged(earlier: dict[str, Any], later: Any) -> Any:
    """A message field that comes twice is one message, the later one merged in (protobuf's rule: its scalars
    win, its lists add, its messages and maps merge)."""
    if not isinstance(later, dict):
        return later
    out = dict(earlier)
    for key, value in later.items():
        before = out.get(key)
        if isinstance(before, dict) and isinstance(value, dict):
            out[key] = _merged(before, value)
        elif isinstance(before, list) and isinstance(value, list):
            out[key] = before + value
        else:
            out[key] = value
    return out


def _packed(data: bytes) -> Iterator[int]:
    pos = 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        yield value


def _map_entry(item: Node, slot: Slot, data: bytes, path: str) -> tuple[str, Any]:
    """A map field is a repeated entry message: key at field 1, value at field 2 (Go writes both)."""
    entry = {number: (wire, value) for number, wire, value in fields(data)}
    key_wire, key = entry.get(1, (BYTES, b""))
    name = _text(_expect(key_wire, BYTES, key, path), path)
    wire = _SCALAR_WIRE.get(item.kind, BYTES)
    wire, value = entry.get(2, (wire, b"" if wire == BYTES else 0))
    return name, _value(item, slot, wire, value, f"{path}[{name}]")


# The wire type each model scalar kind arrives in; every other kind is a length-delimited message.
_SCALAR_WIRE = {"string": BYTES, "integer": VARINT, "boolean": VARINT, "number": FIXED64}


def _value(node: Node, slot: Slot, wire: int, value: Any, path: str) -> Any:
    """One value of ``slot``'s field (``node``: the field's, or its items'): a scalar, or a message's JSON form."""
    kind = node.kind
    expected = _SCALAR_WIRE.get(kind, BYTES)
    value = _expect(wire, expected, value, path)
    if kind == "string":
        return base64.b64encode(value).decode() if slot.as_type == "bytes" else _text(value, path)
    if kind == "integer":
        return _signed(value)
    if kind == "boolean":
        return bool(value)
    if kind == "number":
        return struct.unpack("<d", value.to_bytes(8, "little"))[0]
    if kind == "object":
        assert node.cls is not None
        return _decode_message(describe(slot.package, slot.as_type or node.cls.__name__, node), value, path)
    return _WELL_KNOWN[kind](value, slot, path)


_WIRE_NAMES = {VARINT: "a varint", FIXED64: "a 64-bit number", BYTES: "length-delimited", FIXED32: "a 32-bit number"}


def _expect(wire: int, expected: int, value: Any, where: str) -> Any:
    """``value`` if it came in the wire type its field has; a message and a string never arrive as a varint."""
    if wire != expected:
        raise ProtobufError(f"{where or 'the object'}: {_WIRE_NAMES.get(wire, wire)} where the field is "
                            f"{_WIRE_NAMES[expected]}")
    return value


def _text(value: bytes, path: str) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise ProtobufError(f"{path}: a string that is not UTF-8") from None


def _parts(value: bytes) -> dict[int, Any]:
    return {number: v for number, _, v in fields(value)}


def _quantity(value: bytes, slot: Slot, path: str) -> str:
    """resource.Quantity: its canonical string at field 1 (what the JSON form is)."""
    return _text(_parts(value).get(1, b"0"), path)


def _time(value: bytes, slot: Slot, path: str) -> str | None:
    """metav1.Time / MicroTime: seconds and nanos; a zero time is JSON's null, which the object leaves out."""
    parts = _parts(value)
    seconds, nanos = _signed(parts.get(1, 0)), parts.get(2, 0)
    if not seconds and not nanos:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC) + datetime.timedelta(microseconds=nanos // 1000)
    if slot.as_type == "micro":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string(value: bytes, slot: Slot, path: str) -> int | str:
    """intstr.IntOrString: type 1 is a string (strVal, field 3), else intVal (field 2)."""
    parts = _parts(value)
    return _text(parts.get(3, b""), path) if parts.get(1) == 1 else _signed(parts.get(2, 0))


def _raw(value: bytes, slot: Slot, path: str) -> Any:
    """A RawExtension or FieldsV1 (JSON bytes at field 1), or a message with a model of its own (DeleteOptions)."""
    if slot.as_type != "json":
        model = schema_of(getattr(models, slot.as_type))
        return _decode_message(describe(slot.package, slot.as_type, model), value, path)
    raw = _parts(value).get(1, b"")
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise ProtobufError(f"{path}: raw bytes that are not JSON") from None


_WELL_KNOWN = {"quantity": _quantity, "date-time": _time, "int-or-string": _int_or_string, "any": _raw}


# Encoding.

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
