"""Where objects live in the store and how they are encoded there.

Keys are ``/registry/<group or core>/<plural>/[<namespace>/]<name>``, so a namespace's objects and a resource's
objects are each one key prefix. Values are the object's JSON with ``metadata.resourceVersion`` already set to the
revision of the write (the store hands the revision to the encoder), so reads return stored bytes unparsed.
"""

from __future__ import annotations

import datetime
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portside import api
from portside.api import jsonwire
from portside.store import KeyValue

_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' generateName alphabet: no vowels, no lookalikes


@dataclass(frozen=True, slots=True)
class Target:
    """What a request path names: a resource, maybe a namespace, maybe one object, maybe a subresource."""

    info: api.ResourceInfo
    namespace: str = ""
    name: str = ""
    subresource: str = ""


def resource_prefix(info: api.ResourceInfo) -> str:
    return f"/registry/{info.group or 'core'}/{info.plural}/"


def list_prefix(info: api.ResourceInfo, namespace: str) -> str:
    base = resource_prefix(info)
    return f"{base}{namespace}/" if info.namespaced and namespace else base


def key(info: api.ResourceInfo, namespace: str, name: str) -> str:
    return f"{resource_prefix(info)}{namespace}/{name}" if info.namespaced else f"{resource_prefix(info)}{name}"


def key_of(info: api.ResourceInfo, obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return key(info, meta.get("namespace", ""), meta.get("name", ""))


def encoder(obj: dict[str, Any]) -> Callable[[int], bytes]:
    """Bytes of ``obj`` at the revision the store assigns; the revision becomes its resourceVersion."""
    def encode(revision: int) -> bytes:
        obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
        return jsonwire.dumps(obj)
    return encode


def decode(kv: KeyValue) -> dict[str, Any]:
    return jsonwire.loads(kv.value)


def view(info: api.ResourceInfo, raw: bytes) -> bytes:
    """A stored object's bytes as the version ``info`` serves shows them: the bytes themselves for the stored
    version (no parse on the common path), converted for another (autoscaling/v1)."""
    if info.is_stored:
        return raw
    return jsonwire.dumps(view_object(info, jsonwire.loads(raw)))


def view_object(info: api.ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
    return obj if info.is_stored else api.from_stored(info, obj)


_stamp: tuple[int, str] = (0, "")  # the last second formatted, and its text


def now() -> str:
    """RFC 3339 to the second; formatted once per second, as every write of a busy second asks for it."""
    global _stamp
    second = int(time.time())
    if second != _stamp[0]:
        moment = datetime.datetime.fromtimestamp(second, datetime.UTC)
        _stamp = (second, moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return _stamp[1]


def later(seconds: int) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


MAX_GENERATED_PREFIX = 58  # 63 (a DNS label) less the five random characters, as Kubernetes cuts it


def generate_name(prefix: str) -> str:
    return prefix[:MAX_GENERATED_PREFIX] + "".join(secrets.choice(_NAME_SUFFIX_ALPHABET) for _ in range(5))


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.setdefault("metadata", {})


def list_body(info: api.ResourceInfo, items: list[bytes], revision: int, cont: str = "",
              remaining: int | None = None) -> bytes:
    """A ``<Kind>List`` assembled around stored item bytes, without parsing them."""
    list_meta: dict[str, Any] = {"resourceVersion": str(revision)}
    if cont:
        list_meta["continue"] = cont
    if remaining:
        list_meta["remainingItemCount"] = remaining
    head = json.dumps({"kind": info.list_kind, "apiVersion": info.api_version, "metadata": list_meta})
    return head[:-1].encode() + b',"items":[' + b",".join(items) + b"]}"
