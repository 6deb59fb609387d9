"""The self-fencing decision on data: which of a cut-off node's pods to stop, and when."""

import math

from portside.agent.fence import UNREACHABLE, deadline, to_fence, tolerated_for
from portside.api.models import Pod, Toleration

GRACE = 5.0


def pod(name: str, owner: str = "Job", restart: str = "Never", seconds: int | None = 10, phase: str = "Running",
        tolerations: list[dict] | None = None) -> Pod:
    if tolerations is None:
        tolerations = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                        **({} if seconds is None else {"tolerationSeconds": seconds})}]
    return Pod.from_dict({
        "metadata": {"name": name, "namespace": "ns", "uid": f"u-{name}",
                     "ownerReferences": [{"apiVersion": "batch/v1" if owner == "Job" else "apps/v1", "kind": owner,
                                          "name": "o", "uid": "o-1", "controller": True}] if owner else []},
        "spec": {"restartPolicy": restart, "tolerations": tolerations,
                 "containers": [{"name": "work", "image": "busybox"}]},
        "status": {"phase": phase}})


def names(pods: list[Pod]) -> list[str]:
    return [p.metadata.name for p in pods]


def test_a_job_pod_is_fenced_once_silent_for_the_grace_plus_its_toleration_and_not_before():
    pods = [pod("job")]
    assert to_fence(pods, last_renewed=100.0, now=114.9, grace=GRACE) == []
    assert names(to_fence(pods, last_renewed=100.0, now=115.0, grace=GRACE)) == ["job"]
    assert names(to_fence([pod("short", seconds=0)], 100.0, 105.0, GRACE)) == ["short"]
    assert to_fence([pod("short", seconds=0)], 100.0, 104.0, GRACE) == []


def test_the_grace_is_the_agent_s_setting():
    assert to_fence([pod("job")], 100.0, 115.0, grace=8.0) == []
    assert names(to_fence([pod("job")], 100.0, 118.0, grace=8.0)) == ["job"]


def test_only_job_pods_that_run_to_completion_and_have_not_ended_are_fenced():
    pods = [pod("job"), pod("retry", restart="OnFailure"), pod("rs", owner="ReplicaSet", restart="Always"),
            pod("bare", owner=""), pod("always", restart="Always"), pod("done", phase="Succeeded"),
            pod("failed", phase="Failed")]
    assert names(to_fence(pods, 0.0, 1000.0, GRACE)) == ["job", "retry"]


def test_a_pod_that_tolerates_unreachable_for_good_is_never_fenced():
    forever = pod("forever", seconds=None)
    assert deadline(forever, GRACE) == math.inf
    assert to_fence([forever], 0.0, 1e9, GRACE) == []
    wildcard = pod("wildcard", tolerations=[{"operator": "Exists"}])
    assert to_fence([wildcard], 0.0, 1e9, GRACE) == []


def test_the_longest_matching_toleration_counts_and_others_are_ignored():
    tol = [Toleration.from_dict(t) for t in (
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10},
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 600},
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"})]
    assert tolerated_for(tol) == 30
    assert tolerated_for([]) is None
    untolerated = pod("untolerated", tolerations=[])  # evicted as soon as the node is Unknown
    assert deadline(untolerated, GRACE) == GRACE
