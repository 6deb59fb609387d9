"""Portside's own well-known annotations, which several components read and write on API objects (as
Kubernetes keeps its well-known labels in one place): here so that neither side imports the other."""

from __future__ import annotations

CLUSTER_CIDR_ANNOTATION = "portside.io/cluster-cidr"  # on a Node: the cluster's pod range, which node-ipam cuts

__all__ = ["CLUSTER_CIDR_ANNOTATION"]
