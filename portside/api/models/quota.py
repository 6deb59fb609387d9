"""core/v1 ResourceQuota and LimitRange: what a namespace may consume in total, and per container, pod or claim."""

from __future__ import annotations

from ..schema import QuantityValue, model, prop
from ..typed import Model
from .meta import ObjectMeta

__all__ = [
    "ResourceQuota", "ResourceQuotaSpec", "ResourceQuotaStatus", "ScopeSelector",
    "ScopedResourceSelectorRequirement", "LimitRange", "LimitRangeSpec", "LimitRangeItem",
]

core = model("io.k8s.api.core.v1")


@core
class ScopedResourceSelectorRequirement(Model):
    """One scope a quota applies to: a pod property (Terminating, BestEffort, ...) or its PriorityClass."""

    scope_name: str | None = prop(required=True)
    operator: str | None = prop(required=True)
    values: list[str] | None = prop(list_type="atomic")


@core
class ScopeSelector(Model):
    match_expressions: list[ScopedResourceSelectorRequirement] | None = prop(list_type="atomic")


@core
class ResourceQuotaSpec(Model):
    hard: dict[str, QuantityValue] | None = prop()
    scopes: list[str] | None = prop(list_type="atomic")
    scope_selector: ScopeSelector | None = prop()


@core
class ResourceQuotaStatus(Model):
    """``hard`` is the limit being enforced (the quota controller copies it from the spec); ``used`` is what the
    namespace's objects take, counted by the controller and charged by admission as objects are created."""

    hard: dict[str, QuantityValue] | None = prop()
    used: dict[str, QuantityValue] | None = prop()


@core
class ResourceQuota(Model):
    """Caps on the total a namespace's objects may request, limit or number."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: ResourceQuotaSpec | None = prop()
    status: ResourceQuotaStatus | None = prop()


@core
class LimitRangeItem(Model):
    """Bounds and defaults for one type of thing: Container, Pod or PersistentVolumeClaim."""

    type: str | None = prop(required=True)
    max: dict[str, QuantityValue] | None = prop()
    min: dict[str, QuantityValue] | None = prop()
    default: dict[str, QuantityValue] | None = prop()
    default_request: dict[str, QuantityValue] | None = prop()
    max_limit_request_ratio: dict[str, QuantityValue] | None = prop()


@core
class LimitRangeSpec(Model):
    limits: list[LimitRangeItem] | None = prop(list_type="atomic", required=True)


@core
class LimitRange(Model):
    """Per-object resource bounds in a namespace, and the defaults containers get when they set none."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: LimitRangeSpec | None = prop()
