"""HorizontalPodAutoscaler rules, worded as Kubernetes words them (pkg/apis/autoscaling/validation)."""

import pytest

from tests.api.messages import messages


def hpa(**spec: object) -> dict:
    base = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5}
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"}, "spec": {**base, **spec}}


def cpu(**target: object) -> list[dict]:
    return [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]


def rules(**fields: object) -> dict:
    return {"behavior": {"scaleDown": fields}}


@pytest.mark.parametrize("spec", [
    {},
    {"minReplicas": 2, "maxReplicas": 2},
    {"metrics": cpu(type="Utilization", averageUtilization=50)},
    {"metrics": [{"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                                  "averageValue": "100Mi"}}}]},
    {"metrics": [{"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app", "target": {"type": "Utilization", "averageUtilization": 60}}}]},
    {"metrics": [{"type": "Pods", "pods": {"metric": {"name": "requests"},
                                           "target": {"type": "AverageValue", "averageValue": "10"}}}]},
    {"metrics": [{"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value",
                                                                                           "value": "30"}}}]},
    {"behavior": {"scaleUp": {"selectPolicy": "Disabled"}, "scaleDown": {"stabilizationWindowSeconds": 0}}},
])
def test_valid_autoscalers(spec):
    assert messages(hpa(**spec)) == []


@pytest.mark.parametrize(("spec", "expected"), [
    ({"minReplicas": 0}, ["spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"]),
    ({"maxReplicas": 0}, ["spec.maxReplicas: Invalid value: 0: must be greater than 0"]),
    ({"minReplicas": 4, "maxReplicas": 3},
     ["spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`"]),
    ({"scaleTargetRef": {"name": "web/x"}},
     ["spec.scaleTargetRef.kind: Required value", "spec.scaleTargetRef.name: Invalid value: \"web/x\": may not "
      "contain '/'"]),
    ({"metrics": cpu(type="Utilization", averageUtilization=0)},
     ["spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0"]),
    ({"metrics": cpu(type="Utilization")},
     ["spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value or a "
      "target utilization"]),
    ({"metrics": cpu(type="Utilization", averageUtilization=50, averageValue="100m")},
     ["spec.metrics[0].resource.target.averageValue: Forbidden: may not set both a target raw value and a target "
      "utilization"]),
    ({"metrics": cpu(type="Percent", averageValue="-1")},
     ['spec.metrics[0].resource.target.type: Invalid value: "Percent": must be either Utilization, Value, or '
      'AverageValue', 'spec.metrics[0].resource.target.averageValue: Invalid value: "-1": must be positive']),
    ({"metrics": [{"type": "Resource"}]},
     ["spec.metrics[0].resource: Required value: must populate information for the given metric source"]),
    ({"metrics": [{"type": "Cpu", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                          "averageUtilization": 50}}}]},
     ['spec.metrics[0].type: Unsupported value: "Cpu": supported values: "ContainerResource", "External", '
      '"Object", "Pods", "Resource"']),
    ({"metrics": [{"type": "Pods", "pods": {"metric": {"name": "q"}, "target": {"type": "AverageValue",
                                                                                "averageValue": "1"}},
                   "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 1}}}]},
     ["spec.metrics[0].resource: Forbidden: must populate the given metric source only"]),
    ({"metrics": [{"type": "ContainerResource", "containerResource": {
        "name": "gpu", "container": "App", "target": {"type": "Utilization", "averageUtilization": 60}}}]},
     ['spec.metrics[0].containerResource.name: Invalid value: "gpu": must be a standard resource for containers',
      'spec.metrics[0].containerResource.container: Invalid value: "App": a lowercase RFC 1123 label must consist '
      "of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. "
      "'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]),
    ({"metrics": [{"type": "Pods", "pods": {"metric": {}, "target": {"type": "Value", "value": "1"}}}]},
     ["spec.metrics[0].pods.metric.name: Required value: must specify a metric name",
      "spec.metrics[0].pods.target.averageValue: Required value: must specify a positive target averageValue"]),
    (rules(stabilizationWindowSeconds=3601),
     ["spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 3601: must be less than or equal to 3600"]),
    (rules(stabilizationWindowSeconds=-1),
     ["spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: -1: must be greater than or equal to zero"]),
    (rules(selectPolicy="Fastest"),
     ['spec.behavior.scaleDown.selectPolicy: Unsupported value: "Fastest": supported values: "Disabled", "Max", '
      '"Min"']),
    (rules(policies=[]), ["spec.behavior.scaleDown.policies: Required value: must specify at least one Policy"]),
    (rules(policies=[{"type": "Nodes", "value": 0, "periodSeconds": 1801}]),
     ['spec.behavior.scaleDown.policies[0].type: Unsupported value: "Nodes": supported values: "Percent", "Pods"',
      "spec.behavior.scaleDown.policies[0].value: Invalid value: 0: must be greater than zero",
      "spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 1801: must be less than or equal to 1800"]),
])
def test_invalid_autoscalers(spec, expected):
    assert messages(hpa(**spec)) == expected


def test_status_counts_are_never_negative():
    from portside import api
    info = api.lookup("autoscaling", "v2", "horizontalpodautoscalers")
    old = api.prepare_create(info, hpa())
    with pytest.raises(api.Invalid, match="status.desiredReplicas: Invalid value: -1: must be greater than or equal"):
        api.prepare_status_update(info, {**old, "status": {"desiredReplicas": -1}}, old)
