"""The Events a user looks for in ``kubectl describe pod``, as the kubelet reports them: Started, Killing,
Unhealthy, BackOff, Failed. Sent in the background: an Event never delays a container, and a lost one is only
logged. A Warning repeated for one container (the same reason and message) is sent once: a container waiting in
back-off must not flood the API at every sync."""

from __future__ import annotations

import asyncio
import logging
import time

from portside.agent.node import now
from portside.api.models import Event, EventSource, ObjectMeta, ObjectReference, Pod

log = logging.getLogger("portside.agent")
COMPONENT = "kubelet"


def event(pod: Pod, type: str, reason: str, message: str, container: str, host: str) -> dict:
    m, stamp = pod.metadata, now()
    ref = ObjectReference(api_version="v1", kind="Pod", namespace=m.namespace, name=m.name, uid=m.uid,
                          field_path=f"spec.containers{{{container}}}" if container else None)
    return Event(metadata=ObjectMeta(name=f"{m.name}.{time.time_ns():x}", namespace=m.namespace),
                 involved_object=ref, reason=reason, message=message, type=type, count=1,
                 source=EventSource(component=COMPONENT, host=host), first_timestamp=stamp, last_timestamp=stamp,
                 reporting_component=COMPONENT, reporting_instance=host).to_dict()


class Recorder:
    def __init__(self, client, host: str) -> None:
        self.client, self.host = client, host
        self.sent: dict[str, tuple[str, str]] = {}  # pod uid/container -> (reason, message) last sent

    def record(self, pod: Pod, type: str, reason: str, message: str, container: str = "") -> None:
        key = f"{pod.metadata.uid}/{container}"
        if type == "Warning" and self.sent.get(key) == (reason, message):
            return
        self.sent[key] = (reason, message)
        asyncio.ensure_future(self._send(event(pod, type, reason, message, container, self.host)))

    def forget(self, uid: str) -> None:
        for key in [k for k in self.sent if k.startswith(f"{uid}/")]:
            del self.sent[key]

    async def _send(self, body: dict) -> None:
        try:
            await self.client.create("events", body, body["metadata"]["namespace"])
        except Exception as exc:  # noqa: BLE001 - an Event is best effort
            log.info("event %s not recorded: %s", body["reason"], exc)
