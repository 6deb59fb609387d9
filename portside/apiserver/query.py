"""What a list or watch request asks for: selectors, paging, output form; and the filtering that follows.

Objects stay stored bytes unless a selector or a Table needs them parsed: an unfiltered list of 10,000 pods is
one range read and a byte join.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portside import api
from portside.apiserver import errors
from portside.store import KeyValue

TABLE_MEDIA = "application/json;as=Table;v=v1;g=meta.k8s.io"


@dataclass
class ListQuery:
    labels: api.Selector | None = None
    fields: api.FieldSelector | None = None
    limit: int = 0
    continue_key: str = ""
    continue_rev: int = 0
    as_table: bool = False
    include_object: str = "Metadata"

    @property
    def filtered(self) -> bool:
        return bool((self.labels and not self.labels.empty()) or (self.fields and not self.fields.empty()))

    def matches(self, obj: dict[str, Any]) -> bool:
        if self.labels and not self.labels.matches((obj.get("metadata") or {}).get("labels") or {}):
            return False
        return not self.fields or self.fields.matches(obj)


def wants_table(accept: str) -> bool:
    """True when the first acceptable media type asks for a meta.k8s.io Table (kubectl get does)."""
    first = accept.split(",")[0].replace(" ", "")
    return "as=Table" in first and "g=meta.k8s.io" in first


def parse(info: api.ResourceInfo, query: Mapping[str, str], accept: str) -> ListQuery:
    q = ListQuery(as_table=wants_table(accept), include_object=query.get("includeObject", "Metadata"))
    try:
        q.labels = api.label_selector(query.get("labelSelector"))
        q.fields = api.field_selector(query.get("fieldSelector"), info)
    except api.SelectorError as exc:
        raise errors.bad_request(f"unable to parse requirement: {exc}") from None
    limit = query.get("limit", "0") or "0"
    if not limit.isdigit():
        raise errors.bad_request(f'limit: Invalid value: "{limit}": must be a non-negative integer')
    q.limit = int(limit)
    if query.get("continue"):
        q.continue_rev, q.continue_key = decode_continue(query["continue"])
    elif query.get("resourceVersionMatch") == "Exact":
        q.continue_rev = _exact_revision(query.get("resourceVersion", ""))
    return q


def _exact_revision(rv: str) -> int:
    """``resourceVersionMatch=Exact``: the list as it was at that revision (other matches read the newest)."""
    if not rv.isdigit() or rv == "0":
        raise errors.bad_request(f'resourceVersionMatch: Forbidden: resourceVersionMatch "Exact" needs a non-zero '
                                 f'resourceVersion (got "{rv}")')
    return int(rv)


def encode_continue(revision: int, next_key: str) -> str:
    raw = json.dumps({"v": "portside/v1", "rv": revision, "start": next_key}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), str(data["start"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise errors.bad_request(f'continue: Invalid value: "{token}": continue key is not valid') from None


def select(q: ListQuery, items: list[KeyValue]) -> tuple[list[bytes], list[dict[str, Any]] | None]:
    """The stored bytes that pass the selectors, and the parsed objects when they had to be parsed."""
    if not q.filtered and not q.as_table:
        return [kv.value for kv in items], None
    objs = [json.loads(kv.value) for kv in items]
    kept = [(kv.value, o) for kv, o in zip(items, objs) if q.matches(o)]
    return [b for b, _ in kept], [o for _, o in kept]


def table_bytes(info: api.ResourceInfo, objs: list[dict[str, Any]], q: ListQuery, revision: str = "",
                cont: str = "") -> bytes:
    body = api.table(info, objs, q.include_object, resource_version=revision)
    if cont:
        body["metadata"]["continue"] = cont
    return json.dumps(body, separators=(",", ":")).encode()
