"""The HorizontalPodAutoscaler controller on a real API server, without nodes: what it does before any usage is
known. A target above maxReplicas (or below minReplicas) is brought into range at once, with the Kubernetes
Event and status; with no samples to read, the autoscaler says so in its ScalingActive condition and Events and
leaves the target alone; a target that is not there, or cannot be scaled, is reported as FailedGetScale. How
it scales on usage is tests/agent/test_hpa_scaling.py's part, on real containers."""

from __future__ import annotations

import json

import pytest
from support.builders import deployment
from support.cluster import only
from support.wait import Watch, eventually

UP_FLAGS = (*only("garbage-collector", "workload-controllers", "horizontal-pod-autoscaler"),
            "--horizontal-pod-autoscaler-sync-period", "500ms", "--horizontal-pod-autoscaler-downscale-stabilization",
            "1m")


@pytest.fixture(scope="module")
def up_flags() -> tuple[str, ...]:
    return UP_FLAGS


def autoscaler(name: str, target: str, low: int, high: int, kind: str = "Deployment", **spec) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target},
                     "minReplicas": low, "maxReplicas": high, **spec}}


def apply(cluster, ns: str, obj: dict) -> None:
    obj["metadata"]["namespace"] = ns
    cluster.kubectl("apply", "-f", "-", input=json.dumps(obj))


def condition(hpa: dict, kind: str) -> dict:
    return next((c for c in (hpa.get("status") or {}).get("conditions") or [] if c["type"] == kind), {})


def events(cluster, ns: str, name: str) -> list[tuple[str, str, str]]:
    got = json.loads(cluster.kubectl("get", "events", "-n", ns, "--field-selector",
                                     f"involvedObject.name={name},involvedObject.kind=HorizontalPodAutoscaler",
                                     "-o", "json").stdout)
    return [(e["type"], e["reason"], e["message"]) for e in got["items"]]


def wait_hpa(cluster, ns: str, name: str, check, what: str) -> dict:
    return eventually(lambda objs: (h := objs.get(name)) and check(h) and h, 20, what=what,
                      watch=Watch(cluster.kubeconfig, "horizontalpodautoscalers", ns))


def test_target_above_max_is_scaled_down_to_max_and_below_min_up_to_min(cluster):
    ns = cluster.namespace("hpa-range")
    apply(cluster, ns, deployment(replicas=4))
    apply(cluster, ns, autoscaler("web", "my-app", 1, 2))
    hpa = wait_hpa(cluster, ns, "web", lambda h: h["status"].get("desiredReplicas") == 2, "desiredReplicas 2")
    assert hpa["status"]["currentReplicas"] == 4 and hpa["status"].get("lastScaleTime")
    assert condition(hpa, "AbleToScale")["reason"] == "SucceededRescale"
    scale = json.loads(cluster.kubectl("get", "--raw", f"/apis/apps/v1/namespaces/{ns}/deployments/my-app/scale").stdout)
    assert scale["spec"]["replicas"] == 2
    assert ("Normal", "SuccessfulRescale", "New size: 2; reason: Current number of replicas above Spec.MaxReplicas") \
        in events(cluster, ns, "web")

    cluster.kubectl("patch", "hpa", "web", "-n", ns, "--type", "merge", "-p", '{"spec":{"minReplicas":3,"maxReplicas":5}}')
    eventually(lambda: ("Normal", "SuccessfulRescale", "New size: 3; reason: Current number of replicas below "
                        "Spec.MinReplicas") in events(cluster, ns, "web"), 20, what="scaled up to minReplicas")


def test_without_samples_scaling_is_inactive_and_the_target_is_left_alone(cluster):
    ns = cluster.namespace("hpa-nometrics")
    apply(cluster, ns, deployment(replicas=2))
    apply(cluster, ns, autoscaler("web", "my-app", 1, 5))
    hpa = wait_hpa(cluster, ns, "web", lambda h: condition(h, "ScalingActive").get("status") == "False",
                   "ScalingActive False")
    active = condition(hpa, "ScalingActive")
    assert active["reason"] == "FailedGetResourceMetric"
    assert active["message"] == ("the HPA was unable to compute the replica count: failed to get cpu utilization: "
                                 "unable to get metrics for resource cpu: no metrics returned from resource metrics API")
    assert condition(hpa, "AbleToScale")["reason"] == "SucceededGetScale"
    assert hpa["status"]["currentReplicas"] == 2 and hpa["status"]["currentMetrics"] == [{"type": ""}]
    got = eventually(lambda: (e := events(cluster, ns, "web")) and any(r == "FailedComputeMetricsReplicas"
                                                                       for _, r, _ in e) and e, 10,
                     what="FailedComputeMetricsReplicas")
    assert ("Warning", "FailedGetResourceMetric", "failed to get cpu utilization: unable to get metrics for resource "
            "cpu: no metrics returned from resource metrics API") in got
    assert ("Warning", "FailedComputeMetricsReplicas", "invalid metrics (1 invalid out of 1), first error is: failed to "
            "get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: "
            "no metrics returned from resource metrics API") in got
    replicas = json.loads(cluster.kubectl("get", "deploy", "my-app", "-n", ns, "-o", "json").stdout)["spec"]["replicas"]
    assert replicas == 2

    described = cluster.kubectl("describe", "hpa", "web", "-n", ns).stdout
    assert "Reference:" in described and "Deployment/my-app" in described
    assert "ScalingActive  False   FailedGetResourceMetric" in described

    table = cluster.kubectl("get", "hpa", "web", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert table[1].split()[:7] == ["web", "Deployment/my-app", "cpu:", "<unknown>/80%", "1", "5", "2"]


def test_a_missing_or_unscalable_target_fails_to_get_its_scale(cluster):
    ns = cluster.namespace("hpa-target")
    apply(cluster, ns, autoscaler("gone", "nothing", 1, 3))
    hpa = wait_hpa(cluster, ns, "gone", lambda h: condition(h, "AbleToScale").get("status") == "False",
                   "AbleToScale False")
    assert condition(hpa, "AbleToScale")["reason"] == "FailedGetScale"
    assert condition(hpa, "AbleToScale")["message"] == ("the HPA controller was unable to get the target's current "
                                                        'scale: deployments.apps "nothing" not found')
    assert ("Warning", "FailedGetScale", 'deployments.apps "nothing" not found') in events(cluster, ns, "gone")

    apply(cluster, ns, autoscaler("odd", "thing", 1, 3, kind="Widget"))
    hpa = wait_hpa(cluster, ns, "odd", lambda h: condition(h, "AbleToScale").get("status") == "False",
                   "AbleToScale False for an unknown kind")
    assert condition(hpa, "AbleToScale")["message"].endswith('no matches for kind "Widget" in group "apps"')
