"""The StatefulSet's reconcile core, pure: pod identities (names, labels, hostname, claims), which pod to create,
delete or replace next, the owners its claims should carry, and the status. Kubernetes' StatefulSet controller
(``stateful_set_control.go``, ``stateful_set_utils.go``) is the precedent for every rule here, so that
``kubectl rollout status|history|undo sts`` and the counts ``kubectl get sts`` prints mean what they mean there.

Pod ``NAME-i`` for each ordinal ``i`` from ``ordinals.start`` up, ``replicas`` of them; pods past the range are
*condemned*. One step (``plan``) walks the range in order and stops at the first thing OrderedReady must wait
for: a failed pod is deleted (and made again once it is gone), a missing pod created, a pod not yet Running and
Ready (and available, with ``minReadySeconds``) waited for. Then condemned pods go, highest ordinal first, one at a
time and only once every lower pod is healthy. Then a RollingUpdate replaces one outdated pod, from the highest
ordinal down to ``partition``, once the pods above it are healthy again (or up to ``maxUnavailable`` of them when
it is set). Parallel does the same without the waiting: every missing pod at once, every condemned pod at once.

A new pod's template is the update revision's, except below the partition, where it is the current revision's:
a pod deleted by hand there comes back as it was. Pods carry their revision's *name* in
``controller-revision-hash`` (the DaemonSet puts the bare hash there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from portside import api
from portside.api.models import (
    OwnerReference,
    PersistentVolumeClaim,
    PersistentVolumeClaimVolumeSource,
    Pod,
    PodTemplateSpec,
    StatefulSet,
    StatefulSetStatus,
    Volume,
)
from portside.controllers import scaling
from portside.controllers.history import HASH_LABEL
from portside.controllers.pods import controller_of, from_template, is_available, is_ready, is_terminating, phase
from portside.controllers.rollout import scaled

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = HASH_LABEL  # its value on a StatefulSet's pod is the revision's name
_ORDINAL = re.compile(r"(.*)-([0-9]+)")


# -- identity ---------------------------------------------------------------------------------------------------

def ordinal_of(sts: StatefulSet, pod: Pod) -> int | None:
    """The ordinal in ``NAME-i`` when the pod's name is the set's name and a number; None otherwise."""
    found = _ORDINAL.fullmatch(pod.metadata.name or "")
    if found is None or found.group(1) != sts.metadata.name:
        return None
    return int(found.group(2))


def is_member(sts: StatefulSet, pod: Pod) -> bool:
    return ordinal_of(sts, pod) is not None


def start(sts: StatefulSet) -> int:
    ordinals = sts.spec.ordinals
    return (ordinals.start if ordinals else None) or 0


def replicas(sts: StatefulSet) -> int:
    return 1 if sts.spec.replicas is None else sts.spec.replicas


def ordinals(sts: StatefulSet) -> range:
    return range(start(sts), start(sts) + replicas(sts))


def pod_name(sts: StatefulSet, ordinal: int) -> str:
    return f"{sts.metadata.name}-{ordinal}"


def claim_name(template: str, sts: StatefulSet, ordinal: int) -> str:
    return f"{template}-{sts.metadata.name}-{ordinal}"


def claim_ordinal(sts: StatefulSet, claim: str) -> int | None:
    """The ordinal of a claim named ``TEMPLATE-NAME-i`` after one of the set's claim templates; None otherwise."""
    for template in claim_templates(sts):
        prefix = f"{template.metadata.name}-{sts.metadata.name}-"
        rest = claim[len(prefix):] if claim.startswith(prefix) else ""
        if rest.isdigit() and rest.isascii():
            return int(rest)
    return None


def revision_of(pod: Pod) -> str:
    return (pod.metadata.labels or {}).get(REVISION_LABEL, "")


def identity_labels(sts: StatefulSet, ordinal: int) -> dict[str, str]:
    return {POD_NAME_LABEL: pod_name(sts, ordinal), POD_INDEX_LABEL: str(ordinal)}


def identity_matches(sts: StatefulSet, pod: Pod) -> bool:
    ordinal = ordinal_of(sts, pod)
    labels = pod.metadata.labels or {}
    return ordinal is not None and all(labels.get(k) == v for k, v in identity_labels(sts, ordinal).items())


def claim_templates(sts: StatefulSet) -> list[PersistentVolumeClaim]:
    return sts.spec.volume_claim_templates or []


def new_pod(sts: StatefulSet, template: PodTemplateSpec, ordinal: int, revision: str, owner: OwnerReference) -> Pod:
    """Pod ``NAME-ordinal`` of ``template``: its identity labels and revision, ``hostname`` its name and
    ``subdomain`` the governing Service (so DNS names it ``NAME-i.SERVICE.NS.svc``), and a volume per claim
    template on the ordinal's claim, in place of any template volume of the same name."""
    pod = from_template(template, owner, "")
    name = pod_name(sts, ordinal)
    pod.metadata.name, pod.metadata.generate_name, pod.metadata.namespace = name, None, sts.metadata.namespace
    pod.metadata.labels = {**(pod.metadata.labels or {}), **identity_labels(sts, ordinal), REVISION_LABEL: revision}
    pod.spec.hostname, pod.spec.subdomain = name, sts.spec.service_name or None
    claimed = [Volume(name=t.metadata.name, persistent_volume_claim=PersistentVolumeClaimVolumeSource(
        claim_name=claim_name(t.metadata.name, sts, ordinal))) for t in claim_templates(sts)]
    names = {v.name for v in claimed}
    pod.spec.volumes = claimed + [v for v in pod.spec.volumes or [] if v.name not in names] or None
    return pod


def new_claims(sts: StatefulSet, ordinal: int, set_ref: OwnerReference) -> list[PersistentVolumeClaim]:
    """The ordinal's claims, one per template, labelled with the set's ``matchLabels``; owned by the set from the
    start when the set's deletion should delete them."""
    labels = dict((sts.spec.selector.match_labels if sts.spec.selector else None) or {})
    owner = set_ref if _retention(sts)[0] == "Delete" else None
    return [api.volumes.claim_from_template(t, claim_name(t.metadata.name, sts, ordinal), sts.metadata.namespace,
                                            labels, owner) for t in claim_templates(sts)]


def uses_current_revision(sts: StatefulSet, ordinal: int) -> bool:
    """Whether a pod made now at ``ordinal`` gets the current revision rather than the update revision: below the
    partition of a RollingUpdate (below the pods already current, when ``rollingUpdate`` is unset)."""
    strategy = sts.spec.update_strategy
    if strategy is None or strategy.type != "RollingUpdate":
        return False
    if strategy.rolling_update is None:
        return ordinal < start(sts) + ((sts.status.current_replicas if sts.status else None) or 0)
    return ordinal < start(sts) + (strategy.rolling_update.partition or 0)


def claim_pods(sts: StatefulSet, pods: list[Pod]) -> scaling.Claim:
    """Kubernetes' ControllerRefManager with the StatefulSet's filter: only pods named ``NAME-i`` are the set's;
    an owned pod that is not one (or no longer matches the selector) is released."""
    members = [p for p in pods if is_member(sts, p)]
    out = scaling.claim(sts, members)
    strays = [p for p in pods if not is_member(sts, p) and controller_of(p) is not None
              and controller_of(p).uid == sts.metadata.uid]
    out.release += strays
    return out


# -- the step ---------------------------------------------------------------------------------------------------

@dataclass
class Plan:
    create: list[int] = field(default_factory=list)  # ordinals: their claims first, then the pod
    delete: list[Pod] = field(default_factory=list)
    failed: list[Pod] = field(default_factory=list)  # failed pods among ``delete``: each gets an Event
    relabel: list[Pod] = field(default_factory=list)  # pods missing their identity labels (adopted ones)
    waiting: str = ""  # what OrderedReady waits for, when it stopped early


def healthy(pod: Pod, min_ready: int, now: float) -> bool:
    """Running, Ready (for ``min_ready`` seconds) and not on its way out."""
    return phase(pod) == "Running" and is_available(pod, min_ready, now) and not is_terminating(pod)


def split(sts: StatefulSet, pods: list[Pod]) -> tuple[dict[int, Pod], list[Pod]]:
    """({ordinal: pod} within the range, condemned pods beyond it, lowest ordinal first)."""
    wanted, inside, condemned = ordinals(sts), {}, []
    for pod in pods:
        ordinal = ordinal_of(sts, pod)
        if ordinal is None:
            continue
        if ordinal in wanted:
            inside[ordinal] = pod
        else:
            condemned.append(pod)
    condemned.sort(key=lambda p: ordinal_of(sts, p))
    return inside, condemned


def plan(sts: StatefulSet, pods: list[Pod], update_revision: str, now: float) -> Plan:
    """This sync's step (see the module's docstring); ``pods`` are the set's own."""
    inside, condemned = split(sts, pods)
    ordered = sts.spec.pod_management_policy != "Parallel"
    min_ready = sts.spec.min_ready_seconds or 0
    out = Plan()
    if not _manage(sts, inside, ordered, min_ready, now, out):
        return out
    if not _scale_down(sts, inside, condemned, ordered, min_ready, now, out):
        return out
    strategy = sts.spec.update_strategy
    if strategy is not None and strategy.type == "OnDelete":
        return out
    out.delete += rolling_update(sts, inside, set(out.create) | {ordinal_of(sts, p) for p in out.failed},
                                 update_revision, min_ready, now)
    return out


def _manage(sts: StatefulSet, inside: dict[int, Pod], ordered: bool, min_ready: int, now: float,
            out: Plan) -> bool:
    """The range in order: replace failed pods, create missing ones, wait (OrderedReady) for the unhealthy.
    False when the step ends here."""
    for ordinal in ordinals(sts):
        pod = inside.get(ordinal)
        if pod is None:
            out.create.append(ordinal)
            if ordered:
                out.waiting = f"{pod_name(sts, ordinal)} to be created"
                return False
        elif phase(pod) in ("Failed", "Succeeded") and not is_terminating(pod):
            out.delete.append(pod)
            out.failed.append(pod)
            if ordered:
                out.waiting = f"{pod.metadata.name} to be replaced"
                return False
        elif ordered and not healthy(pod, min_ready, now):
            out.waiting = f"{pod.metadata.name} to be Running and Ready"
            return False
        elif not identity_matches(sts, pod) and not is_terminating(pod):
            out.relabel.append(pod)
    return True


def _scale_down(sts: StatefulSet, inside: dict[int, Pod], condemned: list[Pod], ordered: bool, min_ready: int,
                now: float, out: Plan) -> bool:
    """Condemned pods, highest ordinal first; OrderedReady one at a time, each once the pods below it are
    healthy (an unhealthy pod may go when it is the lowest unhealthy one). False when the step ends here."""
    first_unhealthy = next((p for p in [*(inside[o] for o in sorted(inside)), *condemned]
                            if not healthy(p, min_ready, now)), None)
    for pod in reversed(condemned):
        if is_terminating(pod):
            if ordered:
                out.waiting = f"{pod.metadata.name} to terminate"
                return False
            continue
        if ordered and not healthy(pod, min_ready, now) and pod is not first_unhealthy:
            out.waiting = f"{first_unhealthy.metadata.name} to be Running and Ready before scaling down"
            return False
        out.delete.append(pod)
        if ordered:
            return False
    return True


def max_unavailable(sts: StatefulSet) -> int | None:
    """``rollingUpdate.maxUnavailable`` against the replicas, rounded up and at least 1; None when unset."""
    strategy = sts.spec.update_strategy
    rolling = strategy.rolling_update if strategy else None
    if rolling is None or rolling.max_unavailable is None:
        return None
    return max(1, scaled(rolling.max_unavailable, replicas(sts), True))


def rolling_update(sts: StatefulSet, inside: dict[int, Pod], busy: set[int], update_revision: str, min_ready: int,
                   now: float) -> list[Pod]:
    """The outdated pods to delete now, from the highest ordinal down to the partition. ``busy``: ordinals this
    step already creates or replaces (they count as unavailable)."""
    strategy = sts.spec.update_strategy
    rolling = strategy.rolling_update if strategy else None
    lowest = start(sts) + ((rolling.partition if rolling else None) or 0)
    targets = [o for o in reversed(ordinals(sts)) if o >= lowest]
    budget = max_unavailable(sts)
    if budget is None:
        return _one_at_a_time(inside, busy, targets, update_revision, min_ready, now)
    unavailable = sum(1 for o in ordinals(sts) if o in busy or o not in inside
                      or not healthy(inside[o], min_ready, now))
    outdated = [inside[o] for o in targets if o not in busy and o in inside
                and revision_of(inside[o]) != update_revision and not is_terminating(inside[o])]
    return outdated[:max(0, budget - unavailable)]


def _one_at_a_time(inside: dict[int, Pod], busy: set[int], targets: list[int], update_revision: str,
                   min_ready: int, now: float) -> list[Pod]:
    """Kubernetes' rule without maxUnavailable: the highest outdated pod, once every pod above it is healthy."""
    for ordinal in targets:
        pod = inside.get(ordinal)
        if ordinal in busy or pod is None:
            return []
        if revision_of(pod) != update_revision and not is_terminating(pod):
            return [pod]
        if not healthy(pod, min_ready, now):
            return []
    return []


# -- claims and their owners --------------------------------------------------------------------------------------

def _retention(sts: StatefulSet) -> tuple[str, str]:
    """(whenDeleted, whenScaled), Retain when unset."""
    policy = sts.spec.persistent_volume_claim_retention_policy
    return ((policy.when_deleted if policy else None) or "Retain", (policy.when_scaled if policy else None) or "Retain")


def claim_owners(sts: StatefulSet, claim: PersistentVolumeClaim, pod: Pod, set_ref: OwnerReference,
                 pod_ref: OwnerReference) -> list[OwnerReference] | None:
    """The owner references ``claim`` should carry under the retention policy, None when it already does.

    ``whenDeleted: Delete`` makes the set an owner (the garbage collector deletes the claim with the set);
    ``whenScaled: Delete`` makes the pod an owner once the pod is condemned (deleting it on scale-down deletes
    the claim), and then the set is not one. Other owners are kept."""
    when_deleted, when_scaled = _retention(sts)
    condemned = ordinal_of(sts, pod) not in ordinals(sts)
    want = {set_ref.uid: when_deleted == "Delete" and not (when_scaled == "Delete" and condemned),
            pod_ref.uid: when_scaled == "Delete" and condemned}
    refs = claim.metadata.owner_references or []
    have = {r.uid for r in refs}
    if all((uid in have) == wanted for uid, wanted in want.items()):
        return None
    return [r for r in refs if want.get(r.uid, True)] + [r for r in (set_ref, pod_ref)
                                                         if want[r.uid] and r.uid not in have]


def claim_blocks(claim: PersistentVolumeClaim | None, pod: str) -> str:
    """Why a pod may not be made on ``claim`` yet ("" when it may): a claim being deleted, or one still owned
    by an earlier pod of the same name (scaled down with ``whenScaled: Delete``: its deletion is on its way)."""
    if claim is None:
        return ""
    if is_terminating(claim):
        return f"claim {claim.metadata.name} is being deleted"
    if any(r.kind == "Pod" and r.name == pod for r in claim.metadata.owner_references or []):
        return f"claim {claim.metadata.name} still belongs to an earlier {pod}"
    return ""


# -- status -----------------------------------------------------------------------------------------------------

def status(sts: StatefulSet, pods: list[Pod], current_revision: str, update_revision: str, collisions: int,
           now: float, observed: bool) -> StatefulSetStatus:
    """Counts over the set's pods; once a RollingUpdate has every pod updated and Ready, the update revision
    becomes the current one (what ``kubectl rollout status`` waits for)."""
    min_ready = sts.spec.min_ready_seconds or 0
    members = [p for p in pods if is_member(sts, p)]
    live = [p for p in members if not is_terminating(p)]
    ready = [p for p in members if phase(p) == "Running" and is_ready(p)]
    out = StatefulSetStatus(
        replicas=len(members), ready_replicas=len(ready),
        available_replicas=sum(is_available(p, min_ready, now) for p in ready),
        current_replicas=sum(revision_of(p) == current_revision for p in live),
        updated_replicas=sum(revision_of(p) == update_revision for p in live),
        current_revision=current_revision, update_revision=update_revision, collision_count=collisions)
    strategy = sts.spec.update_strategy
    if strategy is not None and strategy.type == "RollingUpdate" and out.updated_replicas == out.replicas \
            == out.ready_replicas:
        out.current_replicas, out.current_revision = out.updated_replicas, update_revision
    previous = sts.status or StatefulSetStatus()
    out.observed_generation = (sts.metadata.generation or 0) if observed else previous.observed_generation
    out.conditions = previous.conditions
    return out
