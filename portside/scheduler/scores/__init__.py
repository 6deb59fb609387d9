"""Score plugins, one module per concern; ``REGISTRY`` maps a plugin name to its class (no import side effects)."""

from portside.scheduler.scores.balanced_allocation import BalancedAllocation
from portside.scheduler.scores.image_locality import ImageLocality
from portside.scheduler.scores.inter_pod_affinity import InterPodAffinityScore
from portside.scheduler.scores.node_affinity import NodeAffinityScore
from portside.scheduler.scores.node_resources_fit import LEAST, MOST, NodeResourcesFitScore
from portside.scheduler.scores.pod_topology_spread import PodTopologySpreadScore
from portside.scheduler.scores.taint_toleration import TaintTolerationScore

__all__ = ["REGISTRY", "LEAST", "MOST", "BalancedAllocation", "ImageLocality", "InterPodAffinityScore",
           "NodeAffinityScore", "NodeResourcesFitScore", "PodTopologySpreadScore", "TaintTolerationScore"]

REGISTRY: dict[str, type] = {
    cls.NAME: cls
    for cls in (NodeResourcesFitScore, BalancedAllocation, NodeAffinityScore, TaintTolerationScore,
                InterPodAffinityScore, PodTopologySpreadScore, ImageLocality)
}
