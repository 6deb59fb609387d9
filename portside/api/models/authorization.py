"""authorization.k8s.io/v1: the questions ``kubectl auth can-i`` asks (SelfSubjectAccessReview, and with
``--list`` SelfSubjectRulesReview), the same about others (SubjectAccessReview, LocalSubjectAccessReview), and the
answers. None of them is stored: a POST is answered with its ``status`` filled in."""

from __future__ import annotations

from ..schema import model, prop
from ..typed import Model
from .meta import ObjectMeta

__all__ = ["ResourceAttributes", "NonResourceAttributes", "SelfSubjectAccessReviewSpec",
           "SubjectAccessReviewStatus", "SelfSubjectAccessReview", "SubjectAccessReviewSpec", "SubjectAccessReview",
           "LocalSubjectAccessReview", "SelfSubjectRulesReviewSpec", "ResourceRule", "NonResourceRule",
           "SubjectRulesReviewStatus", "SelfSubjectRulesReview"]

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


@authorization
class SubjectAccessReviewSpec(Model):
    """Exactly one of the two attribute kinds; the subject is ``user`` and/or ``groups``."""

    resource_attributes: ResourceAttributes | None = prop()
    non_resource_attributes: NonResourceAttributes | None = prop()
    user: str | None = prop()
    groups: list[str] | None = prop(list_type="atomic")
    extra: dict[str, list[str]] | None = prop()
    uid: str | None = prop()


@authorization
class SubjectAccessReview(Model):
    """May this user (with these groups) do this?"""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: SubjectAccessReviewSpec | None = prop(required=True)
    status: SubjectAccessReviewStatus | None = prop()


@authorization
class LocalSubjectAccessReview(Model):
    """A SubjectAccessReview confined to one namespace (the one it is posted in)."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: SubjectAccessReviewSpec | None = prop(required=True)
    status: SubjectAccessReviewStatus | None = prop()


@authorization
class SelfSubjectRulesReviewSpec(Model):
    namespace: str | None = prop()


@authorization
class ResourceRule(Model):
    verbs: list[str] | None = prop(required=True, list_type="atomic")
    api_groups: list[str] | None = prop(list_type="atomic")
    resources: list[str] | None = prop(list_type="atomic")
    resource_names: list[str] | None = prop(list_type="atomic")


@authorization
class NonResourceRule(Model):
    verbs: list[str] | None = prop(required=True, list_type="atomic")
    non_resource_urls: list[str] | None = prop(json="nonResourceURLs", list_type="atomic")


@authorization
class SubjectRulesReviewStatus(Model):
    resource_rules: list[ResourceRule] | None = prop(required=True, list_type="atomic")
    non_resource_rules: list[NonResourceRule] | None = prop(required=True, list_type="atomic")
    incomplete: bool | None = prop(required=True)
    evaluation_error: str | None = prop()


@authorization
class SelfSubjectRulesReview(Model):
    """``kubectl auth can-i --list``: everything I may do in a namespace."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: SelfSubjectRulesReviewSpec | None = prop(required=True)
    status: SubjectRulesReviewStatus | None = prop()
