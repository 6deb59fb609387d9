"""Pod priority resolution from PriorityClasses (Kubernetes' Priority admission)."""

import pytest

from portside import api

HIGH = {"metadata": {"name": "high"}, "value": 1000, "preemptionPolicy": "Never"}
DEFAULT = {"metadata": {"name": "normal"}, "value": 10, "globalDefault": True}


def _pod(**spec: object) -> dict:
    return {"metadata": {"name": "p"}, "spec": {"containers": [], **spec}}


def test_named_class_sets_priority_and_policy() -> None:
    spec = api.resolve_priority(_pod(priorityClassName="high"), [HIGH, DEFAULT])["spec"]
    assert (spec["priority"], spec["preemptionPolicy"]) == (1000, "Never")


def test_global_default_and_no_classes() -> None:
    spec = api.resolve_priority(_pod(), [HIGH, DEFAULT])["spec"]
    assert (spec["priorityClassName"], spec["priority"]) == ("normal", 10)
    plain = api.resolve_priority(_pod(), [])["spec"]
    assert (plain["priority"], plain["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert "priorityClassName" not in plain


def test_system_classes_exist_implicitly() -> None:
    spec = api.resolve_priority(_pod(priorityClassName="system-node-critical"), [])["spec"]
    assert spec["priority"] == 2_000_001_000


def test_refusals() -> None:
    with pytest.raises(api.PriorityRefused, match="no PriorityClass with name missing was found"):
        api.resolve_priority(_pod(priorityClassName="missing"), [])
    with pytest.raises(api.PriorityRefused, match=r"the integer value of priority \(5\) must not be provided"):
        api.resolve_priority(_pod(priorityClassName="high", priority=5), [HIGH])
    assert api.resolve_priority(_pod(priorityClassName="high", priority=1000), [HIGH])["spec"]["priority"] == 1000
