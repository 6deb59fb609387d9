"""metrics.k8s.io/v1beta1 PodMetrics and NodeMetrics: usage the API server computes from the agents' samples
(never stored), typed so that a controller reads them as it reads any other object."""

from __future__ import annotations

from ..schema import QuantityValue, Time, model, prop
from ..typed import Model
from .meta import ObjectMeta

__all__ = ["PodMetrics", "ContainerMetrics", "NodeMetrics"]

metrics = model("io.k8s.metrics.pkg.apis.metrics.v1beta1")


@metrics
class ContainerMetrics(Model):
    name: str | None = prop(required=True)
    usage: dict[str, QuantityValue] | None = prop(required=True)


@metrics
class PodMetrics(Model):
    """Each container's usage, averaged over ``window`` (a Go duration, ``"10s"``) ending at ``timestamp``."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    timestamp: Time | None = prop()
    window: str | None = prop()
    containers: list[ContainerMetrics] | None = prop()


@metrics
class NodeMetrics(Model):
    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    timestamp: Time | None = prop()
    window: str | None = prop()
    usage: dict[str, QuantityValue] | None = prop()
