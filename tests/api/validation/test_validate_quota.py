"""ResourceQuota and LimitRange rules, worded as Kubernetes words them."""

import pytest

from tests.api.messages import messages, update_messages


def quota(**spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "default"},
            "spec": spec}


def limits(*items: dict) -> dict:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l", "namespace": "default"},
            "spec": {"limits": list(items)}}


@pytest.mark.parametrize("spec", [
    {"hard": {"requests.cpu": "2", "limits.memory": "4Gi", "pods": "10", "services.nodeports": "0"}},
    {"hard": {"count/deployments.apps": "3", "count/pods": "5", "gold.storageclass.storage.k8s.io/requests.storage":
              "10Gi", "requests.example.com/gpu": "2", "hugepages-2Mi": "1Gi"}},
    {"hard": {"pods": "5", "requests.cpu": "1"}, "scopes": ["NotTerminating", "NotBestEffort"]},
    {"hard": {"pods": "5"}, "scopes": ["BestEffort"]},
    {"hard": {"pods": "5"}, "scopeSelector": {"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}},
    {},
])
def test_valid_quotas(spec):
    assert messages(quota(**spec)) == []


@pytest.mark.parametrize(("spec", "expected"), [
    ({"hard": {"pods": "-1"}}, ['spec.hard[pods]: Invalid value: "-1": must be greater than or equal to 0']),
    ({"hard": {"pods": "1500m"}}, ['spec.hard[pods]: Invalid value: "1500m": must be an integer']),
    ({"hard": {"count/pods": "2.5"}}, ['spec.hard[count/pods]: Invalid value: "2500m": must be an integer']),
    ({"hard": {"gpus": "1"}}, ['spec.hard[gpus]: Invalid value: "gpus": must be a standard resource type or fully '
                               'qualified']),
    ({"hard": {"storage": "1Gi"}}, ['spec.hard[storage]: Invalid value: "storage": must be a standard resource for '
                                    'quota']),
    ({"hard": {"pods": "1"}, "scopes": ["Sometimes"]}, ['spec.scopes: Invalid value: []["Sometimes"]: unsupported '
                                                        'scope']),
    ({"hard": {"services": "1"}, "scopes": ["Terminating"]},
     ['spec.scopes: Invalid value: []["Terminating"]: unsupported scope applied to resource']),
    ({"hard": {"requests.cpu": "1"}, "scopes": ["BestEffort"]},
     ['spec.scopes: Invalid value: []["BestEffort"]: unsupported scope applied to resource']),
    ({"hard": {"pods": "1"}, "scopes": ["Terminating", "NotTerminating"]},
     ['spec.scopes: Invalid value: []["Terminating", "NotTerminating"]: conflicting scopes']),
    ({"hard": {"pods": "1"}, "scopeSelector": {"matchExpressions": [
        {"scopeName": "BestEffort", "operator": "In", "values": ["x"]}]}},
     ["spec.scopeSelector.matchExpressions.operator: Invalid value: \"In\": must be 'Exist' when scope is any of "
      "ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, "
      "ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"]),
    ({"hard": {"pods": "1"}, "scopeSelector": {"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "NotIn"}]}},
     ["spec.scopeSelector.matchExpressions.values: Required value: must be at least one value when `operator` is "
      "'In' or 'NotIn' for scope selector"]),
    ({"hard": {"pods": "1"}, "scopeSelector": {"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "Near", "values": ["a"]}]}},
     ['spec.scopeSelector.matchExpressions.operator: Invalid value: "Near": not a valid selector operator']),
])
def test_invalid_quotas(spec, expected):
    assert messages(quota(**spec)) == expected


def test_scopes_never_change():
    old = quota(hard={"pods": "1"}, scopes=["NotTerminating"])
    assert update_messages(quota(hard={"pods": "2"}, scopes=["NotTerminating"]), old) == []
    assert update_messages(quota(hard={"pods": "1"}, scopes=["Terminating"]), old) == [
        'spec.scopes: Invalid value: []["Terminating"]: field is immutable']


@pytest.mark.parametrize("items", [
    [{"type": "Container", "min": {"cpu": "100m"}, "max": {"cpu": "2"}, "default": {"cpu": "500m"},
      "defaultRequest": {"cpu": "200m"}, "maxLimitRequestRatio": {"cpu": "4"}}],
    [{"type": "Pod", "max": {"memory": "2Gi"}}, {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}}],
    [{"type": "example.com/Widget", "max": {"example.com/size": "3"}}],
])
def test_valid_limitranges(items):
    assert messages(limits(*items)) == []


@pytest.mark.parametrize(("items", "expected"), [
    ([{"type": "Container", "max": {"cpu": "1"}}, {"type": "Container", "min": {"cpu": "1"}}],
     ['spec.limits[1].type: Duplicate value: "Container"']),
    ([{"type": "Machine", "max": {"cpu": "1"}}],
     ['spec.limits[0].type: Invalid value: "Machine": must be a standard limit type or fully qualified']),
    ([{"type": "Pod", "default": {"cpu": "1"}, "max": {"cpu": "2"}}],
     ["spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'"]),
    ([{"type": "Pod", "max": {"pods": "1"}}],
     ['spec.limits[0].max[pods]: Invalid value: "pods": must be a standard resource for containers']),
    ([{"type": "PersistentVolumeClaim", "max": {"cpu": "1"}}],
     ["spec.limits[0].limits: Required value: either minimum or maximum storage value is required, but neither "
      "was provided"]),
    ([{"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}}],
     ['spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1',
      # max defaults the default limit and request, which then sit below min too
      'spec.limits[0].defaultRequest[cpu]: Invalid value: "1": min value 2 is greater than default request value 1',
      'spec.limits[0].default[cpu]: Invalid value: "2": min value 2 is greater than default value 1']),
    ([{"type": "Container", "default": {"memory": "1Gi"}, "defaultRequest": {"memory": "2Gi"}}],
     ['spec.limits[0].defaultRequest[memory]: Invalid value: "2Gi": default request value 2Gi is greater than '
      'default limit value 1Gi']),
    ([{"type": "Container", "maxLimitRequestRatio": {"cpu": "500m"}}],
     ['spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "500m": ratio 500m is less than 1']),
    ([{"type": "Pod", "min": {"cpu": "1"}, "max": {"cpu": "2"}, "maxLimitRequestRatio": {"cpu": "3"}}],
     ['spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "3": ratio 3 is greater than max/min = 2.000000']),
])
def test_invalid_limitranges(items, expected):
    assert messages(limits(*items)) == expected
