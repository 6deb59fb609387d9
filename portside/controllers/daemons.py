"""The DaemonSet's reconcile core, pure: which nodes should run its pod, the pod for a node, which pods to create
and delete now (the manage step, then a RollingUpdate step), and the status. Kubernetes' daemon controller
(``daemon_controller.go``, ``update.go``, ``util/daemonset_util.go``) is the precedent for every rule here, so
that ``kubectl rollout status ds`` and the counts ``kubectl get ds`` prints mean what they mean there.

The pods are placed by the scheduler, not bound here: each pod requires its node by the node affinity
``metadata.name In [NODE]``, so the scheduler's resource, port and taint checks apply to it as to any pod.
Every daemon pod tolerates the taints a node carries while it is unhealthy or cordoned (``DEFAULT_TOLERATIONS``),
so it stays on a node that becomes not ready or unreachable, and lands on a cordoned one.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field

from portside import api
from portside.api.models import (
    Affinity,
    DaemonSet,
    DaemonSetStatus,
    Node,
    NodeAffinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    OwnerReference,
    Pod,
    Taint,
    Toleration,
)
from portside.controllers.noexecute import tolerates
from portside.controllers.pods import from_template, is_available, is_ready, is_terminating, phase, seconds
from portside.controllers.rollout import scaled

HASH_LABEL = "controller-revision-hash"
NODE_NAME_FIELD = "metadata.name"
NOT_READY, UNREACHABLE = "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"
_PRESSURE = ("node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure",
             "node.kubernetes.io/pid-pressure", "node.kubernetes.io/unschedulable")
DEFAULT_TOLERATIONS = (
    *(Toleration(key=k, operator="Exists", effect="NoExecute") for k in (NOT_READY, UNREACHABLE)),
    *(Toleration(key=k, operator="Exists", effect="NoSchedule") for k in _PRESSURE),
)
HOST_NETWORK_TOLERATION = Toleration(key="node.kubernetes.io/network-unavailable", operator="Exists",
                                     effect="NoSchedule")
Pods = dict[str, list[Pod]]  # node name -> the DaemonSet's pods meant for it


def daemon_tolerations(ds: DaemonSet) -> list[Toleration]:
    """The template's tolerations with the daemon defaults added; a default replaces a toleration of the same
    key, operator, value and effect (one with seconds would otherwise evict the pod after a while)."""
    spec = ds.spec.template.spec
    defaults = [*DEFAULT_TOLERATIONS, *([HOST_NETWORK_TOLERATION] if spec.host_network else [])]
    same = {(t.key, t.operator, t.value, t.effect) for t in defaults}
    kept = [t for t in spec.tolerations or [] if (t.key, t.operator or "Equal", t.value, t.effect) not in same]
    return kept + list(defaults)


def _untolerated(taints: Iterable[Taint], tolerations: list[Toleration], effects: tuple[str, ...]) -> bool:
    return any(t.effect in effects and not any(tolerates(tol, t) for tol in tolerations) for t in taints)


def _fits_node(ds: DaemonSet, node: Node) -> bool:
    """nodeName, nodeSelector and required node affinity of the template against ``node``."""
    spec, name = ds.spec.template.spec, node.metadata.name
    if spec.node_name and spec.node_name != name:
        return False
    labels = node.metadata.labels or {}
    if not api.selectors.selector_from_set(spec.node_selector).matches(labels):
        return False
    affinity = spec.affinity.node_affinity if spec.affinity and spec.affinity.node_affinity else None
    required = affinity.required_during_scheduling_ignored_during_execution if affinity else None
    try:
        terms = api.selectors.node_selector_from_object(required)
    except api.SelectorError:
        return False
    return terms is None or terms.matches(labels, name)


def should_run(ds: DaemonSet, node: Node) -> tuple[bool, bool]:
    """(a pod should be created there, a pod there may keep running): a NoSchedule taint the pod does not
    tolerate keeps a new pod off the node but lets a running one stay; a NoExecute one does neither."""
    if not _fits_node(ds, node):
        return False, False
    taints, tolerations = node.spec.taints if node.spec else None, daemon_tolerations(ds)
    taints = taints or []
    if _untolerated(taints, tolerations, ("NoSchedule", "NoExecute")):
        return False, not _untolerated(taints, tolerations, ("NoExecute",))
    return True, True


def pod_for(ds: DaemonSet, node: str, hash_: str, owner: OwnerReference) -> Pod:
    """The daemon pod for ``node``: the template, the revision's hash label, the daemon tolerations, and a
    required node affinity on the node's name in place of the template's (the node was already checked)."""
    pod = from_template(ds.spec.template, owner, f"{ds.metadata.name}-")
    pod.metadata.labels = {**(pod.metadata.labels or {}), HASH_LABEL: hash_}
    pod.spec.tolerations = daemon_tolerations(ds)
    term = NodeSelectorTerm(match_fields=[NodeSelectorRequirement(key=NODE_NAME_FIELD, operator="In", values=[node])])
    affinity = copy.deepcopy(pod.spec.affinity) or Affinity()
    affinity.node_affinity = affinity.node_affinity or NodeAffinity()
    affinity.node_affinity.required_during_scheduling_ignored_during_execution = NodeSelector(
        node_selector_terms=[term])
    pod.spec.affinity = affinity
    return pod


def target_node(pod: Pod) -> str:
    """The node a daemon pod is on, or is meant for while unscheduled (its node-name affinity)."""
    if pod.spec.node_name:
        return pod.spec.node_name
    affinity = pod.spec.affinity.node_affinity if pod.spec.affinity else None
    required = affinity.required_during_scheduling_ignored_during_execution if affinity else None
    for term in (required.node_selector_terms if required else None) or []:
        for req in term.match_fields or []:
            if req.key == NODE_NAME_FIELD and req.operator == "In" and len(req.values or []) == 1:
                return req.values[0]
    return ""


def by_node(pods: Iterable[Pod]) -> Pods:
    """Pods by target node, oldest first; a pod both finished and being deleted no longer counts."""
    out: Pods = {}
    for pod in pods:
        if is_terminating(pod) and phase(pod) in ("Succeeded", "Failed"):
            continue
        out.setdefault(target_node(pod), []).append(pod)
    for group in out.values():
        group.sort(key=_age)
    return out


def _age(pod: Pod) -> tuple:
    """Scheduled pods first, then by creation (Kubernetes' podByCreationTimestampAndPhase)."""
    return not pod.spec.node_name, seconds(pod.metadata.creation_timestamp) or 0.0, pod.metadata.name or ""


def updated(pod: Pod, hash_: str) -> bool:
    return (pod.metadata.labels or {}).get(HASH_LABEL) == hash_


def bounds(ds: DaemonSet, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) against the nodes that should run the pod, rounded up; never both zero."""
    strategy = ds.spec.update_strategy
    rolling = strategy.rolling_update if strategy and strategy.type == "RollingUpdate" else None
    surge = scaled(rolling.max_surge if rolling else 0, desired, True)
    unavailable = scaled(rolling.max_unavailable if rolling and rolling.max_unavailable is not None else 1,
                         desired, True)
    return (surge, 1) if desired and not surge and not unavailable else (surge, unavailable)


def surging(ds: DaemonSet) -> bool:
    strategy = ds.spec.update_strategy
    rolling = strategy.rolling_update if strategy and strategy.type == "RollingUpdate" else None
    return bool(rolling and scaled(rolling.max_surge, 1, True))


@dataclass
class Plan:
    create: list[str] = field(default_factory=list)  # node names
    delete: list[Pod] = field(default_factory=list)
    failed: list[Pod] = field(default_factory=list)  # failed pods among ``delete``: each gets an Event
    held: list[str] = field(default_factory=list)  # nodes whose failed pod waits out its back-off


def manage(ds: DaemonSet, nodes: list[Node], pods: Pods, hash_: str, now: float,
           backing_off: frozenset[str] = frozenset()) -> Plan:
    """Create a pod on each node that should run one and has none; delete pods on nodes that should not run
    one (or no longer exist), failed pods (unless their node is in ``backing_off``), and extra pods."""
    plan, names = Plan(), set()
    for node in nodes:
        name = node.metadata.name
        names.add(name)
        run, keep = should_run(ds, node)
        here = pods.get(name, [])
        if run and not here:
            plan.create.append(name)
        elif keep:
            _keep_one(ds, here, hash_, now, name in backing_off, plan, name)
        else:
            plan.delete += [p for p in here if not is_terminating(p)]
    for name, here in pods.items():
        if name not in names:
            plan.delete += [p for p in here if not is_terminating(p)]
    return plan


def _keep_one(ds: DaemonSet, here: list[Pod], hash_: str, now: float, backing_off: bool, plan: Plan,
              node: str) -> None:
    running = []
    for pod in here:
        if is_terminating(pod):
            continue
        if phase(pod) == "Failed":
            if backing_off:
                plan.held.append(node)
            else:
                plan.delete.append(pod)
                plan.failed.append(pod)
            continue
        running.append(pod)
    if surging(ds):
        plan.delete += _surplus_while_surging(ds, running, hash_, now)
    else:
        plan.delete += running[1:]  # the oldest stays


def _surplus_while_surging(ds: DaemonSet, running: list[Pod], hash_: str, now: float) -> list[Pod]:
    """Two pods may share a node only while the new one is not yet available and the old one is Ready."""
    newest = [p for p in running if updated(p, hash_)]
    oldest = [p for p in running if not updated(p, hash_)]
    surplus = newest[1:] + oldest[1:]
    if newest and oldest:
        min_ready = ds.spec.min_ready_seconds or 0
        if not is_ready(oldest[0]) or is_available(newest[0], min_ready, now):
            surplus.append(oldest[0])
    return surplus


def _pair(pods: list[Pod], hash_: str) -> tuple[Pod | None, Pod | None, bool]:
    """(new pod, old pod, fine): more than one of either kind is the manage step's to fix first."""
    new = old = None
    for pod in pods:
        if is_terminating(pod):
            continue
        if updated(pod, hash_):
            if new is not None:
                return None, None, False
            new = pod
        elif old is not None:
            return None, None, False
        else:
            old = pod
    return new, old, True


def desired_nodes(ds: DaemonSet, nodes: list[Node], pods: Pods) -> Pods:
    """``pods`` with an entry (maybe empty) for every node that should run the pod."""
    out = dict(pods)
    for node in nodes:
        if should_run(ds, node)[0]:
            out.setdefault(node.metadata.name, [])
    return out


def rolling_update(ds: DaemonSet, nodes: list[Node], pods: Pods, hash_: str, now: float) -> Plan:
    """One step of a RollingUpdate: replace old pods within maxUnavailable, or surge new ones within maxSurge
    (Kubernetes' ``rollingUpdate``); an old pod that is not available anyway is replaced at once."""
    pods = desired_nodes(ds, nodes, pods)
    desired = sum(1 for n in nodes if should_run(ds, n)[0])
    max_surge, max_unavailable = bounds(ds, desired)
    min_ready = ds.spec.min_ready_seconds or 0
    if not max_surge:
        return _replace_within_unavailability(pods, hash_, now, min_ready, max_unavailable)
    return _surge(pods, hash_, now, min_ready, max_surge)


def _replace_within_unavailability(pods: Pods, hash_: str, now: float, min_ready: int, budget: int) -> Plan:
    unavailable, broken, candidates = 0, [], []
    for name in sorted(pods):
        new, old, fine = _pair(pods[name], hash_)
        if not fine or (new is None) == (old is None):
            unavailable += 1  # nothing there yet, or both: the manage step acts first
        elif new is not None:
            unavailable += not is_available(new, min_ready, now)
        elif not is_available(old, min_ready, now):
            broken.append(old)
        elif unavailable < budget:
            candidates.append(old)
    room = max(0, min(budget - unavailable, len(candidates)))
    return Plan(delete=broken + candidates[:room])


def _surge(pods: Pods, hash_: str, now: float, min_ready: int, budget: int) -> Plan:
    surged, plan, allowed, candidates = 0, Plan(), [], []
    for name in sorted(pods):
        new, old, fine = _pair(pods[name], hash_)
        if not fine:
            surged += 1
        elif old is None:
            continue
        elif new is None:
            if not is_available(old, min_ready, now):
                allowed.append(name)
            elif surged < budget:
                candidates.append(name)
        elif not is_available(new, min_ready, now):
            surged += 1
        else:
            plan.delete.append(old)
    room = max(0, min(budget - surged, len(candidates)))
    plan.create = allowed + candidates[:room]
    return plan


def status(ds: DaemonSet, nodes: list[Node], pods: Pods, hash_: str, now: float,
           observed: bool) -> DaemonSetStatus:
    """Counts over nodes; a node's pod is its oldest, so an update counts once the old pod is gone."""
    desired = current = misscheduled = ready = available = fresh = 0
    min_ready = ds.spec.min_ready_seconds or 0
    for node in nodes:
        run = should_run(ds, node)[0]
        here = pods.get(node.metadata.name, [])
        if not run:
            misscheduled += bool(here)
            continue
        desired += 1
        if not here:
            continue
        current += 1
        pod = here[0]
        ready += is_ready(pod)
        available += is_available(pod, min_ready, now)
        fresh += updated(pod, hash_)
    previous = ds.status or DaemonSetStatus()
    return DaemonSetStatus(
        current_number_scheduled=current, number_misscheduled=misscheduled, desired_number_scheduled=desired,
        number_ready=ready, updated_number_scheduled=fresh, number_available=available,
        number_unavailable=desired - available, collision_count=previous.collision_count,
        observed_generation=(ds.metadata.generation or 0) if observed else previous.observed_generation)
