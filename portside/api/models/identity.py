"""Identities: ServiceAccount (core/v1) and the authentication.k8s.io/v1 kinds, TokenRequest (a token for a
ServiceAccount), TokenReview (whose token is this?) and SelfSubjectReview (``kubectl auth whoami``). The last two
are never stored: a POST is answered with its ``status`` filled in."""

from __future__ import annotations

from ..schema import Time, model, prop
from ..typed import Model
from .meta import LocalObjectReference, ObjectMeta, ObjectReference

__all__ = [
    "ServiceAccount", "BoundObjectReference", "TokenRequest", "TokenRequestSpec", "TokenRequestStatus",
    "UserInfo", "TokenReview", "TokenReviewSpec", "TokenReviewStatus", "SelfSubjectReview",
    "SelfSubjectReviewStatus",
]

core = model("io.k8s.api.core.v1")
authn = model("io.k8s.api.authentication.v1")


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
