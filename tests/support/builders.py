"""The tests' object builders, one per object and form, each with defaults that make a valid object so that a
test spells out only what it is about.

Three forms, because the layers see different things:

- manifests as a user writes them (``pod``, ``deployment``, ``job``, ``service``): what ``kubectl apply`` sends
  and the API's validation and defaulting receive;
- objects as the API server returns them (``stored_service``, ``endpoints``): allocated cluster IP, uid and
  all, what the proxy and the controllers read;
- the scheduler's typed view (``node_info``, ``pod_info``) and an in-memory scheduler to place pods with
  (``make_cluster``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portside.api.selectors import selector_from_object, selector_from_set
from portside.scheduler import InMemoryBinder, NodeInfo, PodInfo, Scheduler
from portside.scheduler.model import Selector

# Manifests as a user writes them.


def pod(**spec: Any) -> dict[str, Any]:
    base = {"containers": [{"name": "app", "image": "busybox:1.36"}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
            "spec": {**base, **spec}}


def deployment(**spec: Any) -> dict[str, Any]:
    base = {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "my-app"}},
        "template": {"metadata": {"labels": {"app": "my-app"}},
                     "spec": {"containers": [{"name": "my-app", "image": "my-app:latest"}]}},
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "my-app", "namespace": "default"},
            "spec": {**base, **spec}}


def job(**spec: Any) -> dict[str, Any]:
    template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": "busybox"}]}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "batch", "namespace": "default"},
            "spec": {"template": template, **spec}}


def statefulset(name: str = "web", replicas: int = 2, claim: str = "data", storage: str = "16Mi",
                namespace: str = "default", **spec: Any) -> dict[str, Any]:
    """A StatefulSet governed by the headless Service ``name``, its first container mounting a claim template
    ``claim`` (none when "") at ``/data``."""
    labels = {"app": name}
    template: dict[str, Any] = {"metadata": {"labels": labels}, "spec": {
        "containers": [{"name": "app", "image": "busybox:1.36"}]}}
    body: dict[str, Any] = {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": labels},
                            "template": template}
    if claim:
        template["spec"]["containers"][0]["volumeMounts"] = [{"name": claim, "mountPath": "/data"}]
        body["volumeClaimTemplates"] = [{"metadata": {"name": claim}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}}]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": namespace},
            "spec": {**body, **spec}}


def service(**spec: Any) -> dict[str, Any]:
    base = {"selector": {"app": "my-app"}, "ports": [{"port": 80, "targetPort": 5000}]}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "my-app", "namespace": "default"},
            "spec": {**base, **spec}}


def pvc(name: str = "data", storage: str = "1Gi", namespace: str = "default", **spec: Any) -> dict[str, Any]:
    """A claim: ReadWriteOnce of ``storage``; ``storage_class`` left out lets admission give the default class."""
    base = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": namespace},
            "spec": {**base, **spec}}


def pv(name: str, storage: str = "1Gi", path: str = "", node: str = "", **spec: Any) -> dict[str, Any]:
    """A hostPath volume (``/tmp/NAME`` unless ``path``) without a class; ``node`` pins it to that node."""
    base: dict[str, Any] = {"capacity": {"storage": storage}, "accessModes": ["ReadWriteOnce"],
                            "hostPath": {"path": path or f"/tmp/{name}"}, "storageClassName": ""}
    if node:
        term = {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}
        base["nodeAffinity"] = {"required": {"nodeSelectorTerms": [term]}}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": {**base, **spec}}


def storage_class(name: str, provisioner: str = "kubernetes.io/no-provisioner",
                  binding: str = "WaitForFirstConsumer", **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": provisioner, "volumeBindingMode": binding, **fields}


def with_claim(obj: dict[str, Any], claim: str = "data", mount: str = "/data", **source: Any) -> dict[str, Any]:
    """A pod (or template) whose first container mounts the claim at ``mount``."""
    spec = obj["spec"]["template"]["spec"] if "template" in obj["spec"] else obj["spec"]
    spec.setdefault("volumes", []).append({"name": claim, "persistentVolumeClaim": {"claimName": claim, **source}})
    spec["containers"][0].setdefault("volumeMounts", []).append({"name": claim, "mountPath": mount})
    return obj


def network_policy(name: str = "policy", namespace: str = "default", **spec: Any) -> dict[str, Any]:
    """A NetworkPolicy; without ``podSelector`` it selects every pod of its namespace."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": {"podSelector": {}, **spec}}


def container(obj: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """``obj`` with its first container's fields updated (pods and pod templates)."""
    spec = obj["spec"]["template"]["spec"] if "template" in obj["spec"] else obj["spec"]
    spec["containers"][0].update(fields)
    return obj


# Objects as the API server returns them.


def stored_service(name: str, ports: list[dict[str, Any]], type: str = "ClusterIP", cluster_ip: str = "10.96.0.10",
                   namespace: str = "default", annotations: dict[str, str] | None = None, created: str = "",
                   **spec: Any) -> dict[str, Any]:
    """A Service with its type and cluster IP filled in (``cluster_ip=""``: left to the server to allocate)."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{name}"}
    if annotations:
        meta["annotations"] = annotations
    if created:
        meta["creationTimestamp"] = created
    body: dict[str, Any] = {"ports": ports, "type": type, **spec}
    if cluster_ip:
        body["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": body}


def endpoints(name: str, ready: list[tuple[str, int]], not_ready: list[tuple[str, int]] = (),
              port_name: str = "", namespace: str = "default", protocol: str = "TCP") -> dict[str, Any]:
    """One subset per backend port (addresses may serve different numbers, as after a rollout)."""
    subsets = []
    for port in sorted({p for _, p in [*ready, *not_ready]}):
        subset: dict[str, Any] = {"ports": [{"port": port, "protocol": protocol, **({"name": port_name}
                                                                                     if port_name else {})}]}
        addresses = [{"ip": ip} for ip, p in ready if p == port]
        waiting = [{"ip": ip} for ip, p in not_ready if p == port]
        if addresses:
            subset["addresses"] = addresses
        if waiting:
            subset["notReadyAddresses"] = waiting
        subsets.append(subset)
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": namespace},
            "subsets": subsets}


# The scheduler's typed view.

GI = 1 << 30


def node_info(name: str, cpu: float = 4, mem_gi: int = 8, labels: dict | None = None, **kw) -> NodeInfo:
    alloc = {"cpu": int(cpu * 1000), "memory": mem_gi * GI, **kw.pop("extra", {})}
    return NodeInfo(name, alloc, dict(labels or {}), **kw)


def pod_info(name: str, cpu: float = 0.5, mem_gi: float = 0.5, **kw) -> PodInfo:
    """``node_selector`` may be given as a dict of labels."""
    requests = {"cpu": int(cpu * 1000), "memory": int(mem_gi * GI), **kw.pop("extra", {})}
    if isinstance(kw.get("node_selector"), dict):
        kw["node_selector"] = selector_from_set(kw["node_selector"])
    return PodInfo(name, requests=requests, **kw)


def match(**labels: str) -> Selector:
    """A labelSelector with these matchLabels, compiled as the API's selectors compile it."""
    return selector_from_object({"matchLabels": labels})


@dataclass
class InMemoryCluster:
    """A scheduler with an in-memory binder, and helpers to ask where a pod goes."""

    sched: Scheduler
    binder: InMemoryBinder
    profile: str = "default-scheduler"
    now: float = 0.0

    def run(self, *pods: PodInfo) -> None:
        for p in pods:
            p.scheduler_name = self.profile
            self.sched.enqueue(p, self.now)
        self.sched.run(self.now)

    def bind(self, p: PodInfo, node_name: str) -> None:
        """A pod already running on a node (placed by hand, not by the scheduler)."""
        self.sched.pod_bound(p, node_name, self.now)

    def place(self, p: PodInfo) -> str | None:
        self.run(p)
        return self.binder.bound.get(p.uid)

    def refusal(self, p: PodInfo) -> str:
        assert self.place(p) is None, f"{p.name} was placed"
        return self.binder.refusals[p.uid]


def make_cluster(nodes: list[NodeInfo], profile: str = "default-scheduler") -> InMemoryCluster:
    binder = InMemoryBinder()
    sched = Scheduler(binder, default_profile=profile)
    for info in nodes:
        sched.set_node(info, 0.0)
    return InMemoryCluster(sched, binder, profile)
