"""The CronJob's decisions on a fake clock: the most recent unmet time (and how many were missed), the starting
deadline, the concurrency policies, the Job for a run and its name, the active list against the Jobs seen, and
the history limits. No test here waits for a real minute."""

import datetime as dt
import zoneinfo

from portside.api import cron
from portside.api.models import CronJob, Job, OwnerReference
from portside.controllers import cronjobs

UTC = dt.UTC
CREATED = "2027-01-15T08:00:30Z"


def at(hour, minute, second=0):
    return dt.datetime(2027, 1, 15, hour, minute, second, tzinfo=UTC)


def cronjob(schedule="*/1 * * * *", policy="Allow", deadline=None, last=None, active=(), **spec):
    status = {"active": [{"kind": "Job", "name": n, "namespace": "ns", "uid": n} for n in active]}
    if last:
        status["lastScheduleTime"] = last
    return CronJob.from_dict({"metadata": {"name": "tick", "namespace": "ns", "uid": "cj",
                                           "creationTimestamp": CREATED},
                              "spec": {"schedule": schedule, "concurrencyPolicy": policy,
                                       "startingDeadlineSeconds": deadline, **spec,
                                       "jobTemplate": {"metadata": {"labels": {"team": "a"}},
                                                       "spec": {"backoffLimit": 0, "template": {"spec": {
                                                           "restartPolicy": "Never"}}}}},
                              "status": status})


def decide(cj, now):
    return cronjobs.decide(cj, cron.parse(cj.spec.schedule), now)


def test_nothing_is_due_before_the_first_time_after_creation():
    d = decide(cronjob(), at(8, 0, 59))
    assert d.action == cronjobs.NOTHING and d.scheduled is None
    assert cronjobs.wake_in(cronjob(), cron.parse("*/1 * * * *"), at(8, 0, 59)) == 1 + cronjobs.WAKE_AFTER_S


def test_the_due_time_starts_a_job_named_by_its_minute():
    cj = cronjob()
    d = decide(cj, at(8, 1, 2))
    assert (d.action, d.scheduled) == (cronjobs.CREATE, at(8, 1))
    assert cronjobs.job_name(cj, at(8, 1)) == f"tick-{int(at(8, 1).timestamp()) // 60}"
    done = cronjob(last="2027-01-15T08:01:00Z")
    assert decide(done, at(8, 1, 30)).action == cronjobs.NOTHING
    assert cronjobs.wake_in(done, cron.parse("*/1 * * * *"), at(8, 1, 30)) == 30 + cronjobs.WAKE_AFTER_S


def test_missed_runs_start_only_the_most_recent_and_many_are_reported():
    hourly = cronjob("0 * * * *", last="2027-01-15T03:00:00Z")
    d = decide(hourly, at(8, 20))
    assert (d.action, d.scheduled, d.too_many_missed) == (cronjobs.CREATE, at(8, 0), False)
    unmet = cronjobs.most_recent(hourly, cron.parse("0 * * * *"), at(8, 20), deadline=True)
    assert unmet.missed == 5
    ancient = cronjob(last="2027-01-14T08:00:00Z")  # a day of minutes
    d = decide(ancient, at(8, 20, 5))
    assert (d.scheduled, d.too_many_missed) == (at(8, 20), True)


def test_the_starting_deadline_skips_late_runs_and_bounds_the_missed_count():
    late = cronjob("0 * * * *", deadline=60, last="2027-01-15T07:00:00Z")
    assert decide(late, at(8, 0, 50)).action == cronjobs.CREATE
    # past the deadline the run is not even considered: the window starts a minute back
    assert decide(late, at(8, 5)).action == cronjobs.NOTHING
    every_minute = cronjob(deadline=30, last="2027-01-14T08:00:00Z")
    d = decide(every_minute, at(8, 20, 40))
    assert d.action == cronjobs.NOTHING and not d.too_many_missed  # 8:20 is 40 s late: beyond 30 s
    d = decide(cronjob("0 * * * *", deadline=3600), at(8, 30))
    assert d.action == cronjobs.NOTHING  # created at 8:00:30; the next hour has not come
    tight = cronjob("*/5 * * * *", deadline=10, last="2027-01-15T08:00:00Z")
    assert decide(tight, at(8, 5, 9)).action == cronjobs.CREATE
    assert decide(tight, at(8, 5, 11)).action == cronjobs.NOTHING  # a Forbid that held it past 10 s skips it


def test_concurrency_policies():
    due = at(8, 2, 1)
    forbid = cronjob(policy="Forbid", last="2027-01-15T08:01:00Z", active=["tick-1"])
    assert decide(forbid, due).action == cronjobs.ALREADY_ACTIVE
    replace = cronjob(policy="Replace", last="2027-01-15T08:01:00Z", active=["tick-1"])
    d = decide(replace, due)
    assert d.action == cronjobs.CREATE and [r.name for r in d.replace] == ["tick-1"]
    allow = cronjob(last="2027-01-15T08:01:00Z", active=["tick-1"])
    d = decide(allow, due)
    assert d.action == cronjobs.CREATE and d.replace == ()
    name = cronjobs.job_name(allow, at(8, 2))
    assert decide(cronjob(active=[name], last="2027-01-15T08:01:00Z"), due).action == cronjobs.DONE


def test_the_job_of_a_run():
    owner = OwnerReference(api_version="batch/v1", kind="CronJob", name="tick", uid="cj", controller=True)
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    job = cronjobs.job_for(cronjob(), at(8, 2), berlin, owner).to_dict()
    assert job["metadata"]["name"] == cronjobs.job_name(cronjob(), at(8, 2))
    assert job["metadata"]["labels"] == {"team": "a"}
    assert job["metadata"]["annotations"] == {cronjobs.SCHEDULED_AT: "2027-01-15T09:02:00+01:00"}
    assert job["metadata"]["ownerReferences"][0]["uid"] == "cj" and job["spec"]["backoffLimit"] == 0
    utc = cronjobs.job_for(cronjob(), at(8, 2), UTC, owner).to_dict()
    assert utc["metadata"]["annotations"][cronjobs.SCHEDULED_AT] == "2027-01-15T08:02:00Z"


def job(name, state="", start="2027-01-15T08:00:00Z", done=None):
    status = {"startTime": start}
    if state:
        status["conditions"] = [{"type": state, "status": "True"}]
    if done:
        status["completionTime"] = done
    return Job.from_dict({"metadata": {"name": name, "uid": name, "namespace": "ns"}, "status": status})


def test_children_against_the_active_list():
    cj = cronjob(active=["running", "finished", "gone"])
    kids = cronjobs.children(cj, [job("running"), job("finished", "Complete", done="2027-01-15T08:03:00Z"),
                                  job("by-hand"), job("old", "Complete", done="2027-01-15T07:00:00Z")])
    assert [r.name for r in kids.active] == ["running", "gone"]
    assert [(j.metadata.name, s) for j, s in kids.ended] == [("finished", "Complete")]
    assert [j.metadata.name for j in kids.unexpected] == ["by-hand"]
    assert [r.name for r in kids.missing] == ["gone"]
    assert kids.last_successful == "2027-01-15T08:03:00Z"


def test_history_limits_delete_the_oldest_finished_jobs():
    cj = cronjob(successfulJobsHistoryLimit=1, failedJobsHistoryLimit=0)
    jobs = [job("ok-1", "Complete", "2027-01-15T08:01:00Z"), job("ok-3", "Complete", "2027-01-15T08:03:00Z"),
            job("ok-2", "Complete", "2027-01-15T08:02:00Z"), job("bad", "Failed"), job("running")]
    assert [j.metadata.name for j in cronjobs.history_to_delete(cj, jobs)] == ["ok-1", "ok-2", "bad"]
    unlimited = cronjob()
    assert cronjobs.history_to_delete(unlimited, jobs) == []
