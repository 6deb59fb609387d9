"""core/v1 placement types: node and pod (anti)affinity, tolerations, topology spread, scheduling gates."""

from __future__ import annotations

from ..schema import model, prop
from ..typed import Model
from .meta import LabelSelector

__all__ = [
    "NodeSelectorRequirement", "NodeSelectorTerm", "NodeSelector", "PreferredSchedulingTerm", "NodeAffinity",
    "PodAffinityTerm", "WeightedPodAffinityTerm", "PodAffinity", "PodAntiAffinity", "Affinity", "Toleration",
    "TopologySpreadConstraint", "PodSchedulingGate",
]

core = model("io.k8s.api.core.v1")


@core
class NodeSelectorRequirement(Model):
    key: str | None = prop(required=True)
    operator: str | None = prop(required=True)
    values: list[str] | None = prop(list_type="atomic")


@core
class NodeSelectorTerm(Model):
    """Requirements ANDed; matchFields only supports metadata.name, as in Kubernetes."""

    match_expressions: list[NodeSelectorRequirement] | None = prop(list_type="atomic")
    match_fields: list[NodeSelectorRequirement] | None = prop(list_type="atomic")


@core
class NodeSelector(Model):
    """Terms ORed."""

    node_selector_terms: list[NodeSelectorTerm] | None = prop(required=True, list_type="atomic")


@core
class PreferredSchedulingTerm(Model):
    weight: int | None = prop(required=True)
    preference: NodeSelectorTerm | None = prop(required=True)


@core
class NodeAffinity(Model):
    required_during_scheduling_ignored_during_execution: NodeSelector | None = prop()
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] | None = prop(
        list_type="atomic")


@core
class PodAffinityTerm(Model):
    label_selector: LabelSelector | None = prop()
    namespaces: list[str] | None = prop(list_type="atomic")
    topology_key: str | None = prop(required=True)
    namespace_selector: LabelSelector | None = prop()
    match_label_keys: list[str] | None = prop(list_type="atomic")
    mismatch_label_keys: list[str] | None = prop(list_type="atomic")


@core
class WeightedPodAffinityTerm(Model):
    weight: int | None = prop(required=True)
    pod_affinity_term: PodAffinityTerm | None = prop(required=True)


@core
class PodAffinity(Model):
    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] | None = prop(list_type="atomic")
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] | None = prop(
        list_type="atomic")


@core
class PodAntiAffinity(Model):
    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] | None = prop(list_type="atomic")
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] | None = prop(
        list_type="atomic")


@core
class Affinity(Model):
    node_affinity: NodeAffinity | None = prop()
    pod_affinity: PodAffinity | None = prop()
    pod_anti_affinity: PodAntiAffinity | None = prop()


@core
class Toleration(Model):
    """Matches a taint by key/effect; operator Exists ignores the value."""

    key: str | None = prop()
    operator: str | None = prop()
    value: str | None = prop()
    effect: str | None = prop()
    toleration_seconds: int | None = prop()


@core
class TopologySpreadConstraint(Model):
    max_skew: int | None = prop(required=True)
    topology_key: str | None = prop(required=True)
    when_unsatisfiable: str | None = prop(required=True)
    label_selector: LabelSelector | None = prop()
    min_domains: int | None = prop()
    node_affinity_policy: str | None = prop()
    node_taints_policy: str | None = prop()
    match_label_keys: list[str] | None = prop(list_type="atomic")


@core
class PodSchedulingGate(Model):
    name: str | None = prop(required=True)
