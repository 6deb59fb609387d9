"""What the proxy writes back to the API: Service status (ingress, the PortsAvailable condition), Events, metrics.

Status is written only when it differs from what the Service already shows, so the proxy's own writes (which
come back to it as watch events) settle after one round. Events are written once per (Service, message): a
conflict that persists across syncs is one Event, not one per sync.
"""

from __future__ import annotations

import datetime
import json
import logging
import subprocess
import time
from typing import Any

from portside.client import ApiError, Client, NotFound
from portside.proxy.metrics import CONFIGMAP, NAMESPACE
from portside.proxy.plan import Plan

__all__ = ["CONDITION", "Reporter", "node_ip", "publish_metrics"]

log = logging.getLogger("portside.proxy")
CONDITION, COMPONENT = "PortsAvailable", "portside-proxy"
Obj = dict[str, Any]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_ip() -> str:
    """The address this node uses by default (the source of its default route), else 127.0.0.1.

    ``ip route get`` only consults the routing table; no packet is sent.
    """
    proc = subprocess.run(["ip", "-j", "route", "get", "1.1.1.1"], capture_output=True, text=True, check=False)
    try:
        return json.loads(proc.stdout)[0].get("prefsrc") or "127.0.0.1"
    except (ValueError, IndexError, KeyError):
        return "127.0.0.1"


def _condition(old: list[Obj], ok: bool, reason: str, message: str) -> Obj:
    status = "True" if ok else "False"
    prev = next((c for c in old if c.get("type") == CONDITION), {})
    stamp = prev.get("lastTransitionTime") if prev.get("status") == status else _now()
    return {"type": CONDITION, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": stamp or _now()}


class Reporter:
    def __init__(self, client: Client, lb_address: str) -> None:
        self.client = client
        self.ingress_ip = lb_address if lb_address not in ("", "0.0.0.0") else node_ip()
        self._told: set[tuple[str, str]] = set()

    def _wanted(self, service: Obj, conflicts: list[str], served: bool) -> Obj:
        spec, current = service.get("spec") or {}, service.get("status") or {}
        old = current.get("conditions") or []
        out: Obj = {"loadBalancer": {}}
        if spec.get("type") == "LoadBalancer" and served and not conflicts:
            out["loadBalancer"] = {"ingress": [{"ip": self.ingress_ip}]}
        if conflicts:
            out["conditions"] = [_condition(old, False, "PortConflict", "; ".join(conflicts))]
        elif served or any(c.get("type") == CONDITION for c in old):
            out["conditions"] = [_condition(old, True, "PortsBound", "every port of this Service is served")]
        return out

    async def report(self, services: dict[str, Obj], plan: Plan, served_ports: set[str]) -> None:
        for key, service in list(services.items()):
            conflicts = plan.conflicts.get(key, [])
            served = any(k.startswith(key + ":") for k in served_ports)
            await self._write_status(service, self._wanted(service, conflicts, served))
            for message in conflicts:
                await self._event(service, "PortConflict", message)
            for message in plan.warnings.get(key, []):
                await self._event(service, "InvalidAnnotation", message)

    async def _write_status(self, service: Obj, wanted: Obj) -> None:
        current = service.get("status") or {}
        if (current.get("loadBalancer") or {}) == wanted["loadBalancer"] and \
                (current.get("conditions") or None) == wanted.get("conditions"):
            return
        meta = service["metadata"]
        patch = {"status": {"loadBalancer": wanted["loadBalancer"] or {"ingress": None},
                            "conditions": wanted.get("conditions")}}
        try:
            await self.client.patch("services", meta["name"], patch, meta["namespace"], subresource="status")
        except NotFound:
            pass  # deleted meanwhile

    async def _event(self, service: Obj, reason: str, message: str) -> None:
        meta = service["metadata"]
        if (meta.get("uid", ""), message) in self._told:
            return
        stamp = _now()
        event = {"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": reason, "message": message,
                 "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": meta["namespace"]},
                 "involvedObject": {"apiVersion": "v1", "kind": "Service", "name": meta["name"],
                                    "namespace": meta["namespace"], "uid": meta.get("uid")},
                 "source": {"component": COMPONENT}, "reportingComponent": COMPONENT, "count": 1,
                 "firstTimestamp": stamp, "lastTimestamp": stamp}
        try:
            await self.client.create("events", event)
            self._told.add((meta.get("uid", ""), message))
        except ApiError as exc:
            log.warning("proxy: event %s on %s not recorded: %s", reason, meta["name"], exc)


async def publish_metrics(client: Client, data: dict[str, str]) -> None:
    """Replace the metrics ConfigMap's data (create it the first time)."""
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIGMAP, "namespace": NAMESPACE},
            "data": data}
    try:
        current = await client.get("configmaps", CONFIGMAP, NAMESPACE)
    except NotFound:
        await client.create("configmaps", body)
        return
    await client.update("configmaps", {**current, "data": data})
