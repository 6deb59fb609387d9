"""VolumeBinding: a pod goes where its claims' volumes can be used (kube-scheduler's plugin of that name).

PreFilter looks up the pod's claims once per attempt: a claim that does not exist or is being deleted, or one
that is unbound although its class binds at once (a PV controller's job, not a node's), refuses the pod before
any node is looked at. Filter then keeps the nodes every bound volume's node affinity admits, and, for each
claim that waits for its first consumer, the nodes where a free volume satisfying it lives, or every node when
its class can provision one (only the node already chosen for it, once one is). Reserve decides for those
claims on the chosen node (``volumes.VolumeView.choose``); the binder writes the decisions before the binding.

Pods without claims, nearly all of them, cost one attribute test in PreFilter and one dict lookup per window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portside.api import volumes as vol
from portside.api.models import PersistentVolumeClaim
from portside.api.selectors import NodeSelector
from portside.scheduler.filters.node_affinity import name_mask, term_mask
from portside.scheduler.framework import (
    NODE_ADD,
    NODE_UPDATE,
    PV_CHANGE,
    PVC_CHANGE,
    SC_CHANGE,
    SUCCESS,
    Code,
    CycleState,
    Status,
)
from portside.scheduler.model import NodeInfo, PodInfo, Requirement
from portside.scheduler.nodes import NodeArrays
from portside.scheduler.volumes import Choice, VolumeView

NAME = "VolumeBinding"
NODE_CONFLICT = "node(s) had volume node affinity conflict"
BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
NO_CLAIMS = Status(Code.SKIP, plugin=NAME)


@dataclass(frozen=True, slots=True)
class PodClaims:
    """The cycle state: what the pod's claims ask of a node."""

    bound: tuple[NodeSelector, ...]  # node affinity of each bound volume that has one
    missing: bool  # a claim is bound to a volume that does not exist
    waiting: tuple[tuple[str, PersistentVolumeClaim], ...]  # claims to decide for on the chosen node


def selector_mask(selector: NodeSelector, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray:
    out = np.zeros(hi - lo, dtype=bool)
    for term in selector.terms:
        out |= term_mask(term, nodes, lo, hi)
    return out


def admits(view: VolumeView, volume: str, node: NodeInfo) -> bool:
    selector = view.affinity.get(volume)
    return selector is None or selector.matches(node.labels, node.name)


def look_up(view: VolumeView, pod: PodInfo) -> PodClaims | Status:
    """The pod's claims as the filter needs them, or the refusal that holds on every node."""
    bound, waiting, missing = [], [], False
    for name in pod.claims:
        key = f"{pod.namespace}/{name}"
        claim = view.claims.get(key)
        if claim is None:
            return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, f'persistentvolumeclaim "{name}" not found', NAME)
        if claim.metadata.deletion_timestamp:
            return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, f'persistentvolumeclaim "{name}" is being deleted',
                          NAME)
        if claim.spec.volume_name:
            if claim.spec.volume_name not in view.volumes:
                missing = True
            elif (selector := view.affinity.get(claim.spec.volume_name)) is not None:
                bound.append(selector)
            continue
        class_name = vol.claim_class(claim)
        if class_name and class_name not in view.classes:
            return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                          f'storageclass.storage.k8s.io "{class_name}" not found', NAME)
        if not view.waits_for_consumer(claim):
            return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, UNBOUND_IMMEDIATE, NAME)
        waiting.append((key, claim))
    return PodClaims(tuple(bound), missing, tuple(waiting))


class VolumeBinding:
    NAME = NAME
    STATIC = False
    RESOLVABLE = False  # evicting pods frees no volume
    EVENTS = frozenset({NODE_ADD, NODE_UPDATE, PVC_CHANGE, PV_CHANGE, SC_CHANGE})

    def prefilter(self, state: CycleState, pod: PodInfo, nodes: NodeArrays) -> Status:
        if not pod.claims or not nodes.volumes.followed:
            return NO_CLAIMS
        found = look_up(nodes.volumes, pod)
        if isinstance(found, Status):
            return found
        state[NAME] = found
        return SUCCESS

    def mask(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray | None:
        claims = state.get(NAME)
        if claims is None:
            return None
        if claims.missing:
            return np.zeros(hi - lo, dtype=bool)
        return self._bound_mask(claims, nodes, lo, hi) & self._waiting_mask(claims, nodes, lo, hi)

    @staticmethod
    def _bound_mask(claims: PodClaims, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray:
        out = np.ones(hi - lo, dtype=bool)
        for selector in claims.bound:
            out &= selector_mask(selector, nodes, lo, hi)
        return out

    @staticmethod
    def _waiting_mask(claims: PodClaims, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray:
        view, out = nodes.volumes, np.ones(hi - lo, dtype=bool)
        for key, claim in claims.waiting:
            chosen = view.chosen_node(key, claim)
            if chosen:
                out &= name_mask(Requirement("metadata.name", "In", (chosen,)), nodes, lo, hi)
            elif not view.can_provision(claim):
                reachable = np.zeros(hi - lo, dtype=bool)
                for pv in view.candidates(claim):
                    selector = view.affinity.get(pv.metadata.name)
                    if selector is None:
                        reachable[:] = True
                        break
                    reachable |= selector_mask(selector, nodes, lo, hi)
                out &= reachable
        return out

    def reasons(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, failing: np.ndarray) -> dict[str, int]:
        claims = state[NAME]
        if claims.missing:
            return {PV_NOT_EXIST: int(np.count_nonzero(failing))}
        conflict = failing & ~self._bound_mask(claims, nodes, 0, nodes.n)
        out = {NODE_CONFLICT: int(np.count_nonzero(conflict)),
               BIND_CONFLICT: int(np.count_nonzero(failing & ~conflict))}
        return {reason: count for reason, count in out.items() if count}

    # -- Reserve --------------------------------------------------------------------------------------------

    def reserve(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, node: str) -> Status:
        """Decide, on ``node``, for each claim still waiting for its first consumer: the smallest free volume
        there, else a new one provisioned there."""
        view, info = nodes.volumes, nodes.infos[nodes.index[node]]
        choices: list[Choice] = []
        for key, claim in state[NAME].waiting:
            if view.chosen_node(key, claim):
                continue
            used = {c.volume for c in choices}
            pv = next((pv for pv in view.candidates(claim)
                       if pv.metadata.name not in used and admits(view, pv.metadata.name, info)), None)
            if pv is not None:
                choices.append(Choice(key, node, pv.metadata.name))
            elif view.can_provision(claim):
                choices.append(Choice(key, node))
            else:
                return Status(Code.UNSCHEDULABLE, BIND_CONFLICT, NAME)
        view.choose(pod.uid, choices)
        return SUCCESS

    def unreserve(self, pod: PodInfo, nodes: NodeArrays) -> None:
        nodes.volumes.drop(pod.uid)
