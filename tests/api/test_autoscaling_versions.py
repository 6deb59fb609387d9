"""The HorizontalPodAutoscaler's two versions and its defaults: autoscaling/v1 in and out of the stored v2 (the
round-trip annotations Kubernetes uses), v2's defaults, and the ``kubectl get hpa`` row."""

from __future__ import annotations

import copy
import json

from portside import api
from portside.api.conversion import CONDITIONS_ANNOTATION, CURRENT_METRICS_ANNOTATION, METRICS_ANNOTATION

V1 = api.lookup("autoscaling", "v1", "horizontalpodautoscalers")
V2 = api.lookup("autoscaling", "v2", "horizontalpodautoscalers")
REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}


def v1(**spec) -> dict:
    return {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"scaleTargetRef": REF, "maxReplicas": 5, **spec}}


def v2(**spec) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"scaleTargetRef": REF, "maxReplicas": 5, **spec}}


def metric(name: str, **target) -> dict:
    return {"type": "Resource", "resource": {"name": name, "target": target}}


def test_discovery_order_makes_v2_the_stored_and_preferred_version():
    assert V2.is_stored and not V1.is_stored and V1.storage_version == "v2"
    assert api.by_kind("autoscaling", "HorizontalPodAutoscaler") is V2


def test_what_kubectl_autoscale_sends_is_stored_as_v2_and_reads_back_unchanged():
    sent = v1(minReplicas=1, targetCPUUtilizationPercentage=50)
    stored = api.prepare_create(V1, copy.deepcopy(sent))
    assert stored["apiVersion"] == "autoscaling/v2"
    assert stored["spec"]["metrics"] == [metric("cpu", type="Utilization", averageUtilization=50)]
    assert "behavior" not in stored["spec"]
    shown = api.from_stored(V1, stored)
    assert shown == {**sent, "status": {"currentReplicas": 0, "desiredReplicas": 0}}


def test_a_v1_autoscaler_without_a_target_gets_80_percent_cpu():
    stored = api.prepare_create(V1, v1())
    assert stored["spec"]["metrics"] == [metric("cpu", type="Utilization", averageUtilization=80)]
    assert api.from_stored(V1, stored)["spec"]["targetCPUUtilizationPercentage"] == 80


def test_v1_keeps_what_it_cannot_say_in_annotations_and_a_v1_write_loses_nothing():
    memory = metric("memory", type="AverageValue", averageValue="100Mi")
    stored = api.prepare_create(V2, v2(metrics=[memory, metric("cpu", type="Utilization", averageUtilization=60)],
                                       behavior={"scaleDown": {"stabilizationWindowSeconds": 30}}))
    stored["status"] = {"currentReplicas": 2, "desiredReplicas": 3, "currentMetrics": [
        {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "90Mi"}}},
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageValue": "70m", "averageUtilization": 70}}}],
        "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale", "message": "m",
                        "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
    shown = api.from_stored(V1, stored)
    assert shown["spec"]["targetCPUUtilizationPercentage"] == 60
    assert shown["status"] == {"currentReplicas": 2, "desiredReplicas": 3, "currentCPUUtilizationPercentage": 70}
    annotations = shown["metadata"]["annotations"]
    assert json.loads(annotations[METRICS_ANNOTATION]) == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}}]
    assert json.loads(annotations[CURRENT_METRICS_ANNOTATION])[1] == {
        "type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 70, "currentAverageValue": "70m"}}
    assert json.loads(annotations[CONDITIONS_ANNOTATION])[0]["reason"] == "ReadyForNewScale"

    back = api.prepare_update(V1, copy.deepcopy(shown), stored)
    # As in Kubernetes the v1 round trip puts the CPU target last; the status stays (a spec write keeps it)
    assert back["spec"]["metrics"] == [memory, metric("cpu", type="Utilization", averageUtilization=60)]
    assert back["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 30  # v1 cannot say it: kept
    assert "annotations" not in back["metadata"] and back["status"] == stored["status"]

    status_write = api.prepare_status_update(V1, copy.deepcopy(shown), stored)
    assert status_write["status"]["currentMetrics"] == stored["status"]["currentMetrics"]
    assert status_write["status"]["conditions"] == stored["status"]["conditions"]


def test_v2_defaults():
    stored = api.prepare_create(V2, v2(behavior={"scaleDown": {"stabilizationWindowSeconds": 60}}))
    spec = stored["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"] == [metric("cpu", type="Utilization", averageUtilization=80)]
    assert spec["behavior"] == {
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]},
        # no default window: the controller's --horizontal-pod-autoscaler-downscale-stabilization applies
        "scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max", "policies": [
            {"type": "Percent", "value": 100, "periodSeconds": 15}]}}
    assert stored["status"] == {"desiredReplicas": 0}
    assert api.prepare_create(V2, v2())["spec"].get("behavior") is None  # no behavior: none is made up
    assert api.prepare_update(V2, copy.deepcopy(stored), stored) == stored  # defaulting twice changes nothing


def test_a_v1_body_is_checked_against_the_v1_schema():
    warnings: list[str] = []
    api.prepare_create(V1, v1(targetCPUUtilizationPercentage=50, metrics=[]), warnings)
    assert warnings == ['unknown field "spec.metrics"']
    try:
        api.prepare_create(V1, v1(targetCPUUtilizationPercentage="50"))
    except api.Invalid as exc:
        assert [str(c) for c in exc.causes] == ['spec.targetCPUUtilizationPercentage: Invalid value: "string": '
                                                'spec.targetCPUUtilizationPercentage in body must be of type integer: '
                                                '"string"']
    else:
        raise AssertionError("a string percentage was accepted")


def row(obj: dict, status: dict | None = None) -> list:
    return api.table(V2, [{**obj, "status": status or {}}])["rows"][0]["cells"][1:6]


def test_kubectl_get_hpa_row():
    cpu, memory = metric("cpu", type="Utilization", averageUtilization=50), metric("memory", type="AverageValue",
                                                                                   averageValue="100Mi")
    assert row(v2(minReplicas=2, metrics=[cpu])) == ["Deployment/web", "cpu: <unknown>/50%", "2", 5, 0]
    status = {"currentReplicas": 3, "currentMetrics": [
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 42, "averageValue": "21m"}}},
        {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "80Mi"}}}]}
    assert row(v2(metrics=[cpu, memory]), status)[1:] == ["cpu: 42%/50%, memory: 80Mi/100Mi", "<unset>", 5, 3]
    pods = {"type": "Pods", "pods": {"metric": {"name": "q"}, "target": {"type": "AverageValue", "averageValue": "1"}}}
    assert row(v2(metrics=[cpu, memory, pods]))[1] == "cpu: <unknown>/50%, memory: <unknown>/100Mi + 1 more..."
    assert row(v2())[1] == "<none>"
    headers = [c["name"] for c in api.table(V1, [])["columnDefinitions"]]
    assert headers == ["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"]
