"""PodDisruptionBudget rules, worded as Kubernetes words them."""

import pytest

from tests.api.messages import messages

PERCENT = ("a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex "
           "used for validation is '[0-9]+%')")


def pdb(**spec: object) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}}


@pytest.mark.parametrize("spec", [{"minAvailable": 2}, {"minAvailable": 0}, {"maxUnavailable": "25%"},
                                  {"maxUnavailable": "100%", "unhealthyPodEvictionPolicy": "AlwaysAllow"}, {}])
def test_valid_budgets(spec):
    assert messages(pdb(**spec)) == []


@pytest.mark.parametrize(("spec", "expected"), [
    ({"minAvailable": 1, "maxUnavailable": 1},
     ["spec.minAvailable: Invalid value: 1: minAvailable and maxUnavailable cannot be both set"]),
    ({"minAvailable": -1}, ["spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"]),
    ({"maxUnavailable": "half"}, [f'spec.maxUnavailable: Invalid value: "half": {PERCENT}']),
    ({"maxUnavailable": "150%"}, ['spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%']),
    ({"unhealthyPodEvictionPolicy": "Never"},
     ['spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: "AlwaysAllow", '
      '"IfHealthyBudget"']),
    ({"selector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
     ["spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or "
      "'NotIn'"]),
])
def test_invalid_budgets(spec, expected):
    assert messages(pdb(**spec)) == expected
