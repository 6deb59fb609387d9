"""The resources portside serves: one ``ResourceInfo`` per kind drives discovery, routing, validation and OpenAPI.

Names, short names, verbs and categories follow Kubernetes' own discovery documents, so kubectl's resource
resolution (``kubectl get deploy``, ``kubectl get all``) works unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import models

__all__ = ["ResourceInfo", "RESOURCES", "lookup", "by_kind", "ALL_VERBS", "POD_METRICS", "NODE_METRICS"]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True, eq=False)
class ResourceInfo:
    """One served resource. ``model`` is its typed class; ``subresources`` are e.g. {"status", "scale"}.

    ``storage_version`` is set on a version that is served but not stored: its objects live in that version
    (under the same keys, since keys name the group and plural only) and the API server converts each one in and
    out (``api.conversion``). Whatever walks every kind once (the garbage collector, a namespace's deletion)
    walks the stored versions only.
    """

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: frozenset[str] = frozenset()
    list_kind: str = ""
    categories: tuple[str, ...] = ()
    model: type = field(default=object, repr=False)
    storage_version: str = ""

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``group/version`` otherwise (the form objects carry)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def is_stored(self) -> bool:
        return not self.storage_version

    @property
    def has_spec(self) -> bool:
        return "spec" in getattr(self.model, "__dataclass_fields__", {})


def _info(group: str, kind: str, plural: str, model: type, *, namespaced: bool = True, version: str = "v1",
          short: tuple[str, ...] = (), verbs: tuple[str, ...] = ALL_VERBS, sub: tuple[str, ...] = (),
          categories: tuple[str, ...] = (), stored_as: str = "") -> ResourceInfo:
    return ResourceInfo(group, version, kind, plural, kind.lower(), namespaced, short, verbs, frozenset(sub),
                        kind + "List", categories, model, stored_as)


_NS_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")

RESOURCES: list[ResourceInfo] = [
    _info("", "Namespace", "namespaces", models.Namespace, namespaced=False, short=("ns",), verbs=_NS_VERBS,
          sub=("status", "finalize")),
    _info("", "Node", "nodes", models.Node, namespaced=False, short=("no",), sub=("status",)),
    _info("", "Pod", "pods", models.Pod, short=("po",), sub=("status", "binding", "eviction"),
          categories=("all",)),
    _info("", "Service", "services", models.Service, short=("svc",), sub=("status",), categories=("all",)),
    _info("", "Endpoints", "endpoints", models.Endpoints, short=("ep",)),
    _info("", "ConfigMap", "configmaps", models.ConfigMap, short=("cm",)),
    _info("", "Secret", "secrets", models.Secret),
    _info("", "Event", "events", models.Event, short=("ev",)),
    _info("", "ResourceQuota", "resourcequotas", models.ResourceQuota, short=("quota",), sub=("status",)),
    _info("", "LimitRange", "limitranges", models.LimitRange, short=("limits",)),
    _info("apps", "Deployment", "deployments", models.Deployment, short=("deploy",), sub=("status", "scale"),
          categories=("all",)),
    _info("apps", "ReplicaSet", "replicasets", models.ReplicaSet, short=("rs",), sub=("status", "scale"),
          categories=("all",)),
    _info("apps", "DaemonSet", "daemonsets", models.DaemonSet, short=("ds",), sub=("status",), categories=("all",)),
    _info("apps", "StatefulSet", "statefulsets", models.StatefulSet, short=("sts",), sub=("status", "scale"),
          categories=("all",)),
    _info("apps", "ControllerRevision", "controllerrevisions", models.ControllerRevision),
    _info("batch", "Job", "jobs", models.Job, sub=("status",), categories=("all",)),
    _info("batch", "CronJob", "cronjobs", models.CronJob, short=("cj",), sub=("status",), categories=("all",)),
    _info("scheduling.k8s.io", "PriorityClass", "priorityclasses", models.PriorityClass, namespaced=False,
          short=("pc",)),
    _info("coordination.k8s.io", "Lease", "leases", models.Lease),
    _info("policy", "PodDisruptionBudget", "poddisruptionbudgets", models.PodDisruptionBudget, short=("pdb",),
          sub=("status",)),
    # v2 first: the preferred version discovery announces, and the one by_kind and short names resolve to.
    _info("autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers", models.HorizontalPodAutoscaler,
          version="v2", short=("hpa",), sub=("status",), categories=("all",)),
    _info("autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers", models.HorizontalPodAutoscalerV1,
          short=("hpa",), sub=("status",), categories=("all",), stored_as="v2"),
    _info("", "PersistentVolume", "persistentvolumes", models.PersistentVolume, namespaced=False, short=("pv",),
          sub=("status",)),
    _info("", "PersistentVolumeClaim", "persistentvolumeclaims", models.PersistentVolumeClaim, short=("pvc",),
          sub=("status",)),
    _info("storage.k8s.io", "StorageClass", "storageclasses", models.StorageClass, namespaced=False,
          short=("sc",)),
    _info("networking.k8s.io", "NetworkPolicy", "networkpolicies", models.NetworkPolicy, short=("netpol",)),
]

# metrics.k8s.io: computed from the agents' samples on each request, never stored (apiserver/metricsapi.py), so
# not among RESOURCES; described here so that the typed client reads them like any other kind.
POD_METRICS = ResourceInfo("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", "", True, verbs=("get", "list"),
                           list_kind="PodMetricsList", model=models.PodMetrics)
NODE_METRICS = ResourceInfo("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", "", False, verbs=("get", "list"),
                            list_kind="NodeMetricsList", model=models.NodeMetrics)

_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
_BY_KIND = {(r.group, r.kind): r for r in RESOURCES if r.is_stored}


def lookup(group: str, version: str, plural: str) -> ResourceInfo | None:
    """The resource served at ``/apis/<group>/<version>/<plural>`` (group "" for ``/api/v1``)."""
    return _BY_PATH.get((group, version, plural))


def by_kind(group: str, kind: str) -> ResourceInfo | None:
    """The resource for a kind in a group, e.g. for ownerReferences (``apps``, ``ReplicaSet``); of a kind served
    in several versions, the stored one."""
    return _BY_KIND.get((group, kind))
