"""The scheduling loop's core: take one pod off the queue, place it (or its whole gang), reserve, bind.

Sans-I/O: cluster changes come in as method calls (``set_node``, ``pod_bound``, ``pod_deleted``, ``enqueue``)
with the current time; decisions go out through the Binder. A reservation (``NodeArrays.assume``) is made before
binding, so the next pod sees the room as taken even while a bind is still in flight; a failed bind (a 409:
the pod was bound or started terminating since the scheduler saw it; or a 404: it is gone) undoes the
reservation and retries after back-off, by which time the watch has told the core what really happened.

A pod that preempted holds a nomination: its request stays reserved on the nominated node, so lower-priority
pods cannot take the room its victims free while they terminate; the reservation is dropped when it is tried
again.
"""

from __future__ import annotations

from portside.scheduler import gang as gangs
from portside.scheduler import preemption
from portside.scheduler.binder import Binder
from portside.scheduler.cycle import Cycle
from portside.scheduler.explain import message
from portside.scheduler.framework import (
    NODE_ADD,
    NODE_UPDATE,
    POD_ADD,
    POD_DELETE,
    PV_CHANGE,
    PVC_CHANGE,
    SC_CHANGE,
    SUCCESS,
    CycleState,
    Status,
)
from portside.scheduler.model import NodeInfo, PodInfo
from portside.scheduler.nodes import NodeArrays
from portside.scheduler.profile import Profile, builtin_profiles, pick
from portside.scheduler.queue import QueuedPod, SchedulingQueue


class Scheduler:
    def __init__(self, binder: Binder, profiles: dict[str, Profile] | None = None,
                 default_profile: str = "default-scheduler", nodes: NodeArrays | None = None) -> None:
        self.binder = binder
        self.nodes = nodes or NodeArrays()
        self.profiles = profiles or builtin_profiles()
        self.default = pick(self.profiles, default_profile)
        self.cycles = {name: Cycle(p, self.nodes) for name, p in self.profiles.items()}
        interest = {f.NAME: f.EVENTS for p in self.profiles.values() for f in p.filters}
        interest[gangs.NAME] = gangs.EVENTS
        self.queue = SchedulingQueue(sort=self.default.queue_sort, interest=interest)
        self.in_flight: dict[str, QueuedPod] = {}
        self.nominated: dict[str, int] = {}
        self.attempts = 0

    # --- cluster events -----------------------------------------------------------------------------------------
    def set_node(self, info: NodeInfo, now: float) -> None:
        row = self.nodes.index.get(info.name)
        old = self.nodes.infos[row] if row is not None and self.nodes.alive[row] else None
        self._add_capacity(old, -1)
        self.nodes.set_node(info)
        self._add_capacity(info, 1)
        self.queue.on_event(NODE_UPDATE if old is not None else NODE_ADD, now)

    def _add_capacity(self, info: NodeInfo | None, sign: int) -> None:
        """Cluster totals per resource: the dominant-share batch order measures a pod against them (as DRF
        does), so pods asking for a resource few nodes offer, such as GPUs, are placed first."""
        capacity = self.queue.sort.capacity
        for name, amount in (info.allocatable.items() if info else ()):
            capacity[name] = capacity.get(name, 0) + sign * amount

    def remove_node(self, name: str, now: float) -> list[PodInfo]:
        row = self.nodes.index.get(name)
        if row is not None and self.nodes.alive[row]:
            self._add_capacity(self.nodes.infos[row], -1)
        gone = self.nodes.remove_node(name)
        self.queue.on_event(NODE_UPDATE, now)
        return gone

    def enqueue(self, pod: PodInfo, now: float) -> None:
        self.queue.add(pod, now)
        if pod.gang:
            self.queue.on_event(POD_ADD, now)

    def enqueue_batch(self, pods: list[PodInfo], now: float) -> None:
        """Pods submitted together: the queue sort may order them as a whole (see ``queuesort.batch_order``)."""
        self.queue.sort.rank_batch(pods)
        for pod in pods:
            self.enqueue(pod, now)

    def pod_bound(self, pod: PodInfo, node: str, now: float) -> None:
        """A pod observed bound (by anyone): count it, unless it is already counted where it is."""
        self.queue.delete(pod.uid)
        entry = self.nodes.placed.get(pod.uid)
        row = self.nodes.index.get(node)
        if row is None or (entry is not None and entry[1] == row):
            return
        self.nodes.forget(pod.uid)
        self.nodes.assume(pod, row)
        self.queue.on_event(POD_ADD, now)

    def volume_event(self, event: str, now: float) -> None:
        """A claim, volume or storage class changed (``nodes.volumes`` already shows it): pods parked for their
        storage may fit now. ``event`` is PVC_CHANGE, PV_CHANGE or SC_CHANGE."""
        assert event in (PVC_CHANGE, PV_CHANGE, SC_CHANGE), event
        self.queue.on_event(event, now)

    def pod_deleted(self, uid: str, now: float) -> None:
        self.queue.delete(uid)
        qp = self.in_flight.pop(uid, None)
        if qp is not None:
            self.cycle_for(qp.pod).unreserve(qp.pod)
        self.nominated.pop(uid, None)
        entry = self.nodes.forget(uid)
        self.nodes.drop_request(uid)
        if entry is not None:
            for preemptor, row in self.nominated.items():
                if row == entry[1]:  # its victims are leaving: exactly what it waits for
                    self.queue.wake(preemptor, now)
            self.queue.on_event(POD_DELETE, now, {"NodeResourcesFit": self._fits_freed(entry[1])})

    def _fits_freed(self, row: int):
        """The queueing hint of a pod deletion: does the room it freed hold the parked pod? Pods are asked in
        queue order and each one that fits takes its share of the room, so one freed slot wakes one pod, not the
        whole backlog."""
        free = self.nodes.free[:, row].copy()

        def hint(pod: PodInfo) -> bool:
            vec, missing = self.nodes.request_vector(pod)
            if missing or not (free >= vec).all():
                return False
            free[:] -= vec
            return True
        return hint

    def bind_done(self, uid: str, ok: bool, now: float) -> None:
        """The outcome of an in-flight bind: confirm it, or unreserve and retry after back-off."""
        qp = self.in_flight.pop(uid, None)
        if qp is None or ok:
            return
        self.cycle_for(qp.pod).unreserve(qp.pod)
        self.nodes.forget(uid)
        self.queue.retry(qp, now)
        self.queue.on_event(POD_DELETE, now)

    # --- the cycle ----------------------------------------------------------------------------------------------
    def cycle_for(self, pod: PodInfo) -> Cycle:
        return self.cycles.get(pod.scheduler_name) or self.cycles[self.default.name]

    def schedule_one(self, now: float) -> bool:
        """Try the next pod (or gang). False when nothing is ready to try."""
        qp = self.queue.pop(now)
        if qp is None:
            return False
        self.attempts += 1
        self._drop_nomination(qp.pod)
        if qp.pod.gang:
            self._schedule_gang(qp, now)
        else:
            self._schedule_pod(qp, now)
        return True

    def _schedule_pod(self, qp: QueuedPod, now: float) -> None:
        """PreFilter, Filter, Score; then reserve, Permit and bind, or refuse and park."""
        cycle, state = self.cycle_for(qp.pod), CycleState()
        row, status = cycle.select(state, qp.pod)
        if row is None:
            self._refuse(qp, cycle, state, status, now)
            return
        self.nodes.assume(qp.pod, row)  # reserve: Permit and the next pod see the room as taken
        reserved = cycle.reserve(state, qp.pod, self.nodes.names[row])
        if reserved is not SUCCESS and not reserved.ok:  # a volume chosen for another pod meanwhile
            self.nodes.forget(qp.pod.uid)
            self._park_refused(qp, now, reserved.plugin, reserved.message)
            return
        permit = cycle.permit(state, qp.pod)
        if permit is SUCCESS or permit.ok:
            self._send_binds([(qp, row)], now)
        else:
            cycle.unreserve(qp.pod)
            self.nodes.forget(qp.pod.uid)
            self._park_refused(qp, now, permit.plugin, permit.message)

    def _park_refused(self, qp: QueuedPod, now: float, plugin: str, text: str) -> None:
        self.binder.refuse(qp.pod, text)
        self.queue.park(qp, now, {plugin}, text)

    def run(self, now: float, limit: int | None = None) -> int:
        """Schedule until the active queue is empty (or ``limit`` attempts); returns attempts made."""
        done = 0
        while (limit is None or done < limit) and self.schedule_one(now):
            done += 1
        return done

    def _bind(self, placed: list[tuple[QueuedPod, int]], now: float) -> None:
        for qp, row in placed:
            self.nodes.assume(qp.pod, row)
        self._send_binds(placed, now)

    def _send_binds(self, placed: list[tuple[QueuedPod, int]], now: float) -> None:
        """Reserved pods out through the Binder (the bind stage)."""
        for qp, row in placed:
            self.in_flight[qp.pod.uid] = qp
            outcome = self.binder.bind(qp.pod, self.nodes.names[row])
            if outcome is not None:
                self.bind_done(qp.pod.uid, outcome, now)

    def _refuse(self, qp: QueuedPod, cycle: Cycle, state: CycleState, status: Status, now: float) -> None:
        """No node: a PreFilter's refusal stands as it is (no node was looked at); otherwise every filter is
        asked why, and preemption whether evicting would help."""
        if status.plugin:
            self._park_refused(qp, now, status.plugin, status.message)
            return
        diagnosis = cycle.diagnose(state, qp.pod)
        if not cycle.static_mask(qp.pod).any():  # refused by labels, taints or names everywhere
            note = f"0/{diagnosis.total} nodes are available: {preemption.NOT_HELPFUL}."
        else:
            note = self._preempt(qp, cycle)
        text = message(diagnosis, note)
        self.binder.refuse(qp.pod, text)
        self.queue.park(qp, now, diagnosis.plugins, text)

    def _preempt(self, qp: QueuedPod, cycle: Cycle) -> str:
        candidate, why = preemption.find(qp.pod, cycle)
        if candidate is None:
            return why
        node = self.nodes.names[candidate.row]
        for victim in candidate.victims:
            self.binder.evict(victim, qp.pod, node)
        self.nominated[qp.pod.uid] = candidate.row
        self.nodes.assume(qp.pod, candidate.row)
        self.binder.nominate(qp.pod, node)
        return f"nominated {node}, preempting {len(candidate.victims)} pod(s)."

    def _drop_nomination(self, pod: PodInfo) -> None:
        if self.nominated.pop(pod.uid, None) is not None:
            self.nodes.forget(pod.uid)

    def _schedule_gang(self, first: QueuedPod, now: float) -> None:
        """Every queued member through PreFilter..Score in turn, each reserving its node; then every member's
        Permit (``gang.Coscheduling`` says WAIT below the quorum). Room reservations are released before binding
        either way: the bind reserves again, and a gang that must wait holds nothing (its Reserve plugins' choices
        are undone too; a gang that binds keeps them for PreBind)."""
        members = [first] + self.queue.take_gang(first.pod.namespace, first.pod.gang)
        for qp in members[1:]:
            self._drop_nomination(qp.pod)
        members.sort(key=lambda qp: self.queue.sort.key(qp.pod))
        gang = gangs.Gang.of([qp.pod for qp in members], self.nodes)
        placed, refused, states, short = self._reserve_members(members, gang)
        waiting = short or next((v for v in (c.permit(st, pod) for c, st, pod in states) if not v.ok), None)
        self._release(placed)
        if waiting is not None:
            for qp, _row in placed:
                self.cycle_for(qp.pod).unreserve(qp.pod)
            why = f"{waiting.message}; {message(refused[0][1])}" if refused and short is None else waiting.message
            self._park_gang(members, now, why)
            return
        self._bind(placed, now)
        for qp, diag in refused:
            self.queue.park(qp, now, diag.plugins, message(diag))

    def _reserve_members(self, members: list[QueuedPod], gang: gangs.Gang) -> tuple[list, list, list, Status | None]:
        """(placed, refused with diagnosis, each member's cycle and state, the Coscheduling PreFilter's refusal
        if the gang is short of members: then nothing more is tried)."""
        placed, refused, states = [], [], []
        for qp in members:
            cycle, state = self.cycle_for(qp.pod), CycleState()
            state[gangs.NAME] = gang
            states.append((cycle, state, qp.pod))
            row, status = cycle.select(state, qp.pod)
            if status.plugin == gangs.NAME:
                return placed, refused, states, status
            if row is None:
                refused.append((qp, cycle.diagnose(state, qp.pod)))
                continue
            self.nodes.assume(qp.pod, row)
            if not cycle.reserve(state, qp.pod, self.nodes.names[row]).ok:
                self.nodes.forget(qp.pod.uid)
                refused.append((qp, cycle.diagnose(state, qp.pod)))
                continue
            gang.reserved += 1
            placed.append((qp, row))
        return placed, refused, states, None

    def _release(self, placed: list[tuple[QueuedPod, int]]) -> None:
        for qp, _row in placed:
            self.nodes.forget(qp.pod.uid)

    def _park_gang(self, members: list[QueuedPod], now: float, text: str) -> None:
        for qp in members:
            self.binder.refuse(qp.pod, text)
            self.queue.park(qp, now, {gangs.NAME}, text)
