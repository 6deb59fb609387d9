"""Self-fencing: a node cut off from the server stops its Job pods by the time they are replaced elsewhere.

A node that cannot renew its Lease is marked Unknown by the server after ``--node-monitor-grace`` seconds and
tainted ``node.kubernetes.io/unreachable:NoExecute``; each pod is evicted once it has tolerated that taint for
its ``tolerationSeconds``, and a Job's replacement then runs on another node. The cut-off node cannot hear of
the eviction, so without fencing the old pod runs on and the Job's work completes twice. The agent therefore
stops a Job pod itself once its last successful renewal is older than grace + the pod's toleration: the point
after which the server may have evicted it. Counting from when that renewal was *sent* (the server heard it no
earlier) keeps the agent's deadline at or before the server's.

Only pods that run to completion (owned by a Job, restartPolicy Never or OnFailure) are fenced. A ReplicaSet's
pods are not (Kubernetes does not fence them either): a duplicate serving a while is harmless, and the agent
removes it when contact returns. A pod that tolerates the taint for good is never evicted, so never fenced.

The grace must match the server's ``--node-monitor-grace`` (``portside agent --node-monitor-grace``; both
default to 5 s): a smaller value fences early (a Job pod fails that would have finished), a larger one leaves a
window in which the Job's work runs twice.
"""

from __future__ import annotations

import math

from portside.api.models import Pod, Toleration

UNREACHABLE = "node.kubernetes.io/unreachable"
RUN_TO_COMPLETION = ("Never", "OnFailure")
TERMINAL = ("Succeeded", "Failed")


def tolerated_for(tolerations: list[Toleration]) -> float | None:
    """Seconds the pod tolerates ``unreachable:NoExecute``: None when not at all, ``math.inf`` for good."""
    best: float | None = None
    for t in tolerations:
        key_matches = t.key == UNREACHABLE or (not t.key and t.operator == "Exists")
        if not key_matches or (t.effect or "NoExecute") != "NoExecute":
            continue
        seconds = math.inf if t.toleration_seconds is None else max(0, t.toleration_seconds)
        best = seconds if best is None else max(best, seconds)
    return best


def fenceable(pod: Pod) -> bool:
    """A pod that runs to completion under a Job and has not ended: the kind whose duplicate does harm."""
    owners = pod.metadata.owner_references or []
    phase = pod.status.phase if pod.status else None
    return (any(o.kind == "Job" for o in owners) and (pod.spec.restart_policy or "Always") in RUN_TO_COMPLETION
            and phase not in TERMINAL)


def deadline(pod: Pod, grace: float) -> float:
    """Seconds after the last renewal at which ``pod`` may be replaced elsewhere (``math.inf``: never)."""
    seconds = tolerated_for(pod.spec.tolerations or [])
    return grace + (seconds if seconds is not None else 0.0)


def to_fence(pods: list[Pod], last_renewed: float, now: float, grace: float) -> list[Pod]:
    """The pods to stop now, the last renewal having been sent at ``last_renewed`` (the clock of ``now``)."""
    silent = now - last_renewed
    return [p for p in pods if fenceable(p) and silent >= deadline(p, grace)]
