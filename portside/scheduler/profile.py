"""Scheduling profiles: which filters and scores run, with what weights, read from a configuration file in
kube-scheduler's KubeSchedulerConfiguration shape (profiles[].plugins.{filter,score,queueSort}.enabled/disabled,
pluginConfig args, percentageOfNodesToScore). A profile starts from the default plugin set; ``enabled`` adds or
re-weights, ``disabled`` removes (``*`` removes all defaults of that point), as kube-scheduler merges them.

Two profiles ship (``BUILTIN_CONFIG``): ``default-scheduler`` spreads like kube-scheduler's defaults
(LeastAllocated), ``binpack`` packs (MostAllocated, every node scored, largest-first batch order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from portside.scheduler import filters, scores
from portside.scheduler.framework import Filter, Permit, PreFilter, Reserve, Score
from portside.scheduler.gang import Coscheduling
from portside.scheduler.queuesort import PrioritySort

DEFAULT_FILTERS = ("NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts",
                   "NodeResourcesFit", "VolumeBinding", "PodTopologySpread", "InterPodAffinity")
DEFAULT_SCORES = (("NodeResourcesFit", 1), ("NodeResourcesBalancedAllocation", 1), ("ImageLocality", 1),
                  ("InterPodAffinity", 2), ("NodeAffinity", 2), ("PodTopologySpread", 2), ("TaintToleration", 3))
ALIASES = {"default": "default-scheduler"}

BUILTIN_CONFIG = """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: binpack
  percentageOfNodesToScore: 100
  plugins:
    score:
      disabled: [{name: NodeResourcesBalancedAllocation}, {name: ImageLocality}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources: [{name: cpu, weight: 1}, {name: memory, weight: 1}, {name: nvidia.com/gpu, weight: 1}]
  - name: PrioritySort
    args: {tieBreak: dominant}
"""


class ProfileError(ValueError):
    """A scheduler configuration that cannot be used; the message names the field."""


@dataclass
class Profile:
    """The plugins of every stage, in order. PreFilter is not configured on its own: as in kube-scheduler's
    defaults, a filter or permit plugin that has a PreFilter runs it, so the two can never be enabled apart."""

    name: str
    filters: list[Filter]
    scores: list[tuple[Score, int]]
    queue_sort: PrioritySort = field(default_factory=PrioritySort)
    percentage_of_nodes_to_score: int = 0
    permits: list[Permit] = field(default_factory=lambda: [Coscheduling()])

    @property
    def prefilters(self) -> list[PreFilter]:
        return [p for p in (*self.permits, *self.filters) if hasattr(p, "prefilter")]

    @property
    def reservers(self) -> list[Reserve]:
        """Reserve, like PreFilter, runs for the filters that have it (VolumeBinding)."""
        return [p for p in self.filters if hasattr(p, "reserve")]


def _merge(defaults: list[tuple[str, int]], point: dict, where: str, known: dict) -> list[tuple[str, int]]:
    disabled = [_name(d, f"{where}.disabled[{i}]", known, allow_star=True)
                for i, d in enumerate(point.get("disabled") or [])]
    out = [] if "*" in disabled else [(n, w) for n, w in defaults if n not in disabled]
    for i, entry in enumerate(point.get("enabled") or []):
        name = _name(entry, f"{where}.enabled[{i}]", known)
        weight = entry.get("weight", 1)
        if not isinstance(weight, int) or weight < 1:
            raise ProfileError(f"{where}.enabled[{i}].weight: expected a positive integer, got {weight!r}")
        out = [(n, w) for n, w in out if n != name] + [(name, weight)]
    return out


def _name(entry: Any, where: str, known: dict, allow_star: bool = False) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    if allow_star and name == "*":
        return name
    if name not in known:
        raise ProfileError(f"{where}.name: unknown plugin {name!r} (known: {', '.join(sorted(known))})")
    return name


def _args(raw: dict, where: str) -> dict[str, dict]:
    out = {}
    for i, entry in enumerate(raw.get("pluginConfig") or []):
        if not isinstance(entry, dict) or "name" not in entry:
            raise ProfileError(f"{where}.pluginConfig[{i}]: expected a mapping with 'name' and 'args'")
        out[entry["name"]] = entry.get("args") or {}
    return out


def _score_plugin(name: str, args: dict, where: str) -> Score:
    if name != "NodeResourcesFit":
        return scores.REGISTRY[name]()
    strategy = (args.get("scoringStrategy") or {})
    resources = tuple((r["name"], int(r.get("weight", 1))) for r in strategy.get("resources") or []) \
        or scores.node_resources_fit.DEFAULT_RESOURCES
    try:
        return scores.NodeResourcesFitScore(strategy.get("type", scores.LEAST), resources)
    except ValueError as err:
        raise ProfileError(f"{where}.pluginConfig[NodeResourcesFit].args.{err}") from None


def build_profile(raw: dict, where: str, percentage: int) -> Profile:
    """One ``profiles[i]`` entry of a KubeSchedulerConfiguration, merged over the defaults."""
    name = raw.get("schedulerName") or "default-scheduler"
    plugins = raw.get("plugins") or {}
    filter_names = _merge([(n, 1) for n in DEFAULT_FILTERS], plugins.get("filter") or {},
                          f"{where}.plugins.filter", filters.REGISTRY)
    score_names = _merge(list(DEFAULT_SCORES), plugins.get("score") or {}, f"{where}.plugins.score", scores.REGISTRY)
    args = _args(raw, where)
    try:
        sort = PrioritySort(tie_break=(args.get("PrioritySort") or {}).get("tieBreak", "age"))
    except ValueError as err:
        raise ProfileError(f"{where}.pluginConfig[PrioritySort].args.{err}") from None
    pct = raw.get("percentageOfNodesToScore", percentage)
    if not isinstance(pct, int) or not 0 <= pct <= 100:
        raise ProfileError(f"{where}.percentageOfNodesToScore: expected an integer 0-100, got {pct!r}")
    return Profile(name, [filters.REGISTRY[n]() for n, _ in filter_names],
                   [(_score_plugin(n, args.get(n) or {}, where), w) for n, w in score_names], sort, pct)


def load_config(text: str, source: str = "configuration") -> dict[str, Profile]:
    """Profiles by schedulerName from KubeSchedulerConfiguration YAML text."""
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ProfileError(f"{source}: not valid YAML: {err}") from None
    if not isinstance(doc, dict) or doc.get("kind", "KubeSchedulerConfiguration") != "KubeSchedulerConfiguration":
        raise ProfileError(f"{source}: kind: expected KubeSchedulerConfiguration")
    percentage = doc.get("percentageOfNodesToScore", 0)
    raw_profiles = doc.get("profiles") or [{}]
    try:
        return {p.name: p for p in (build_profile(raw, f"profiles[{i}]", percentage)
                                    for i, raw in enumerate(raw_profiles))}
    except ProfileError as err:
        raise ProfileError(f"{source}: {err}") from None


def builtin_profiles() -> dict[str, Profile]:
    """Fresh instances of the shipped profiles (plugins keep per-pod caches, so each scheduler gets its own)."""
    return load_config(BUILTIN_CONFIG, "built-in profiles")


def pick(profiles: dict[str, Profile], name: str) -> Profile:
    name = ALIASES.get(name, name)
    if name not in profiles:
        raise ProfileError(f"unknown profile {name!r} (known: {', '.join(sorted(profiles))})")
    return profiles[name]
