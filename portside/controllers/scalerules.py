"""From what the metrics ask for to what the autoscaler sets: stabilization, rate limits, min/max, pure.

Theory of operation (Kubernetes' HPA normalization). Every sync records its unstabilized recommendation in the
autoscaler's ``History``, which also holds the scale changes made (when ``behavior`` is set). Then:

* without ``behavior`` (the autoscaling/v1 way): the recommendation is the highest of the last
  ``downscale_window`` seconds (the controller's --horizontal-pod-autoscaler-downscale-stabilization, 300 s), so
  a scale-down waits until every recent sample agrees; a scale-up is capped at max(2 x current, 4) per sync;
* with ``behavior``: a scale-up goes no higher than the lowest recommendation of the scale-up window (0 s by
  default: at once), a scale-down no lower than the highest of the scale-down window (the same 300 s unless
  set). Each direction's policies then bound the change per period: a Pods policy adds or removes at most
  ``value`` pods, a Percent policy ``value`` percent of the replicas the period started with (changes the
  History recorded within the period count against it); ``selectPolicy`` Max takes the policy allowing the
  biggest change, Min the smallest, Disabled forbids that direction;
* finally the count is clamped to [minReplicas, maxReplicas].

``Decision`` carries the reasons Kubernetes gives for the AbleToScale and ScalingLimited conditions. Time is an
argument (``now``, epoch seconds), never read here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from portside.api import models

__all__ = ["History", "Decision", "normalize", "DEFAULT_DOWNSCALE_WINDOW_S", "scale_up_limit", "scale_down_limit"]

DEFAULT_DOWNSCALE_WINDOW_S = 300.0
SCALE_UP_FACTOR, SCALE_UP_MINIMUM = 2.0, 4.0  # without behavior: at most max(2 x current, 4) per step
INT32_MAX, INT32_MIN = 2**31 - 1, -(2**31)


@dataclass(frozen=True)
class Change:
    at: float
    replicas: int  # pods added (scale-up) or removed (scale-down), always positive


@dataclass
class History:
    """What one autoscaler's earlier syncs decided: unstabilized recommendations and the changes made."""

    recommendations: list[tuple[float, int]] = field(default_factory=list)
    ups: list[Change] = field(default_factory=list)
    downs: list[Change] = field(default_factory=list)

    def first_seen(self, current: int, now: float) -> None:
        """The replicas found at the first sync count as a recommendation: a new autoscaler does not scale a
        target down before its window has passed."""
        if not self.recommendations:
            self.recommendations.append((now, current))

    def recommend(self, replicas: int, now: float, keep_s: float) -> None:
        self.recommendations = [(t, r) for t, r in self.recommendations if t >= now - keep_s] + [(now, replicas)]

    def scaled(self, behavior: models.HorizontalPodAutoscalerBehavior | None, before: int, after: int,
               now: float) -> None:
        """Record a change the controller made; only policies read them, so only with ``behavior``."""
        if behavior is None or before == after:
            return
        up = after > before
        rules = behavior.scale_up if up else behavior.scale_down
        keep = max((p.period_seconds or 0 for p in ((rules.policies if rules else None) or [])), default=0)
        changes = [c for c in (self.ups if up else self.downs) if c.at >= now - keep] + [Change(now, abs(after - before))]
        if up:
            self.ups = changes
        else:
            self.downs = changes


@dataclass(frozen=True)
class Decision:
    replicas: int
    able_reason: str  # AbleToScale (True): ReadyForNewScale, ScaleUpStabilized or ScaleDownStabilized
    able_message: str
    limited: bool  # ScalingLimited
    limited_reason: str
    limited_message: str


_READY = ("ReadyForNewScale", "recommended size matches current size")
_UP_STABILIZED = ("ScaleUpStabilized",
                  "recent recommendations were lower than current one, applying the lowest recent recommendation")
_DOWN_STABILIZED = ("ScaleDownStabilized",
                    "recent recommendations were higher than current one, applying the highest recent recommendation")
_WITHIN = ("DesiredWithinRange", "the desired count is within the acceptable range")
_TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
_TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
_UP_LIMIT = ("ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
_DOWN_LIMIT = ("ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")


def normalize(history: History, behavior: models.HorizontalPodAutoscalerBehavior | None, current: int,
              desired: int, low: int, high: int, now: float,
              downscale_window: float = DEFAULT_DOWNSCALE_WINDOW_S) -> Decision:
    """The replicas to set from the metrics' ``desired``; records ``desired`` in ``history``."""
    if behavior is None:
        return _without_behavior(history, current, desired, low, high, now, downscale_window)
    return _with_behavior(history, behavior, current, desired, low, high, now, downscale_window)


def _decision(stabilized: int, desired: int, able: tuple[str, str], final: int, limit: tuple[str, str]) -> Decision:
    reason, message = able if stabilized != desired else _READY
    return Decision(final, reason, message, final != stabilized, *limit)


def _without_behavior(history: History, current: int, desired: int, low: int, high: int, now: float,
                      window: float) -> Decision:
    recent = [r for t, r in history.recommendations if t >= now - window]
    stabilized = max([desired, *recent])
    history.recommend(desired, now, window)
    up_limit = int(max(SCALE_UP_FACTOR * current, SCALE_UP_MINIMUM))
    ceiling, over = (up_limit, _UP_LIMIT) if high > up_limit else (high, _TOO_MANY)
    if stabilized < low:
        final, limit = low, _TOO_FEW
    elif stabilized > ceiling:
        final, limit = ceiling, over
    else:
        final, limit = stabilized, _WITHIN
    return _decision(stabilized, desired, _DOWN_STABILIZED, final, limit)


def _window(rules: models.HPAScalingRules | None, default: float) -> float:
    seconds = rules.stabilization_window_seconds if rules else None
    return default if seconds is None else float(seconds)


def _with_behavior(history: History, behavior: models.HorizontalPodAutoscalerBehavior, current: int, desired: int,
                   low: int, high: int, now: float, downscale_window: float) -> Decision:
    up_window = _window(behavior.scale_up, 0.0)
    down_window = _window(behavior.scale_down, downscale_window)
    up_floor = min([desired, *(r for t, r in history.recommendations if t > now - up_window)])
    down_ceiling = max([desired, *(r for t, r in history.recommendations if t > now - down_window)])
    stabilized = min(max(current, up_floor), down_ceiling)
    history.recommend(desired, now, max(up_window, down_window))
    able = _UP_STABILIZED if desired >= current else _DOWN_STABILIZED
    final, limit = _rate_limited(history, behavior, current, stabilized, low, high, now)
    return _decision(stabilized, desired, able, final, limit)


def _rate_limited(history: History, behavior: models.HorizontalPodAutoscalerBehavior, current: int, desired: int,
                  low: int, high: int, now: float) -> tuple[int, tuple[str, str]]:
    if desired > current:
        limit = max(scale_up_limit(current, history, behavior.scale_up, now), current)
        ceiling, reason = (limit, _UP_LIMIT) if high > limit else (high, _TOO_MANY)
        return (ceiling, reason) if desired > ceiling else (desired, _WITHIN)
    if desired < current:
        limit = min(scale_down_limit(current, history, behavior.scale_down, now), current)
        floor, reason = (limit, _DOWN_LIMIT) if low < limit else (low, _TOO_FEW)
        return (floor, reason) if desired < floor else (desired, _WITHIN)
    return desired, _WITHIN


def _changed_within(changes: list[Change], period: float, now: float) -> int:
    return sum(c.replicas for c in changes if c.at > now - period)


def _period_start(current: int, history: History, period: float, now: float) -> int:
    """The replicas at the start of a policy's period: the changes made since are undone."""
    return current - _changed_within(history.ups, period, now) + _changed_within(history.downs, period, now)


def scale_up_limit(current: int, history: History, rules: models.HPAScalingRules | None, now: float) -> int:
    """The most replicas the scale-up policies allow now."""
    select = (rules.select_policy if rules else None) or "Max"
    if select == "Disabled":
        return current
    pick, result = (min, INT32_MAX) if select == "Min" else (max, INT32_MIN)
    for policy in (rules.policies if rules else None) or []:
        start = _period_start(current, history, policy.period_seconds or 0, now)
        value = policy.value or 0
        # Kubernetes' float arithmetic: rounding up so that a small percentage still adds a pod
        proposed = start + value if policy.type == "Pods" else math.ceil(start * (1 + value / 100))
        result = pick(result, proposed)
    return result


def scale_down_limit(current: int, history: History, rules: models.HPAScalingRules | None, now: float) -> int:
    """The fewest replicas the scale-down policies allow now."""
    select = (rules.select_policy if rules else None) or "Max"
    if select == "Disabled":
        return current
    pick, result = (max, INT32_MIN) if select == "Min" else (min, INT32_MAX)
    for policy in (rules.policies if rules else None) or []:
        start = _period_start(current, history, policy.period_seconds or 0, now)
        value = policy.value or 0
        proposed = start - value if policy.type == "Pods" else int(start * (1 - value / 100))
        result = pick(result, proposed)
    return result
