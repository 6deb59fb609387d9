"""Proportional scaling, pure: when a Deployment's replicas change in the middle of a rollout (or while it is
paused), every active ReplicaSet grows or shrinks in proportion to its share, so the rollout keeps its progress
instead of starting over. Kubernetes' ``deployment/sync.go`` (``scale``) is the precedent.

Each ReplicaSet remembers, in the ``max-replicas`` annotation, the Deployment size (plus surge) it was last scaled
for; its share of the new size is ``replicas * new_max / old_max``. What rounding leaves over goes to the largest.
"""

from __future__ import annotations

import math

from portside.api.models import Deployment, ReplicaSet
from portside.controllers.pods import annotations, desired
from portside.controllers.rollout import DESIRED, MAX_REPLICAS, bounds, replicas


def is_scaling_event(deployment: Deployment, active: list[ReplicaSet]) -> bool:
    """A ReplicaSet was sized for another replica count than the Deployment now asks for."""
    want = str(desired(deployment))
    return any(annotations(rs).get(DESIRED, want) != want for rs in active)


def _annotated_max(rs: ReplicaSet, fallback: int) -> int:
    value = annotations(rs).get(MAX_REPLICAS, "")
    return int(value) if value.isdigit() else fallback


def _share(rs: ReplicaSet, deployment: Deployment, total_now: int) -> int:
    """How many pods ``rs`` gains (or loses, negative) for the Deployment's new size."""
    want = desired(deployment)
    if want == 0:
        return -replicas(rs)
    allowed, before = want + bounds(deployment)[0], _annotated_max(rs, total_now)
    if before == 0:
        return 0
    return math.floor(replicas(rs) * allowed / before + 0.5) - replicas(rs)


def _created(rs: ReplicaSet) -> str:
    return rs.metadata.creation_timestamp or ""


def _active_or_latest(new: ReplicaSet | None, old: list[ReplicaSet]) -> ReplicaSet | None:
    active = [rs for rs in old + ([new] if new else []) if replicas(rs)]
    if len(active) == 1:
        return active[0]
    if active:
        return None
    return new or max(old, key=_created, default=None)


def proportional_sizes(deployment: Deployment, new: ReplicaSet | None, old: list[ReplicaSet]) -> dict[str, int]:
    """The size of every active ReplicaSet (or of the only/latest one) for the Deployment's replicas."""
    want = desired(deployment)
    single = _active_or_latest(new, old)
    if single is not None:
        return {single.metadata.name: want}
    active = [rs for rs in old + ([new] if new else []) if replicas(rs)]
    if not active:
        return {}
    total = sum(replicas(rs) for rs in active)
    to_add = (want + bounds(deployment)[0] if want > 0 else 0) - total
    by_age = sorted(active, key=_created, reverse=to_add > 0)
    order = sorted(by_age, key=replicas, reverse=True)  # stable: among equal sizes, grow the newer, shrink the older
    sizes, added = {}, 0
    for rs in order:
        share = _share(rs, deployment, total) if to_add else 0
        share = min(share, to_add - added) if to_add > 0 else max(share, to_add - added)
        sizes[rs.metadata.name], added = replicas(rs) + share, added + share
    first = order[0].metadata.name
    sizes[first] = max(0, sizes[first] + to_add - added)
    return sizes

