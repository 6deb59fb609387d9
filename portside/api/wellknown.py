"""Portside's own well-known annotations, which several components read and write on API objects (as
Kubernetes keeps its well-known labels in one place): here so that neither side imports the other."""

from __future__ import annotations

CLUSTER_CIDR_ANNOTATION = "portside.io/cluster-cidr"  # on a Node: the cluster's pod range, which node-ipam cuts

__all__ = ["CLUSTER_CIDR_ANNOTATION", "CLUSTER_DOMAIN", "DNS_SERVICE_IP", "DNS_SERVICE_NAME", "DNS_SERVICE_NAMESPACE"]

# Cluster DNS: the domain every Service name lives under, and the Service pods' resolvers are told about (k3s and
# kubeadm name it kube-dns in kube-system, whatever server answers behind it).
CLUSTER_DOMAIN = "cluster.local"
DNS_SERVICE_NAMESPACE, DNS_SERVICE_NAME = "kube-system", "kube-dns"
DNS_SERVICE_IP = "10.96.0.10"  # the tenth address of the service range, as kubeadm gives it
