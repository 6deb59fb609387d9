"""LimitRange admission (Kubernetes' LimitRanger plugin): a new pod's containers take their namespace's
LimitRange defaults, then the pod is held to the ranges' bounds; a claim (created or resized) to its storage
bounds. Refusals are 403 with Kubernetes' messages (``pods "x" is forbidden: minimum cpu usage per Container is
100m, but request is 50m``).

It runs before quota is charged, so a pod is charged what it was given. Pods are decoded, defaulted and
validated before admission here, so a pod changed by defaults is validated again (a defaulted limit below the
container's own request is refused as Kubernetes refuses it) and its QoS class recomputed.
"""

from __future__ import annotations

from typing import Any

from portside import api
from portside.api import limitrange
from portside.api.validation import validate
from portside.apiserver import errors
from portside.apiserver.watched import WatchedObjects
from portside.store import Store

LIMITRANGES = api.lookup("", "v1", "limitranges")
PODS = api.lookup("", "v1", "pods")


class LimitRanger:
    def __init__(self, store: Store) -> None:
        self.ranges = WatchedObjects(store, LIMITRANGES)

    async def admit(self, info: api.ResourceInfo, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Default and check a pod create, or a claim create or update (in place); raises 403 or 422."""
        if info.group or info.plural not in ("pods", "persistentvolumeclaims"):
            return
        if info.plural == "pods" and old is not None:  # a pod's resources never change after it is created
            return
        meta = obj.get("metadata") or {}
        ranges = sorted(await self.ranges.in_namespace(meta.get("namespace", "")),
                        key=lambda lr: (lr.get("metadata") or {}).get("name", ""))
        if not ranges:
            return
        if info.plural == "pods":
            self._default_pod(obj, ranges)
            problems = limitrange.pod_violations(obj, ranges)
        else:
            problems = limitrange.claim_violations(obj, ranges)
        if problems:
            raise errors.forbidden_object(info, meta.get("name", ""), limitrange.aggregate(problems))

    @staticmethod
    def _default_pod(pod: dict[str, Any], ranges: list[dict[str, Any]]) -> None:
        if not limitrange.apply_defaults(pod, ranges):
            return
        problems = validate("Pod", pod)
        if problems:
            raise errors.invalid(api.Invalid("Pod", (pod.get("metadata") or {}).get("name", ""), list(problems)))
        pod.setdefault("status", {})["qosClass"] = api.qos_class(pod)
