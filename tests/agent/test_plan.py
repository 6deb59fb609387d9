"""The pod worker's decisions on data: init order, restart policies, back-off, liveness kills."""

from portside.agent.backoff import Entry, Policy
from portside.agent.model import Run
from portside.agent.plan import Action, Kind, Observed, decide, init_failed

T0 = "2026-01-01T00:00:00.000000000Z"
T5 = "2026-01-01T00:00:05.000000000Z"
AT5 = 1767225605.0


def run(name: str, status: str = "running", code: int = 0, attempt: int = 0) -> Run:
    return Run(cid=f"{name}{attempt}", container=name, attempt=attempt, status=status, exit_code=code,
               started_at=T0, finished_at=T5 if status == "exited" else "")


def obs(*runs: Run, now: float = AT5, **kw) -> Observed:
    return Observed({r.container: r for r in runs}, now, **kw)


def test_init_containers_run_one_at_a_time_in_order_before_any_app_container():
    assert decide(["i1", "i2"], ["app"], "Always", obs()) == [Action(Kind.START, "i1", init=True)]
    assert decide(["i1", "i2"], ["app"], "Always", obs(run("i1"))) == []
    done = run("i1", "exited", 0)
    assert decide(["i1", "i2"], ["app"], "Always", obs(done)) == [Action(Kind.START, "i2", init=True)]
    assert decide(["i1", "i2"], ["app"], "Always", obs(done, run("i2", "exited"))) == [Action(Kind.START, "app")]


def test_a_failed_init_container_fails_the_pod_under_never_and_retries_otherwise():
    failed = run("i1", "exited", 1)
    assert decide(["i1"], ["app"], "Never", obs(failed)) == []
    assert init_failed(["i1"], "Never", {"i1": failed})
    assert decide(["i1"], ["app"], "Always", obs(failed)) == [Action(Kind.START, "i1", init=True)]


def test_restart_policies():
    ok, bad = run("c", "exited", 0), run("c", "exited", 2)
    assert decide([], ["c"], "Always", obs(ok)) == [Action(Kind.START, "c")]
    assert decide([], ["c"], "OnFailure", obs(ok)) == []
    assert decide([], ["c"], "OnFailure", obs(bad)) == [Action(Kind.START, "c")]
    assert decide([], ["c"], "Never", obs(bad)) == []


def test_a_restart_waits_out_its_back_off():
    ended = run("c", "exited", 1, attempt=3)
    held = decide([], ["c"], "Always", obs(ended, now=AT5 + 1, backoff={"c": Entry(20)}))
    assert held == [Action(Kind.WAIT, "c", at=AT5 + 20, reason="CrashLoopBackOff")]
    assert decide([], ["c"], "Always", obs(ended, now=AT5 + 20, backoff={"c": Entry(20)}))[0].kind is Kind.START


def test_a_long_run_restarts_at_once_despite_the_back_off():
    long = Run("c1", "c", 1, "exited", 1, started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:20:00Z")
    got = decide([], ["c"], "Always", Observed({"c": long}, long.finished() + 1, {"c": Entry(300)}, policy=Policy()))
    assert got == [Action(Kind.START, "c")]


def test_a_failed_liveness_probe_kills_the_running_container():
    got = decide([], ["a", "b"], "Always", obs(run("a"), run("b"), unhealthy=frozenset({"b"})))
    assert got == [Action(Kind.KILL, "b", reason="Unhealthy")]


def test_a_changed_image_replaces_the_container_whatever_the_policy():
    old = Run("c0", "c", 0, "running", image="busybox:1")
    assert decide([], ["c"], "Never", obs(old, images={"c": "busybox:2"})) == [Action(Kind.KILL, "c",
                                                                                        reason="ImageChanged")]
    ended = Run("c0", "c", 0, "exited", 137, image="busybox:1", finished_at=T5)
    assert decide([], ["c"], "Never", obs(ended, images={"c": "busybox:2"})) == [Action(Kind.START, "c")]
    assert decide([], ["c"], "Never", obs(ended, images={"c": "busybox:1"})) == []
