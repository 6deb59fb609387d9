"""Identities and the questions asked about them: ServiceAccount (core/v1), the authentication.k8s.io/v1 kinds
(TokenRequest, TokenReview, SelfSubjectReview) and the authorization.k8s.io/v1 reviews (``kubectl auth can-i``).

The review kinds are never stored: a POST is answered with the same object and its ``status`` filled in."""

from __future__ import annotations

from ..schema import Time, model, prop
from ..typed import Model
from .meta import LocalObjectReference, ObjectMeta, ObjectReference

__all__ = [
    "ServiceAccount", "BoundObjectReference", "TokenRequest", "TokenRequestSpec", "TokenRequestStatus",
    "UserInfo", "TokenReview", "TokenReviewSpec", "TokenReviewStatus", "SelfSubjectReview",
    "SelfSubjectReviewStatus", "ResourceAttributes", "NonResourceAttributes", "SubjectAccessReviewSpec",
    "SelfSubjectAccessReviewSpec", "SubjectAccessReviewStatus", "SubjectAccessReview", "SelfSubjectAccessReview",
    "LocalSubjectAccessReview", "SelfSubjectRulesReviewSpec", "ResourceRule", "NonResourceRule",
    "SubjectRulesReviewStatus", "SelfSubjectRulesReview",
]

core = model("io.k8s.api.core.v1")
authn = model("io.k8s.api.authentication.v1")
authz = model("io.k8s.api.authorization.v1")


@core
class ServiceAccount(Model):
    """An identity for processes in pods; ``automountServiceAccountToken: false`` keeps its token out of pods
    that do not ask for it."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    secrets: list[ObjectReference] | None = prop(merge_key="name", strategy="merge", list_type="map",
                                                 map_keys=("name",))
    image_pull_secrets: list[LocalObjectReference] | None = prop(list_type="atomic")
    automount_service_account_token: bool | None = prop()


# -- authentication.k8s.io/v1 ---------------------------------------------------------------------------------

@authn
class BoundObjectReference(Model):
    """The object (a Pod or a Secret) whose life a token's validity is tied to."""

    kind: str | None = prop()
    api_version: str | None = prop()
    name: str | None = prop()
    uid: str | None = prop()


@authn
class TokenRequestSpec(Model):
    audiences: list[str] | None = prop(list_type="atomic")
    expiration_seconds: int | None = prop()
    bound_object_ref: BoundObjectReference | None = prop()


@authn
class TokenRequestStatus(Model):
    token: str | None = prop(required=True)
    expiration_timestamp: Time | None = prop(required=True)


@authn
class TokenRequest(Model):
    """The body and the answer of ``serviceaccounts/NAME/token``: a signed token for the ServiceAccount."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: TokenRequestSpec | None = prop()
    status: TokenRequestStatus | None = prop()


@authn
class UserInfo(Model):
    username: str | None = prop()
    uid: str | None = prop()
    groups: list[str] | None = prop(list_type="atomic")
    extra: dict[str, list[str]] | None = prop()


@authn
class TokenReviewSpec(Model):
    token: str | None = prop()
    audiences: list[str] | None = prop(list_type="atomic")


@authn
class TokenReviewStatus(Model):
    authenticated: bool | None = prop()
    user: UserInfo | None = prop()
    audiences: list[str] | None = prop(list_type="atomic")
    error: str | None = prop()


@authn
class TokenReview(Model):
    """Asks whether a bearer token is valid and whose it is."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: TokenReviewSpec | None = prop(required=True)
    status: TokenReviewStatus | None = prop()


@authn
class SelfSubjectReviewStatus(Model):
    user_info: UserInfo | None = prop()


@authn
class SelfSubjectReview(Model):
    """``kubectl auth whoami``: the caller as the server authenticated it."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    status: SelfSubjectReviewStatus | None = prop()


# -- authorization.k8s.io/v1 ----------------------------------------------------------------------------------

@authz
class ResourceAttributes(Model):
    namespace: str | None = prop()
    verb: str | None = prop()
    group: str | None = prop()
    version: str | None = prop()
    resource: str | None = prop()
    subresource: str | None = prop()
    name: str | None = prop()


@authz
class NonResourceAttributes(Model):
    path: str | None = prop()
    verb: str | None = prop()


@authz
class SubjectAccessReviewSpec(Model):
    """Exactly one of the two attribute kinds; the subject is ``user`` and/or ``groups``."""

    resource_attributes: ResourceAttributes | None = prop()
    non_resource_attributes: NonResourceAttributes | None = prop()
    user: str | None = prop()
    groups: list[str] | None = prop(list_type="atomic")
    extra: dict[str, list[str]] | None = prop()
    uid: str | None = prop()


@authz
class SelfSubjectAccessReviewSpec(Model):
    resource_attributes: ResourceAttributes | None = prop()
    non_resource_attributes: NonResourceAttributes | None = prop()


@authz
class SubjectAccessReviewStatus(Model):
    allowed: bool | None = prop(required=True)
    denied: bool | None = prop()
    reason: str | None = prop()
    evaluation_error: str | None = prop()


@authz
class SubjectAccessReview(Model):
    """May this user (with these groups) do this?"""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: SubjectAccessReviewSpec | None = prop(required=True)
    status: SubjectAccessReviewStatus | None = prop()


@authz
class LocalSubjectAccessReview(Model):
    """A SubjectAccessReview confined to one namespace (the one it is posted in)."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: SubjectAccessReviewSpec | None = prop(required=True)
    status: SubjectAccessReviewStatus | None = prop()


@authz
class SelfSubjectAccessReview(Model):
    """``kubectl auth can-i``: may I do this?"""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: SelfSubjectAccessReviewSpec | None = prop(required=True)
    status: SubjectAccessReviewStatus | None = prop()


@authz
class SelfSubjectRulesReviewSpec(Model):
    namespace: str | None = prop()


@authz
class ResourceRule(Model):
    verbs: list[str] | None = prop(required=True, list_type="atomic")
    api_groups: list[str] | None = prop(list_type="atomic")
    resources: list[str] | None = prop(list_type="atomic")
    resource_names: list[str] | None = prop(list_type="atomic")


@authz
class NonResourceRule(Model):
    verbs: list[str] | None = prop(required=True, list_type="atomic")
    non_resource_urls: list[str] | None = prop(json="nonResourceURLs", list_type="atomic")


@authz
class SubjectRulesReviewStatus(Model):
    resource_rules: list[ResourceRule] | None = prop(required=True, list_type="atomic")
    non_resource_rules: list[NonResourceRule] | None = prop(required=True, list_type="atomic")
    incomplete: bool | None = prop(required=True)
    evaluation_error: str | None = prop()


@authz
class SelfSubjectRulesReview(Model):
    """``kubectl auth can-i --list``: everything I may do in a namespace."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: SelfSubjectRulesReviewSpec | None = prop(required=True)
    status: SubjectRulesReviewStatus | None = prop()
