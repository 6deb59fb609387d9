"""Writing a pod's status: the facts a worker holds go through ``status.compute``, and the result is sent
through the status subresource only when it differs from what this agent last wrote for that pod."""

from __future__ import annotations

from portside.agent import plan
from portside.agent.model import latest
from portside.agent.node import now
from portside.agent.status import Facts, compute
from portside.api.models import PodStatus
from portside.client import NotFound


def facts_of(worker) -> Facts:
    spec = worker.pod.spec
    init = [c.name for c in spec.init_containers or []]
    runs = list(worker.runs.values())
    policy = spec.restart_policy or "Always"
    return Facts(init=init, apps=[c.name for c in spec.containers],
                 images={c.name: c.image for c in (spec.init_containers or []) + spec.containers},
                 restart_policy=policy, runs=runs, pod_ip=worker.ip, host_ip=worker.node.host_ip,
                 ready=dict(worker.health.ready), started=dict(worker.health.started),
                 waiting=dict(worker.waiting), init_failed=plan.init_failed(init, policy, latest(runs)))


class StatusWriter:
    def __init__(self, client) -> None:
        self.client = client
        self.written: dict[str, PodStatus] = {}  # pod uid -> the status last written

    async def write(self, worker) -> None:
        last = self.written.get(worker.uid)
        status = compute(facts_of(worker), last or worker.reported or PodStatus(), now())
        if status == last:
            return
        m = worker.pod.metadata
        try:
            fresh = await self.client.patch("pods", m.name, {"status": status}, m.namespace, subresource="status")
        except NotFound:
            worker.deleted()
            return
        self.written[worker.uid] = status
        if fresh.metadata.uid == worker.uid:
            worker.reported = fresh.status

    def reconcile(self, uid: str, seen: PodStatus | None) -> None:
        """The API's copy of the pod's conditions differs from what this agent last wrote: someone else wrote
        them (the node lifecycle controller marks a lost node's pods NotReady), so the next sync writes again,
        as the kubelet's status manager reconciles with the API's copy."""
        last = self.written.get(uid)
        if last is not None and seen is not None and _conditions(last) != _conditions(seen):
            del self.written[uid]

    def forget(self, uid: str) -> None:
        self.written.pop(uid, None)


def _conditions(status: PodStatus) -> set[tuple[str, str]]:
    return {(c.type, c.status) for c in status.conditions or []}
