"""Pod status on data: phases, conditions, container states and reasons, unchanged status compares equal."""

from portside.agent import status
from portside.agent.model import Run
from portside.agent.status import Facts
from portside.api.models import PodStatus

NOW, LATER = "2026-01-01T00:00:10Z", "2026-01-01T00:09:00Z"


def compute(facts: Facts, old: dict, now: str) -> dict:
    """The status as its wire dict (what the API stores) from and to the typed core."""
    return status.compute(facts, PodStatus.from_dict(old), now).to_dict()


def run(name="c", status="running", code=0, attempt=0, oom=False) -> Run:
    return Run(f"{name}{attempt}", name, attempt, status, code, oom, "2026-01-01T00:00:00Z",
               "2026-01-01T00:00:05Z" if status == "exited" else "")


def facts(*runs, apps=("c",), init=(), policy="Always", **kw) -> Facts:
    return Facts(list(init), list(apps), {"c": "busybox"}, policy, list(runs), pod_ip="10.1.0.2",
                 host_ip="127.0.0.1", **kw)


def cond(status: dict, kind: str) -> str:
    return next(c["status"] for c in status["conditions"] if c["type"] == kind)


def test_a_running_container_without_probes_is_ready():
    s = compute(facts(run()), {}, NOW)
    assert s["phase"] == "Running" and s["podIP"] == "10.1.0.2"
    assert [cond(s, k) for k in ("PodScheduled", "Initialized", "ContainersReady", "Ready")] == ["True"] * 4
    c = s["containerStatuses"][0]
    assert (c["ready"], c["started"], c["restartCount"], c["state"]) == (
        True, True, 0, {"running": {"startedAt": "2026-01-01T00:00:00Z"}})


def test_readiness_verdict_decides_ready():
    s = compute(facts(run(), ready={"c": False}), {}, NOW)
    assert cond(s, "Ready") == "False" and not s["containerStatuses"][0]["ready"]


def test_restart_shows_the_ended_run_as_last_state_with_its_reason():
    s = compute(facts(run(status="exited", oom=True, code=137), run(attempt=1)), {}, NOW)
    c = s["containerStatuses"][0]
    assert c["restartCount"] == 1
    assert c["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert c["lastState"]["terminated"]["exitCode"] == 137


def test_crash_loop_waits_with_the_ended_run_as_last_state():
    s = compute(facts(run(status="exited", code=1, attempt=2), waiting={"c": ("CrashLoopBackOff", "back-off")}),
                {}, NOW)
    c = s["containerStatuses"][0]
    assert c["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}
    assert c["lastState"]["terminated"]["reason"] == "Error" and s["phase"] == "Running"


def test_waiting_reasons_before_any_run():
    s = compute(facts(waiting={"c": ("ErrImagePull", "no such image")}), {}, NOW)
    assert s["phase"] == "Pending"
    assert s["containerStatuses"][0]["state"]["waiting"]["reason"] == "ErrImagePull"


def test_phases_of_finished_pods():
    assert compute(facts(run(status="exited"), policy="Never"), {}, NOW)["phase"] == "Succeeded"
    assert compute(facts(run(status="exited", code=3), policy="Never"), {}, NOW)["phase"] == "Failed"
    assert compute(facts(run(status="exited", code=3), policy="OnFailure"), {}, NOW)["phase"] == "Running"
    done = compute(facts(run(status="exited"), policy="Never"), {}, NOW)
    assert done["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"


def test_init_containers_hold_initialized_and_the_phase():
    s = compute(facts(run("i"), init=("i",)), {}, NOW)
    assert (s["phase"], cond(s, "Initialized")) == ("Pending", "False")
    assert s["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    failed = compute(facts(run("i", "exited", 1), init=("i",), policy="Never", init_failed=True), {}, NOW)
    assert failed["phase"] == "Failed"


def test_recomputing_the_same_facts_changes_nothing_and_keeps_transition_times():
    first = compute(facts(run()), {}, NOW)
    assert compute(facts(run()), first, LATER) == first
    flipped = compute(facts(run(), ready={"c": False}), first, LATER)
    times = {c["type"]: c["lastTransitionTime"] for c in flipped["conditions"]}
    assert times == {"PodScheduled": NOW, "Initialized": NOW, "ContainersReady": LATER, "Ready": LATER}
