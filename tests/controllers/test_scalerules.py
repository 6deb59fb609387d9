"""Stabilization windows, behavior policies and bounds on data, against Kubernetes' horizontal.go semantics:
each case names the recommendations and changes on record, the time, and what Kubernetes would set."""

from __future__ import annotations

import pytest

from portside.api.defaults import SCALE_DOWN_RULES, SCALE_UP_RULES
from portside.api.models import HorizontalPodAutoscalerBehavior, HPAScalingRules
from portside.controllers.scalerules import Change, History, normalize, scale_down_limit, scale_up_limit

T = 10_000.0


def behavior(up: dict | None = None, down: dict | None = None) -> HorizontalPodAutoscalerBehavior:
    """A behavior as the API stores it: Kubernetes' defaults completed with what the test gives."""
    return HorizontalPodAutoscalerBehavior.from_dict({"scaleUp": {**SCALE_UP_RULES, **(up or {})},
                                                      "scaleDown": {**SCALE_DOWN_RULES, **(down or {})}})


def rules(select: str = "Max", *policies: tuple[str, int, int]) -> HPAScalingRules:
    return HPAScalingRules.from_dict({"selectPolicy": select, "policies": [
        {"type": kind, "value": value, "periodSeconds": period} for kind, value, period in policies]})


# -- without behavior (autoscaling/v1 objects) ------------------------------------------------------------------------

def test_without_behavior_a_scale_up_is_capped_at_twice_current_or_four():
    got = normalize(History(), None, 1, 10, 1, 20, T)
    assert (got.replicas, got.limited, got.limited_reason) == (4, True, "ScaleUpLimit")
    assert normalize(History(), None, 3, 10, 1, 20, T).replicas == 6
    got = normalize(History(), None, 3, 10, 1, 5, T)  # the maximum is the tighter bound
    assert (got.replicas, got.limited_reason) == (5, "TooManyReplicas")


def test_without_behavior_a_scale_down_waits_for_the_window():
    history = History()
    history.first_seen(5, T)  # the replicas found at the first sync count as a recommendation
    got = normalize(history, None, 5, 2, 1, 10, T + 10)
    assert (got.replicas, got.able_reason) == (5, "ScaleDownStabilized")
    assert normalize(history, None, 5, 3, 1, 10, T + 200).replicas == 5
    got = normalize(history, None, 5, 2, 1, 10, T + 305)  # 5 is out of the window; 3 and 2 remain
    assert (got.replicas, got.able_reason) == (3, "ScaleDownStabilized")
    assert normalize(history, None, 5, 2, 1, 10, T + 501).replicas == 2
    assert normalize(history, None, 5, 2, 1, 10, T + 502, downscale_window=0).able_reason == "ReadyForNewScale"


def test_without_behavior_bounds_clamp_and_say_why():
    got = normalize(History(), None, 3, 0, 2, 10, T)
    assert (got.replicas, got.limited, got.limited_reason, got.limited_message) == (
        2, True, "TooFewReplicas", "the desired replica count is less than the minimum replica count")
    got = normalize(History(), None, 3, 4, 2, 10, T)
    assert (got.replicas, got.limited, got.limited_reason, got.able_reason) == (
        4, False, "DesiredWithinRange", "ReadyForNewScale")


# -- with behavior ----------------------------------------------------------------------------------------------------

def test_default_behavior_scales_up_at_once_by_4_pods_or_100_percent():
    # from 1: max(1 + 4, 1 x 2) = 5; from 10: max(14, 20) = 20
    assert normalize(History(), behavior(), 1, 30, 1, 50, T).replicas == 5
    got = normalize(History(), behavior(), 10, 30, 1, 50, T)
    assert (got.replicas, got.limited_reason) == (20, "ScaleUpLimit")


def test_min_select_policy_takes_the_smaller_change():
    b = behavior(up={"selectPolicy": "Min"})
    assert normalize(History(), b, 10, 30, 1, 50, T).replicas == 14  # min(10 + 4, 20)


def test_disabled_direction_never_moves():
    got = normalize(History(), behavior(up={"selectPolicy": "Disabled"}), 3, 9, 1, 10, T)
    assert (got.replicas, got.limited, got.limited_reason) == (3, True, "ScaleUpLimit")
    history = History()
    got = normalize(history, behavior(down={"selectPolicy": "Disabled", "stabilizationWindowSeconds": 0}), 5, 1, 1,
                    10, T)
    assert (got.replicas, got.limited_reason) == (5, "ScaleDownLimit")


def test_changes_within_a_policy_period_count_against_it():
    history = History()
    b = behavior(up={"policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]})
    assert normalize(history, b, 2, 10, 1, 20, T).replicas == 4
    history.scaled(b, 2, 4, T)
    got = normalize(history, b, 4, 10, 1, 20, T + 30)  # the period began at 2: 2 + 2 = 4, no more yet
    assert (got.replicas, got.limited_reason) == (4, "ScaleUpLimit")
    assert normalize(history, b, 4, 10, 1, 20, T + 61).replicas == 6  # a new period from 4


def test_scale_downs_within_the_period_raise_the_scale_up_start():
    # Kubernetes counts both directions: a period that began at 10, lost 4, then asks to grow again starts at 10
    history = History(downs=[Change(T - 5, 4)])
    assert scale_up_limit(6, history, rules("Max", ("Pods", 2, 15)), T) == 12


def test_percent_policies_round_as_kubernetes_does():
    # up: ceil(start x (1 + v/100)) in float64, so a small percentage still adds a pod, and 25 x 1.12 is
    # 28.000000000000004, which Kubernetes rounds up to 29: the same arithmetic gives the same counts
    assert scale_up_limit(1, History(), rules("Max", ("Percent", 10, 15)), T) == 2
    assert scale_up_limit(25, History(), rules("Max", ("Percent", 12, 15)), T) == 29
    # down: int(start x (1 - v/100)), truncated: 3 x 0.5 = 1.5 -> 1, and 5 x 0.2 = 0.9999999999999998 -> 0
    assert scale_down_limit(3, History(), rules("Max", ("Percent", 50, 15)), T) == 1
    assert scale_down_limit(5, History(), rules("Max", ("Percent", 80, 15)), T) == 0
    assert scale_down_limit(10, History(), rules("Max", ("Pods", 3, 15), ("Percent", 50, 15)), T) == 5
    assert scale_down_limit(10, History(), rules("Min", ("Pods", 3, 15), ("Percent", 50, 15)), T) == 7


def test_scale_down_window_holds_the_highest_recent_recommendation():
    history = History()
    b = behavior(down={"stabilizationWindowSeconds": 30})
    history.first_seen(6, T)
    got = normalize(history, b, 6, 2, 1, 10, T + 10)
    assert (got.replicas, got.able_reason, got.able_message) == (
        6, "ScaleDownStabilized",
        "recent recommendations were higher than current one, applying the highest recent recommendation")
    assert normalize(history, b, 6, 3, 1, 10, T + 25).replicas == 6
    assert normalize(history, b, 6, 2, 1, 10, T + 35).replicas == 3  # 6 has left the window; 3 (at T+25) has not


def test_scale_down_window_defaults_to_the_controllers_setting():
    history = History()
    history.first_seen(4, T)
    assert normalize(history, behavior(), 4, 1, 1, 10, T + 100).replicas == 4  # within the default 300 s
    assert normalize(history, behavior(), 4, 1, 1, 10, T + 101, downscale_window=60).replicas == 1


def test_scale_up_window_holds_the_lowest_recent_recommendation():
    history = History()
    b = behavior(up={"stabilizationWindowSeconds": 60})
    history.first_seen(2, T)
    got = normalize(history, b, 2, 5, 1, 10, T + 10)
    assert (got.replicas, got.able_reason) == (2, "ScaleUpStabilized")
    assert normalize(history, b, 2, 6, 1, 10, T + 50).replicas == 2
    assert normalize(history, b, 2, 6, 1, 10, T + 65).replicas == 5  # 2 left the window; 5 (at T+10) is lowest


def test_bounds_with_behavior():
    got = normalize(History(), behavior(down={"stabilizationWindowSeconds": 0}), 5, 1, 3, 10, T)
    assert (got.replicas, got.limited, got.limited_reason) == (3, True, "TooFewReplicas")
    got = normalize(History(), behavior(), 5, 9, 1, 7, T)
    assert (got.replicas, got.limited_reason, got.limited_message) == (
        7, "TooManyReplicas", "the desired replica count is more than the maximum replica count")


@pytest.mark.parametrize("before,after,field", [(2, 5, "ups"), (5, 2, "downs")])
def test_history_keeps_changes_for_the_longest_period_only(before, after, field):
    b = behavior()  # every default policy lasts 15 s
    history = History()
    history.scaled(b, before, after, T)
    history.scaled(b, before, after, T + 20)  # the first is older than any period: replaced
    assert getattr(history, field) == [Change(T + 20, 3)]
    history.scaled(None, before, after, T + 21)  # without behavior nothing reads them: none recorded
    assert len(getattr(history, field)) == 1
