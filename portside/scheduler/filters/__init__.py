"""Filter plugins, one module per concern; ``REGISTRY`` maps a plugin name to its class (no import side effects)."""

from portside.scheduler.filters.inter_pod_affinity import InterPodAffinity
from portside.scheduler.filters.node_affinity import NodeAffinity
from portside.scheduler.filters.node_name import NodeName
from portside.scheduler.filters.node_ports import NodePorts
from portside.scheduler.filters.node_resources_fit import NodeResourcesFit
from portside.scheduler.filters.node_unschedulable import NodeUnschedulable
from portside.scheduler.filters.pod_topology_spread import PodTopologySpread
from portside.scheduler.filters.taint_toleration import TaintToleration
from portside.scheduler.filters.volume_binding import VolumeBinding

__all__ = ["REGISTRY", "InterPodAffinity", "NodeAffinity", "NodeName", "NodePorts", "NodeResourcesFit",
           "NodeUnschedulable", "PodTopologySpread", "TaintToleration", "VolumeBinding"]

REGISTRY: dict[str, type] = {
    cls.NAME: cls
    for cls in (NodeName, NodeUnschedulable, NodeAffinity, TaintToleration, NodePorts, NodeResourcesFit,
                InterPodAffinity, PodTopologySpread, VolumeBinding)
}
