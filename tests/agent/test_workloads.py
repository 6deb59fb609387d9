"""Workload controllers over real pods: the Job dependency diamond in order, and a failing dependency failing its
dependents; a rolling update that never drops below replicas - maxUnavailable Ready pods while it rolls."""

from __future__ import annotations

import json
import threading

from support.wait import Watch, eventually

from tests.agent.conftest import ready


def job(name: str, script: str, depends_on: str = "") -> dict:
    annotations = {"portside.io/depends-on": depends_on} if depends_on else {}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "annotations": annotations},
            "spec": {"backoffLimit": 0, "template": {"spec": {
                "restartPolicy": "Never",
                "volumes": [{"name": "log", "hostPath": {"path": "/tmp/ORDER", "type": "DirectoryOrCreate"}}],
                "containers": [{"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                "command": ["sh", "-c", script],
                                "volumeMounts": [{"name": "log", "mountPath": "/log"}]}]}}}}


def diamond(node, tmp_path, b_script: str) -> None:
    """a -> b, a -> c, b + c -> d; each Job appends its name to one shared file when it runs."""
    steps = {"a": "", "b": "a", "c": "a", "d": "b,c"}
    for name, deps in steps.items():
        script = b_script if name == "b" else f"echo {name} >> /log/order; sleep 0.3"
        manifest = json.dumps(job(name, script, deps)).replace("/tmp/ORDER", str(tmp_path / "log"))
        node.apply(manifest)


def conditions(node, name: str) -> dict[str, dict]:
    status = json.loads(node.kubectl("get", "job", name, "-o", "json").stdout).get("status", {})
    return {c["type"]: c for c in status.get("conditions", []) if c["status"] == "True"}


def test_job_diamond_runs_in_dependency_order_on_real_pods(node, tmp_path):
    diamond(node, tmp_path, "echo b >> /log/order; sleep 0.3")
    node.kubectl("wait", "--for=condition=complete", "job/d", "--timeout=60s", timeout=70)
    order = (tmp_path / "log" / "order").read_text().split()
    assert order[0] == "a" and sorted(order[1:3]) == ["b", "c"] and order[3] == "d", order


def test_a_failing_dependency_fails_its_dependents_with_a_reason(node, tmp_path):
    diamond(node, tmp_path, "echo b >> /log/order; exit 3")
    failed = eventually(lambda: conditions(node, "d").get("Failed"), 60, 0.2, "job d failed")
    assert failed["reason"] == "DependencyFailed" and "b" in failed["message"], failed
    eventually(lambda: "Complete" in conditions(node, "c"), 30, 0.2, "job c, which b's failure does not touch, complete")
    assert "d" not in (tmp_path / "log" / "order").read_text().split()  # d never ran
    assert all(p["status"].get("phase") != "Succeeded" for p in node.pods("job-name=d"))


def deployment(version: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "replicas": 3, "minReadySeconds": 1, "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "terminationGracePeriodSeconds": 2,
            "containers": [{"name": "web", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", f"echo {version} > /tmp/v; exec httpd -f -p 8080 -h /tmp"],
                            "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}]}}}}


def ready_count(node) -> int:
    return sum(1 for p in node.pods("app=web") if ready(p) and not p["metadata"].get("deletionTimestamp"))


def test_rolling_update_keeps_replicas_minus_max_unavailable_ready(node):
    node.apply(deployment("v1"))
    eventually(lambda: ready_count(node) == 3, 30, 0.2, "three v1 pods Ready")
    samples: list[int] = []  # Ready, not terminating pods after every watch event: no state goes unseen
    listed = threading.Event()

    def rolled(pods: dict[str, dict]) -> bool:
        live = [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")]
        samples.append(sum(1 for p in live if ready(p)))
        listed.set()
        return len(pods) == 3 and samples[-1] == 3 and all("v2" in p["spec"]["containers"][0]["command"][2]
                                                            for p in live)

    watch = Watch(node.cluster.kubeconfig, "pods", "default", label_selector="app=web")
    failure: list[BaseException] = []
    follower = threading.Thread(target=lambda: _capture(failure, eventually, rolled, 100, what="the rollout to v2",
                                                        watch=watch))
    follower.start()
    try:
        assert listed.wait(30), "the watch of the pods did not start"
        node.apply(deployment("v2"))
        node.kubectl("rollout", "status", "deployment/web", "--timeout=90s", timeout=100)
    finally:
        follower.join(110)
    assert not failure, failure
    assert len(samples) >= 6 and min(samples) >= 3 - 1, samples  # replicas - maxUnavailable
    pods = [p for p in node.pods("app=web") if not p["metadata"].get("deletionTimestamp")]
    assert len(pods) == 3 and all("v2" in p["spec"]["containers"][0]["command"][2] for p in pods)


def _capture(failure: list[BaseException], call, *args, **kw) -> None:
    try:
        call(*args, **kw)
    except BaseException as exc:  # reported by the test itself, after the join
        failure.append(exc)
