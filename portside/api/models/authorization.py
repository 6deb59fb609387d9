"""authorization.k8s.io/v1 SelfSubjectAccessReview: the question ``kubectl auth can-i`` asks, and its answer."""

from __future__ import annotations

from ..schema import model, prop
from ..typed import Model
from .meta import ObjectMeta

__all__ = ["ResourceAttributes", "NonResourceAttributes", "SelfSubjectAccessReviewSpec",
           "SubjectAccessReviewStatus", "SelfSubjectAccessReview"]

authorization = model("io.k8s.api.authorization.v1")


@authorization
class ResourceAttributes(Model):
    """A verb on a resource (optionally a named object, a subresource, a namespace)."""

    namespace: str | None = prop()
    verb: str | None = prop()
    group: str | None = prop()
    version: str | None = prop()
    resource: str | None = prop()
    subresource: str | None = prop()
    name: str | None = prop()


@authorization
class NonResourceAttributes(Model):
    """A verb on a URL path that is not a resource, such as ``/healthz``."""

    path: str | None = prop()
    verb: str | None = prop()


@authorization
class SelfSubjectAccessReviewSpec(Model):
    """Exactly one of resourceAttributes and nonResourceAttributes."""

    resource_attributes: ResourceAttributes | None = prop()
    non_resource_attributes: NonResourceAttributes | None = prop()


@authorization
class SubjectAccessReviewStatus(Model):
    allowed: bool | None = prop(required=True)
    denied: bool | None = prop()
    reason: str | None = prop()
    evaluation_error: str | None = prop()


@authorization
class SelfSubjectAccessReview(Model):
    """May the caller do this? The server answers in ``status``; nothing is stored."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: SelfSubjectAccessReviewSpec | None = prop(required=True)
    status: SubjectAccessReviewStatus | None = prop()
