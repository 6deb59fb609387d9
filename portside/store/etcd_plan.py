"""The etcd backend's pure core: plans of writes checked against a snapshot, the guard key's contents, the
transactions that carry them, and etcd's watch events turned into the store's. No I/O here (``etcd.py`` sends);
the theory of operation is in ``etcd.py``'s docstring.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from portside.store.etcd_gateway import b64, key_value, unb64
from portside.store.types import (
    Conflict,
    Create,
    Delete,
    Event,
    EventType,
    KeyExists,
    KeyNotFound,
    KeyValue,
    Write,
)

GUARD = "\x00portside/revision"  # sorts before every key the API uses; hidden from lists, counts and watches


@dataclass(frozen=True, slots=True)
class Step:
    """One revision of a plan: a put of ``value``, or a delete whose tombstone is ``value`` (None: none given)."""

    delete: bool
    key: str
    value: bytes | None

    def to_json(self) -> list:
        return [self.delete, self.key, b64(self.value) if self.value is not None else None]

    @classmethod
    def from_json(cls, raw: list) -> Step:
        return cls(raw[0], raw[1], unb64(raw[2]) if raw[2] is not None else None)


@dataclass(slots=True)
class Plan:
    """Writes checked against one snapshot: step i lands at revision ``base + 1 + i``; the first step compares
    the guard's mod revision to ``guard``."""

    id: str
    guard: int
    base: int
    steps: list[Step]
    results: list[KeyValue] = field(default_factory=list)

    def guard_value(self, i: int) -> str:
        """What step ``i`` leaves in the guard: the plan while steps remain, the tombstone of a delete."""
        step, doc = self.steps[i], {"id": self.id}
        if i + 1 < len(self.steps):
            doc["plan"] = {"base": self.base, "steps": [s.to_json() for s in self.steps]}
        if step.delete and step.value is not None:
            doc["tomb"] = b64(step.value)
        return b64(json.dumps(doc, separators=(",", ":")))

    @classmethod
    def from_guard(cls, doc: dict[str, Any]) -> Plan:
        plan = doc["plan"]
        return cls(doc["id"], plan["base"], plan["base"], [Step.from_json(s) for s in plan["steps"]])


@dataclass(frozen=True, slots=True)
class Snapshot:
    revision: int
    guard: KeyValue | None
    kvs: dict[str, KeyValue | None]

    @property
    def guard_doc(self) -> dict[str, Any]:
        return guard_doc(self.guard.value) if self.guard else {}


def guard_doc(value: bytes) -> dict[str, Any]:
    try:
        return json.loads(value) if value else {}
    except ValueError:
        return {}


def make_plan(writes: list[Write], snap: Snapshot) -> Plan:
    """Check each write against the snapshot as changed by the writes before it; compute values and results."""
    state, rev = dict(snap.kvs), snap.revision
    plan = Plan(secrets.token_hex(8), snap.guard.mod_revision if snap.guard else 0, rev, [])
    for w in writes:
        cur = state[w.key]
        if isinstance(w, Create):
            if cur is not None:
                raise KeyExists(w.key)
        elif cur is None:
            raise KeyNotFound(w.key)
        elif w.expect and cur.mod_revision != w.expect:
            raise Conflict(w.key, w.expect, cur.mod_revision)
        rev += 1
        if isinstance(w, Delete):
            tomb = w.tombstone(rev) if callable(w.tombstone) else w.tombstone
            kv = KeyValue(w.key, cur.value if tomb is None else tomb, cur.create_revision, rev)
            plan.steps.append(Step(True, w.key, tomb))
            state[w.key] = None
        else:
            data = w.value(rev) if callable(w.value) else w.value
            kv = KeyValue(w.key, data, cur.create_revision if cur else rev, rev)
            plan.steps.append(Step(False, w.key, data))
            state[w.key] = kv
        plan.results.append(kv)
    return plan


def step_txn(plan: Plan, i: int, compare_mod: int) -> dict[str, Any]:
    step = plan.steps[i]
    op = ({"request_delete_range": {"key": b64(step.key)}} if step.delete
          else {"request_put": {"key": b64(step.key), "value": b64(step.value or b"")}})
    return {"compare": [{"key": b64(GUARD), "target": "MOD", "result": "EQUAL", "mod_revision": str(compare_mod)}],
            "success": [{"request_put": {"key": b64(GUARD), "value": plan.guard_value(i)}}, op]}


def by_revision(raw: list[dict[str, Any]]) -> list[tuple[int, list[Event]]]:
    """etcd's watch events as store events, one list per revision; the guard's put of each revision supplies a
    delete's tombstone and is itself left out."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for ev in raw:
        groups.setdefault(int(ev["kv"]["mod_revision"]), []).append(ev)
    out = []
    for revision, evs in groups.items():
        guard = next((e for e in evs if unb64(e["kv"]["key"]) == GUARD.encode()), None)
        tomb = guard_doc(unb64(guard["kv"].get("value"))).get("tomb") if guard else None
        out.append((revision, [store_event(e, tomb) for e in evs if e is not guard]))
    return out


def store_event(ev: dict[str, Any], tomb: str | None) -> Event:
    prev = key_value(ev["prev_kv"]) if "prev_kv" in ev else None
    if ev.get("type") == "DELETE":
        value = unb64(tomb) if tomb is not None else (prev.value if prev else b"")
        kv = KeyValue(unb64(ev["kv"]["key"]).decode(), value, prev.create_revision if prev else 0,
                      int(ev["kv"]["mod_revision"]))
        return Event(EventType.DELETE, kv, prev.value if prev else None)
    return Event(EventType.PUT, key_value(ev["kv"]), prev.value if prev else None)
