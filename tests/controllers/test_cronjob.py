"""CronJobs against a real API server, without waiting for the clock: ``kubectl create cronjob``, ``get`` and
``create job --from=cronjob/NAME``; missed runs (a ``lastScheduleTime`` written hours back through the status
subresource) starting only the most recent one; the starting deadline; Forbid and Replace against a Job listed
as active. The real minute boundaries are in tests/agent/test_cronjob_node.py."""

import datetime as dt
import json
import time

from kubelet_double import batch, template

from portside.controllers import cronjobs


def cronjob(name: str, schedule: str = "0 * * * *", **spec) -> dict:
    tmpl = template({"app": name}, restart="Never")
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule, "timeZone": "UTC", **spec,
                     "jobTemplate": {"spec": {"backoffLimit": 0, "template": tmpl}}}}


def apply(cluster, ns, *objs):
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                    "items": list(objs)}))


def set_status(cluster, ns, name, status):
    cluster.kubectl("patch", "-n", ns, "cronjob", name, "--subresource=status", "--type=merge", "-p",
                    json.dumps({"status": status}))


def hours_ago(hours: int) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:00:00Z")


def hour_job(name: str, moment: dt.datetime) -> str:
    """The Job name of the hourly run at or before ``moment``."""
    return f"{name}-{int(moment.replace(minute=0, second=0, microsecond=0).timestamp()) // 60}"


def events(cluster, ns, name) -> str:
    return cluster.kubectl("get", "events", "-n", ns, "--field-selector", f"involvedObject.name={name}",
                           "-o", "custom-columns=R:.reason,M:.message", "--no-headers").stdout


def test_kubectl_create_get_and_a_job_from_the_cronjob(cluster, harness, k8s):
    ns = cluster.namespace("cj-kubectl")
    harness.kubelet(ns, outcome=lambda pod: "Succeeded")
    cluster.kubectl("create", "cronjob", "tick", "-n", ns, "--image=busybox:1", "--schedule=0 0 1 1 *", "--",
                    "echo", "hi")  # a protobuf body, as kubectl sends it
    header, row = cluster.kubectl("get", "cronjob", "-n", ns).stdout.splitlines()
    assert header.split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    assert row.split()[:8] == ["tick", "0", "0", "1", "1", "*", "<none>", "False"]
    assert cluster.kubectl("get", "cj", "-n", ns, "-o", "name").stdout.split() == ["cronjob.batch/tick"]
    cluster.kubectl("create", "job", "by-hand", "-n", ns, "--from=cronjob/tick")
    job = harness.wait("jobs", ns, lambda o: "by-hand" in o and any(
        c["type"] == "Complete" for c in o["by-hand"].get("status", {}).get("conditions", [])) and o["by-hand"],
        what="the Job made from the CronJob complete")
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]
    read = batch(k8s).read_namespaced_cron_job("tick", ns)  # the official client reads what kubectl made
    assert (read.spec.schedule, read.spec.concurrency_policy, read.spec.successful_jobs_history_limit) == (
        "0 0 1 1 *", "Allow", 3)
    cluster.kubectl("patch", "-n", ns, "cronjob/tick", "--type=merge", "-p", '{"spec":{"suspend":true}}')
    assert cluster.kubectl("get", "cronjob", "-n", ns).stdout.splitlines()[1].split()[7] == "True"
    bad = cluster.kubectl("create", "cronjob", "bad", "-n", ns, "--image=busybox:1", "--schedule=61 * * * *",
                          check=False)
    assert bad.returncode != 0 and "spec.schedule: Invalid value: \"61 * * * *\": minute field '61': 61 is " \
                                   "outside 0-59" in bad.stderr


def test_missed_runs_start_only_the_most_recent_and_history_is_kept(cluster, harness):
    ns = cluster.namespace("cj-missed")
    harness.kubelet(ns, outcome=lambda pod: "Succeeded")
    apply(cluster, ns, cronjob("hourly", successfulJobsHistoryLimit=1), cronjob("strict", startingDeadlineSeconds=30))
    before = dt.datetime.now(dt.UTC)
    set_status(cluster, ns, "hourly", {"lastScheduleTime": hours_ago(200)})
    set_status(cluster, ns, "strict", {"lastScheduleTime": hours_ago(3)})
    candidates = {hour_job("hourly", before), hour_job("hourly", dt.datetime.now(dt.UTC))}
    jobs = harness.wait("jobs", ns, lambda o: set(o) & candidates and o, what="the most recent hour's Job")
    hourly = [j for j in jobs if j.startswith("hourly-")]
    assert len(hourly) == 1, sorted(jobs)  # one run for 200 missed hours
    name = hourly[0]
    cj = harness.wait("cronjobs", ns, lambda o: not o["hourly"]["status"].get("active")
                      and o["hourly"]["status"].get("lastSuccessfulTime") and o["hourly"], what="the run complete")
    assert cj["status"]["lastScheduleTime"] == cronjobs.format_time(
        dt.datetime.fromtimestamp(int(name.rsplit("-", 1)[1]) * 60, dt.UTC))
    text = events(cluster, ns, "hourly")
    assert "TooManyMissedTimes" in text and f"Created job {name}" in text and "SawCompletedJob" in text
    if before.minute or before.second > 30:  # the hour's run is more than 30 s late: the deadline skips it
        assert not [j for j in harness.wait("jobs", ns, lambda o: o) if j.startswith("strict")]

    # a second, later run (this minute's; only in the hour's first minute does it wait for the next boundary);
    # history keeps only the newer one
    cluster.kubectl("patch", "-n", ns, "cronjob/hourly", "--type=merge", "-p", '{"spec":{"schedule":"*/1 * * * *"}}')
    harness.wait("jobs", ns, lambda o: len([j for j in o if j.startswith("hourly")]) == 1
                 and name not in o, timeout=75, what="the older successful Job deleted")
    assert f"Deleted job {name}" in events(cluster, ns, "hourly")


def running_job(cluster, ns, owner: dict, name: str) -> dict:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "ownerReferences": [
        {"apiVersion": "batch/v1", "kind": "CronJob", "name": owner["metadata"]["name"],
         "uid": owner["metadata"]["uid"], "controller": True}]},
        "spec": {"template": template({"app": name}, restart="Never")}}
    apply(cluster, ns, job)
    return json.loads(cluster.kubectl("get", "job", "-n", ns, name, "-o", "json").stdout)


def test_forbid_skips_a_run_while_one_is_active_and_replace_replaces_it(cluster, harness):
    ns = cluster.namespace("cj-policy")
    harness.kubelet(ns)  # pods run and never finish
    apply(cluster, ns, cronjob("forbid", concurrencyPolicy="Forbid"), cronjob("replace", concurrencyPolicy="Replace"))
    for name in ("forbid", "replace"):
        cj = json.loads(cluster.kubectl("get", "cronjob", "-n", ns, name, "-o", "json").stdout)
        job = running_job(cluster, ns, cj, f"{name}-earlier")
        set_status(cluster, ns, name, {"lastScheduleTime": hours_ago(3), "active": [
            {"apiVersion": "batch/v1", "kind": "Job", "namespace": ns, "name": job["metadata"]["name"],
             "uid": job["metadata"]["uid"]}]})
    jobs = harness.wait("jobs", ns, lambda o: "replace-earlier" not in o and len(o) == 2 and o,
                        what="replace's active Job replaced")
    assert "forbid-earlier" in jobs and [j for j in jobs if j.startswith("replace-")] != []
    deadline = time.monotonic() + 10
    while "JobAlreadyActive" not in (text := events(cluster, ns, "forbid")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "Not starting job because prior execution is running and concurrency policy is Forbid" in text
    assert sorted(harness.wait("jobs", ns, lambda o: o)) == sorted(jobs)  # forbid made no second Job
    new = [j for j in jobs if j.startswith("replace-")]
    harness.wait("cronjobs", ns, lambda o: [a["name"] for a in o["replace"]["status"].get("active") or []] == new,
                 what="replace's active list naming only the new Job")
    assert "Deleted job replace-earlier" in events(cluster, ns, "replace")
