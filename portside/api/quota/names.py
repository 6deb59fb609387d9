"""The names a quota may cap, the scopes it may have, and which scope may go with which name.

A name is standard (``requests.cpu``, ``pods``, ``services.nodeports``, ...), a hugepages size, a generic object
count ``count/<resource>[.<group>]``, a storage-class one (``<class>.storageclass.storage.k8s.io/requests.storage``)
or an extended resource (``requests.example.com/gpu``), as Kubernetes' ``pkg/apis/core/helper`` sorts them.
"""

from __future__ import annotations

__all__ = [
    "STANDARD_RESOURCES", "STANDARD_QUOTA", "INTEGER_RESOURCES", "SCOPES", "SCOPE_OPERATORS", "POD_COUNT",
    "POD_COMPUTE", "STORAGE_CLASS_SUFFIX", "is_standard_quota_name", "is_standard_resource_name",
    "is_integer_resource", "is_extended_resource", "scope_valid_for", "object_count_name", "parse_count_name",
]

# Kubernetes' standardResources: names that need no domain prefix anywhere.
STANDARD_RESOURCES = frozenset({
    "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
    "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "services", "replicationcontrollers",
    "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims", "storage", "requests.storage",
    "services.nodeports", "services.loadbalancers",
})
# ...and of those, the ones a quota may cap (its standardQuotaResources).
STANDARD_QUOTA = STANDARD_RESOURCES - {"storage"}
INTEGER_RESOURCES = frozenset({
    "pods", "resourcequotas", "services", "replicationcontrollers", "secrets", "configmaps", "persistentvolumeclaims",
    "services.nodeports", "services.loadbalancers",
})
SCOPES = ["Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass",
          "CrossNamespacePodAffinity"]
SCOPE_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"]
POD_COUNT = frozenset({"pods"})
POD_COMPUTE = frozenset({"cpu", "memory", "limits.cpu", "limits.memory", "requests.cpu", "requests.memory"})
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
_NATIVE_DOMAIN = "kubernetes.io"


def _is_hugepages(name: str) -> bool:
    return name.startswith("hugepages-") or name.startswith("requests.hugepages-")


def is_standard_resource_name(name: str) -> bool:
    return name in STANDARD_RESOURCES or name.startswith("hugepages-")


def is_standard_quota_name(name: str) -> bool:
    return name in STANDARD_QUOTA or _is_hugepages(name)


def _is_native(name: str) -> bool:
    prefix = name.split("/", 1)[0] if "/" in name else ""
    return not prefix or prefix == _NATIVE_DOMAIN or prefix.endswith("." + _NATIVE_DOMAIN)


def is_extended_resource(name: str) -> bool:
    """A domain-prefixed resource outside kubernetes.io that is not itself a ``requests.`` name (GPUs, ...)."""
    return not _is_native(name) and not name.startswith("requests.")


def is_integer_resource(name: str) -> bool:
    """Object counts and domain-prefixed names (``count/...`` among them): a quota on them is a whole number."""
    return name in INTEGER_RESOURCES or is_extended_resource(name)


def scope_valid_for(scope: str, name: str) -> bool:
    """Scopes select pods: a scoped quota may cap pod counts and compute (BestEffort pods have no compute)."""
    if scope in ("Terminating", "NotTerminating", "NotBestEffort", "PriorityClass", "CrossNamespacePodAffinity"):
        return name in POD_COUNT or name in POD_COMPUTE
    if scope == "BestEffort":
        return name in POD_COUNT
    return True


def object_count_name(group: str, plural: str) -> str:
    """``count/pods``, ``count/deployments.apps``: the generic count of a resource."""
    return f"count/{plural}.{group}" if group else f"count/{plural}"


def parse_count_name(name: str) -> tuple[str, str] | None:
    """(group, plural) of a ``count/...`` name, else None."""
    if not name.startswith("count/") or len(name) == len("count/"):
        return None
    plural, _, group = name.removeprefix("count/").partition(".")
    return group, plural
