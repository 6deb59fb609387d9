"""Admission: the checks that need other objects (validation of one object alone lives in ``api``).

- a namespaced object needs its namespace to exist and not be terminating;
- a Service's requested ClusterIP and node ports must lie in their ranges;
- a Job's ``portside.io/depends-on`` must not close a cycle among the namespace's Jobs;
- a new pod tolerates the node lifecycle's NoExecute taints (not-ready, unreachable) for a while, unless it says
  otherwise (Kubernetes' DefaultTolerationSeconds plugin; ``--default-eviction-timeout``, 10 s here against
  Kubernetes' 300 s, so that a lost node's pods are replaced within seconds);
- a new claim that names no storage class gets the default class (DefaultStorageClass), and new claims and
  volumes get the ``kubernetes.io/pvc-protection`` / ``kubernetes.io/pv-protection`` finalizer, which the PV
  controller removes once nothing uses them (StorageObjectInUseProtection);
- LimitRange defaults and bounds for pods and claims (``limitranger``), then the Pod Security Standards by
  namespace label (``podsecurity``); ResourceQuota is charged last, in the commit itself (``quota``, through the
  registry).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from portside import api
from portside.api import volumes
from portside.api.models import StorageClass
from portside.apiserver import alloc, errors
from portside.apiserver.limitranger import LimitRanger
from portside.apiserver.objects import key, list_prefix
from portside.apiserver.podsecurity import PodSecurity
from portside.apiserver.quota import QuotaAdmission

if TYPE_CHECKING:
    from portside.apiserver.registry import Registry, WriteOptions

NAMESPACES = api.lookup("", "v1", "namespaces")
JOBS = api.lookup("batch", "v1", "jobs")
STORAGE_CLASSES = api.lookup("storage.k8s.io", "v1", "storageclasses")
PROTECTION = {"PersistentVolumeClaim": volumes.PVC_PROTECTION, "PersistentVolume": volumes.PV_PROTECTION}
DEFAULT_TOLERATION_SECONDS = 10
LIFECYCLE_TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def find_cycle(graph: dict[str, list[str]], start: str) -> list[str] | None:
    """A path start -> ... -> start through ``graph`` if there is one (depth-first, iterative)."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, []):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


def default_tolerations(spec: dict[str, Any], seconds: int) -> None:
    """Add a toleration of each lifecycle taint the pod does not tolerate already with NoExecute (a toleration
    of any key, or of any effect, counts), as Kubernetes' DefaultTolerationSeconds does."""
    tolerations = spec.get("tolerations") or []
    for taint in LIFECYCLE_TAINTS:
        if not any(t.get("key", "") in (taint, "") and t.get("effect", "") in ("NoExecute", "") for t in tolerations):
            tolerations.append({"key": taint, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": seconds})
    spec["tolerations"] = tolerations


def protect(obj: dict[str, Any], finalizer: str) -> None:
    finalizers = obj["metadata"].setdefault("finalizers", [])
    if finalizer not in finalizers:
        finalizers.append(finalizer)


class Admission:
    def __init__(self, registry: Registry, toleration_seconds: int = DEFAULT_TOLERATION_SECONDS) -> None:
        self.registry = registry
        self.toleration_seconds = toleration_seconds
        self._namespaces: set[str] = set()  # known to exist; every namespace delete passes through forget_namespace
        self.limit_ranger = LimitRanger(registry.store)
        self.pod_security = PodSecurity(registry.store)
        self.quota = QuotaAdmission(registry.store)

    def forget_namespace(self, name: str) -> None:
        self._namespaces.discard(name)

    async def on_create(self, info: api.ResourceInfo, obj: dict[str, Any], opts: WriteOptions | None = None) -> None:
        if info.namespaced:
            await self._namespace_open(obj["metadata"]["namespace"])
        if info.kind == "Pod" and info.group == "":
            default_tolerations(obj.setdefault("spec", {}), self.toleration_seconds)
        if info.kind in PROTECTION and info.group == "":
            protect(obj, PROTECTION[info.kind])
        if info.kind == "PersistentVolumeClaim" and info.group == "":
            await self._default_class(obj.setdefault("spec", {}))
        await self._common(info, obj)
        await self.limit_ranger.admit(info, obj, None)
        await self.pod_security.on_create(info, obj, opts)

    async def on_update(self, info: api.ResourceInfo, new: dict[str, Any], old: dict[str, Any],
                        opts: WriteOptions | None = None, subresource: str = "") -> None:
        await self._common(info, new)
        if not subresource:
            await self.limit_ranger.admit(info, new, old)
        await self.pod_security.on_update(info, new, old, opts, subresource)

    async def _common(self, info: api.ResourceInfo, obj: dict[str, Any]) -> None:
        if info.kind == "Service":
            self._service_ranges(info, obj)
        elif info.kind == "Job" and api.parse_depends_on(obj["metadata"].get("annotations")):
            await self._job_cycles(info, obj)

    async def _default_class(self, spec: dict[str, Any]) -> None:
        """Only an absent class is defaulted: ``storageClassName: ""`` asks for a volume without a class."""
        if "storageClassName" in spec:
            return
        listed = await self.registry.store.list(list_prefix(STORAGE_CLASSES, ""))
        found = volumes.default_class([StorageClass.from_dict(json.loads(kv.value)) for kv in listed.items])
        if found is not None:
            spec["storageClassName"] = found.metadata.name

    async def _namespace_open(self, name: str) -> None:
        if name in self._namespaces:
            return
        kv = await self.registry.store.get(key(NAMESPACES, "", name))
        if kv is None:
            raise errors.not_found(NAMESPACES, name)
        if json.loads(kv.value).get("metadata", {}).get("deletionTimestamp"):
            raise errors.forbidden(f'unable to create new content in namespace {name} because it is being '
                                   f'terminated')
        self._namespaces.add(name)

    @staticmethod
    def _service_ranges(info: api.ResourceInfo, obj: dict[str, Any]) -> None:
        try:
            alloc.check_ranges(obj.get("spec") or {})
        except alloc.AllocationError as exc:
            raise errors.field_invalid(info, obj["metadata"].get("name", ""), exc.path, exc.value, exc.detail) from exc

    async def _job_cycles(self, info: api.ResourceInfo, obj: dict[str, Any]) -> None:
        m = obj["metadata"]
        listed = await self.registry.store.list(list_prefix(JOBS, m["namespace"]))
        graph: dict[str, list[str]] = {}
        for kv in listed.items:
            other = json.loads(kv.value)["metadata"]
            graph[other["name"]] = api.parse_depends_on(other.get("annotations"))
        graph[m["name"]] = api.parse_depends_on(m.get("annotations"))
        cycle = find_cycle(graph, m["name"])
        if cycle:
            path = f"metadata.annotations[{api.DEPENDS_ON}]"
            raise errors.field_invalid(info, m["name"], path, m["annotations"][api.DEPENDS_ON],
                                       "dependency cycle: " + " -> ".join(cycle))
