"""Job: verdicts on data, then Jobs against a real API server, including depends-on chains held by scheduling
gates."""

import json
import time

import yaml
from kubelet_double import template

from portside.api.models import Job, JobStatus, Pod
from portside.controllers import indexed, jobs


def job_data(completions=3, parallelism=2, backoff=1, deadline=None, annotations=None, restart="Never"):
    spec = {"completions": completions, "parallelism": parallelism, "backoffLimit": backoff,
            "template": {"spec": {"restartPolicy": restart}}}
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    return Job.from_dict({"metadata": {"name": "j", "annotations": annotations or {}}, "spec": spec,
                          "status": {"startTime": "2024-01-01T00:00:00Z"}})


def pod_data(phase, restarts=0):
    return Pod.from_dict({"metadata": {"name": phase}, "status": {"phase": phase, "containerStatuses": [
        {"name": "c", "restartCount": restarts}]}})


NOW = 1704067205.0  # five seconds after the start above


def test_verdicts_complete_backoff_and_deadline():
    done = [pod_data("Succeeded")] * 3
    assert jobs.verdict(job_data(), jobs.count(job_data(), done), jobs.Dependencies(), NOW).kind == "Complete"
    failed = [pod_data("Failed")] * 2
    v = jobs.verdict(job_data(), jobs.count(job_data(), failed), jobs.Dependencies(), NOW)
    assert (v.kind, v.reason) == ("Failed", "BackoffLimitExceeded")
    v = jobs.verdict(job_data(deadline=5), jobs.count(job_data(), []), jobs.Dependencies(), NOW)
    assert (v.kind, v.reason) == ("Failed", "DeadlineExceeded")
    assert jobs.verdict(job_data(deadline=6), jobs.count(job_data(), []), jobs.Dependencies(), NOW).kind == ""


def test_on_failure_restarts_count_against_the_backoff_limit():
    job = job_data(restart="OnFailure")
    running = [pod_data("Running", restarts=2)]
    assert jobs.verdict(job, jobs.count(job, running), jobs.Dependencies(), NOW).reason == "BackoffLimitExceeded"


def test_failure_back_off_doubles_per_failure():
    one = jobs.Counts((), 0, 1, 0, last_failure=NOW)
    assert jobs.backoff_left(one, NOW + 4) == 6.0
    three = jobs.Counts((), 0, 3, 0, last_failure=NOW)
    assert jobs.backoff_left(three, NOW + 4) == 36.0
    assert jobs.backoff_left(jobs.Counts((), 0, 0, 0), NOW) == 0.0
    failed = [Pod.from_dict({"metadata": {}, "status": {"phase": "Failed", "containerStatuses": [
        {"state": {"terminated": {"finishedAt": "2024-01-01T00:00:03Z"}}}]}})]
    assert jobs.count(job_data(), failed).last_failure == NOW - 2


def test_indexes_round_trip_through_the_compressed_form():
    assert indexed.format_indexes({0, 1, 2, 4, 6, 7}) == "0-2,4,6-7"
    assert indexed.parse_indexes("0-2,4,6-7") == {0, 1, 2, 4, 6, 7}
    assert indexed.parse_indexes("") == set() and indexed.format_indexes(set()) == ""


def test_indexed_jobs_count_indexes_and_fill_the_missing_ones():
    job = job_data(completions=4)
    job.status = JobStatus(completed_indexes="0")
    job.spec.completion_mode = "Indexed"
    pods = [Pod.from_dict({"metadata": {"annotations": {indexed.INDEX: i}}, "status": {"phase": phase}})
            for i, phase in (("1", "Succeeded"), ("1", "Succeeded"), ("2", "Running"), ("3", "Failed"))]
    assert indexed.completed(job, pods) == {0, 1}
    assert indexed.missing(job, pods) == [3]
    counts = jobs.count(job, pods)
    assert (counts.succeeded, counts.completed_indexes) == (2, "0-1")
    body = Pod.from_dict({"metadata": {}, "spec": {"containers": [{"name": "c"}]}})
    pod = indexed.stamp(body, "work", 3).to_dict()
    assert body.metadata.generate_name is None  # the template's body stays as it was
    assert pod["metadata"]["generateName"] == "work-3-" and pod["spec"]["hostname"] == "work-3"
    assert pod["metadata"]["annotations"][indexed.INDEX] == "3" == pod["metadata"]["labels"][indexed.INDEX]
    assert pod["spec"]["containers"][0]["env"][0]["name"] == "JOB_COMPLETION_INDEX"


def test_suspension_condition_follows_spec_suspend():
    job = job_data(deadline=1)
    job.spec.suspend = True
    cond = jobs.suspension(job, "t")
    assert (cond.status, cond.reason, cond.message) == ("True", "JobSuspended", "Job suspended")
    assert jobs.deadline_in(job, NOW + 100) is None
    job.status.conditions = [cond]
    assert jobs.suspension(job, "t") is None
    job.spec.suspend = False
    assert jobs.suspension(job, "t").reason == "JobResumed"
    assert jobs.suspension(job_data(), "t") is None


def test_want_active_is_bounded_by_parallelism_and_remaining_completions():
    assert jobs.want_active(job_data(5, 2), jobs.count(job_data(5, 2), [])) == 2
    assert jobs.want_active(job_data(3, 2), jobs.count(job_data(3, 2), [pod_data("Succeeded")] * 2)) == 1
    unbounded = job_data(None, 3)
    assert jobs.want_active(unbounded, jobs.count(unbounded, [pod_data("Succeeded")])) == 0


def test_dependencies_wait_then_fail_on_the_first_failed():
    job = job_data(annotations={jobs.GATE: "a, b"})
    complete = Job.from_dict({"status": {"conditions": [{"type": "Complete", "status": "True"}]}})
    failed = Job.from_dict({"status": {"conditions": [{"type": "Failed", "status": "True"}]}})
    assert jobs.dependencies(job, {"a": complete}).waiting == ("b",)
    assert jobs.dependencies(job, {"a": complete, "b": complete}).met
    deps = jobs.dependencies(job, {"a": complete, "b": failed})
    assert deps.failed == "b"
    assert jobs.verdict(job, jobs.count(job, []), deps, NOW).reason == "DependencyFailed"


def job(name, completions=1, parallelism=1, backoff=6, depends="", **spec):
    meta = {"name": name, "annotations": {jobs.GATE: depends}} if depends else {"name": name}
    tmpl = template({"app": name}, restart="Never")
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": {"completions": completions, "parallelism": parallelism, "backoffLimit": backoff,
                     "template": tmpl, **spec}}


def apply(cluster, ns, *objs):
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump_all(objs))


def condition(j, kind):
    return next((c for c in (j.get("status") or {}).get("conditions") or [] if c["type"] == kind), None)


def finished(name, kind):
    return lambda objs: name in objs and condition(objs[name], kind) and objs[name]


def job_of(pod):
    return pod["metadata"]["labels"]["batch.kubernetes.io/job-name"]


def test_completions_with_parallelism_never_run_more_than_parallel(cluster, harness):
    ns = cluster.namespace("job-parallel")
    harness.kubelet(ns, outcome=lambda pod: "Succeeded", finish_after=0.2)
    apply(cluster, ns, job("work", completions=4, parallelism=2))
    most = []

    def complete(objs):
        most.append(sum((p.get("status") or {}).get("phase") == "Running" for p in objs.values()))
        return len(objs) == 4 and all(p["status"].get("phase") == "Succeeded" for p in objs.values())

    harness.wait("pods", ns, complete, what="4 succeeded pods")
    assert max(most) == 2
    j = harness.wait("jobs", ns, finished("work", "Complete"))
    assert (j["status"]["succeeded"], j["status"]["active"], j["status"]["failed"]) == (4, 0, 0)
    assert j["status"]["completionTime"] >= j["status"]["startTime"]
    pod = next(iter(harness.wait("pods", ns, lambda o: o).values()))
    assert pod["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] == j["metadata"]["uid"]
    described = cluster.kubectl("describe", "-n", ns, "job", "work").stdout
    assert "Completed" in described and "SuccessfulCreate" in described


def test_indexed_job_runs_each_index_once(cluster, harness):
    ns = cluster.namespace("job-indexed")
    harness.kubelet(ns, outcome=lambda pod: "Succeeded", finish_after=0.1)
    apply(cluster, ns, job("shard", completions=3, parallelism=2, completionMode="Indexed"))
    j = harness.wait("jobs", ns, finished("shard", "Complete"), what="indexed job complete")
    assert j["status"]["completedIndexes"] == "0-2" and j["status"]["succeeded"] == 3
    pods = harness.wait("pods", ns, lambda o: o)
    assert sorted(p["metadata"]["annotations"][indexed.INDEX] for p in pods.values()) == ["0", "1", "2"]
    assert sorted(p["spec"]["hostname"] for p in pods.values()) == ["shard-0", "shard-1", "shard-2"]


def test_suspend_stops_pods_and_resume_starts_them_again(cluster, harness):
    ns = cluster.namespace("job-suspend")
    harness.kubelet(ns)
    apply(cluster, ns, job("pausable", completions=2, parallelism=2))
    harness.wait("pods", ns, lambda o: len(o) == 2, what="2 running pods")
    cluster.kubectl("patch", "-n", ns, "job/pausable", "--type=merge", "-p", '{"spec":{"suspend":true}}')
    harness.wait("pods", ns, lambda o: not o, what="pods stopped")
    j = harness.wait("jobs", ns, finished("pausable", "Suspended"))
    assert condition(j, "Suspended")["reason"] == "JobSuspended" and "startTime" not in j["status"]
    cluster.kubectl("patch", "-n", ns, "job/pausable", "--type=merge", "-p", '{"spec":{"suspend":false}}')
    harness.wait("pods", ns, lambda o: len(o) == 2, what="pods again")
    j = harness.wait("jobs", ns, lambda o: condition(o["pausable"], "Suspended")["status"] == "False"
                     and o["pausable"])
    assert condition(j, "Suspended")["reason"] == "JobResumed" and j["status"]["startTime"]


def test_backoff_limit_fails_the_job(cluster, harness):
    ns = cluster.namespace("job-backoff")
    kubelet = harness.kubelet(ns, outcome=lambda pod: "Failed")
    apply(cluster, ns, job("flaky", backoff=1))
    j = harness.wait("jobs", ns, finished("flaky", "Failed"), timeout=25, what="Failed")
    assert condition(j, "Failed")["reason"] == "BackoffLimitExceeded" and j["status"]["failed"] == 2
    (first, _), (second, _) = kubelet.started
    assert second - first >= jobs.FAILURE_BACKOFF_S - 1.5, "the replacement of a failed pod came without back-off"
    assert len(harness.wait("pods", ns, lambda o: o)) == 2
    assert "BackoffLimitExceeded" in cluster.kubectl("describe", "-n", ns, "job", "flaky").stdout


def test_active_deadline_stops_running_pods(cluster, harness):
    ns = cluster.namespace("job-deadline")
    harness.kubelet(ns)
    apply(cluster, ns, job("slow", parallelism=2, completions=2, activeDeadlineSeconds=1))
    j = harness.wait("jobs", ns, finished("slow", "Failed"), timeout=10, what="DeadlineExceeded")
    assert condition(j, "Failed")["reason"] == "DeadlineExceeded"
    harness.wait("pods", ns, lambda o: not o, what="running pods deleted")


def test_ttl_after_finished_deletes_job_and_pods(cluster, harness):
    ns = cluster.namespace("job-ttl")
    harness.kubelet(ns, outcome=lambda pod: "Succeeded")
    apply(cluster, ns, job("brief", ttlSecondsAfterFinished=1))
    harness.wait("jobs", ns, finished("brief", "Complete"))
    harness.wait("jobs", ns, lambda o: not o, timeout=10, what="the Job deleted after its TTL")


def test_diamond_runs_in_dependency_order(cluster, harness):
    ns = cluster.namespace("job-diamond")
    kubelet = harness.kubelet(ns, outcome=lambda pod: "Succeeded", finish_after=0.3)
    apply(cluster, ns, job("d", depends="b,c"), job("b", depends="a"), job("c", depends="a"), job("a"))
    harness.wait("jobs", ns, finished("d", "Complete"), timeout=20, what="d complete")
    order = [job_of(pod) for _, pod in kubelet.started]
    assert order[0] == "a" and order[-1] == "d" and sorted(order[1:3]) == ["b", "c"]
    done = {name: j["status"]["completionTime"] for name, j in harness.wait("jobs", ns, lambda o: o).items()}
    started = {name: j["status"]["startTime"] for name, j in harness.wait("jobs", ns, lambda o: o).items()}
    assert done["a"] <= started["b"] and done["a"] <= started["c"] and max(done["b"], done["c"]) <= started["d"]


def test_failed_dependency_fails_the_dependent_with_a_reason(cluster, harness):
    ns = cluster.namespace("job-depfail")
    kubelet = harness.kubelet(ns, outcome=lambda pod: "Failed" if job_of(pod) == "b" else "Succeeded")
    apply(cluster, ns, job("a"), job("b", depends="a", backoff=0), job("c", depends="a"), job("d", depends="b,c"))
    d = harness.wait("jobs", ns, finished("d", "Failed"), timeout=20, what="d failed")
    cond = condition(d, "Failed")
    assert cond["reason"] == "DependencyFailed" and '"b"' in cond["message"]
    assert "d" not in {job_of(pod) for _, pod in kubelet.started}
    harness.wait("pods", ns, lambda o: not [p for p in o.values() if job_of(p) == "d"], what="d's pods removed")
    assert "DependencyFailed" in cluster.kubectl("describe", "-n", ns, "job", "d").stdout


def test_gated_pods_wait_for_a_dependency_created_later(cluster, harness):
    ns = cluster.namespace("job-later")
    kubelet = harness.kubelet(ns, outcome=lambda pod: "Succeeded")
    apply(cluster, ns, job("after", depends="first"))
    pods = harness.wait("pods", ns, lambda o: len(o) == 1 and o)
    gates = next(iter(pods.values()))["spec"]["schedulingGates"]
    assert gates == [{"name": "portside.io/depends-on"}] and kubelet.started == []
    assert "WaitingForDependencies" in cluster.kubectl("describe", "-n", ns, "job", "after").stdout
    started = time.monotonic()
    apply(cluster, ns, job("first"))
    harness.wait("jobs", ns, finished("after", "Complete"), what="after complete")
    assert time.monotonic() - started < 10


def test_a_dependency_cycle_is_refused_at_admission(cluster, harness):
    ns = cluster.namespace("job-cycle")
    apply(cluster, ns, job("first", depends="second"))
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(job("second", depends="first")),
                          check=False)
    assert out.returncode != 0 and "dependency cycle: second -> first -> second" in out.stderr
    assert list(harness.wait("jobs", ns, lambda o: o)) == ["first"]
