"""CronJobs on a real ``portside up`` node with busybox pods and the real clock: ``*/1 * * * *`` CronJobs created
together and followed across two minute boundaries (at most about two minutes of waiting for the module):

- ``quick`` runs at each boundary and keeps one successful Job (``successfulJobsHistoryLimit: 1``);
- ``failing`` keeps none of its failed Jobs (``failedJobsHistoryLimit: 0``);
- ``slow`` (``concurrencyPolicy: Forbid``) runs longer than a minute, so the second boundary finds it active
  and starts nothing (the ``JobAlreadyActive`` Event).

The schedule arithmetic itself is tested on a fake clock in tests/controllers/test_cronjob_core.py.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from support.require import require
from support.wait import Watch, eventually

from tests.agent.conftest import engine_root, run_node

BOUNDARY_S = 75  # a minute, and the Job's pod to start or end under load


@pytest.fixture(scope="module")
def node(tmp_path_factory, busybox_rootfs_tar):
    require("root", "runc")
    base = tmp_path_factory.mktemp("cj-node")
    root, settings = engine_root(base, busybox_rootfs_tar)
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from run_node(base, root, settings, monkeypatch)


def cronjob(name: str, script: str, **spec) -> dict:
    container = {"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                 "command": ["sh", "-c", script]}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name}, "spec": {
        "schedule": "*/1 * * * *", **spec, "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never", "terminationGracePeriodSeconds": 1, "containers": [container]}}}}}}


def minute_of(job: str) -> int:
    return int(job.rsplit("-", 1)[1])


def of(jobs: dict, cronjob: str) -> list[str]:
    return sorted(j for j in jobs if j.rsplit("-", 1)[0] == cronjob)


def events(node, name: str) -> list[str]:
    out = node.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}",
                       "-o", "custom-columns=R:.reason,M:.message", "--no-headers").stdout
    return out.splitlines()


def test_every_minute_with_history_limits_and_forbid(node):
    items = [cronjob("quick", "echo done", successfulJobsHistoryLimit=1),
             cronjob("failing", "exit 3", failedJobsHistoryLimit=0),
             cronjob("slow", "sleep 80", concurrencyPolicy="Forbid")]
    node.apply({"apiVersion": "v1", "kind": "List", "items": items})
    jobs = Watch(node.cluster.kubeconfig, "jobs", "default")
    first = eventually(lambda o: len(of(o, "quick")) == 1 and len(of(o, "slow")) == 1 and o, BOUNDARY_S,
                       what="the first boundary's Jobs", watch=jobs)
    boundary = minute_of(of(first, "quick")[0])
    assert minute_of(of(first, "slow")[0]) == boundary
    assert dt.datetime.fromtimestamp(boundary * 60, dt.UTC) <= dt.datetime.now(dt.UTC)

    quick = eventually(lambda o: (o["quick"].get("status") or {}).get("lastSuccessfulTime") and o["quick"], 60,
                       what="quick's first run complete", watch=Watch(node.cluster.kubeconfig, "cronjobs", "default"))
    assert quick["status"]["lastScheduleTime"] == dt.datetime.fromtimestamp(boundary * 60, dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    eventually(lambda: any(e.startswith("SuccessfulDelete") and "failing-" in e for e in events(node, "failing")),
               60, 0.5, "failing's failed Job deleted (its history limit is 0)")

    second = eventually(lambda o: [minute_of(j) for j in of(o, "quick")] == [boundary + 1] and o,
                        BOUNDARY_S + 30, what="quick's second run, and its first deleted (history limit 1)",
                        watch=jobs)
    assert of(second, "slow") == [f"slow-{boundary}"]  # Forbid: nothing while the first still runs
    eventually(lambda: any(e.startswith("JobAlreadyActive") for e in events(node, "slow")), 30, 0.5,
               "slow's skipped run reported")
    slow = json.loads(node.kubectl("get", "cronjob", "slow", "-o", "json").stdout)
    assert [a["name"] for a in slow["status"]["active"]] == [f"slow-{boundary}"]
    row = node.kubectl("get", "cronjob", "slow").stdout.splitlines()[1].split()
    assert row[:6] == ["slow", "*/1", "*", "*", "*", "*"] and row[6:9] == ["<none>", "False", "1"]
    assert any(f"Deleted job quick-{boundary}" in e for e in events(node, "quick"))
