"""``kubectl --as USER [--as-group G]``: acting as another user, for callers allowed to ``impersonate`` them.

The ``Impersonate-User``, ``Impersonate-Group``, ``Impersonate-Uid`` and ``Impersonate-Extra-KEY`` headers are
authorized one by one, as Kubernetes authorizes them: ``impersonate`` on ``users`` (or, for
``system:serviceaccount:NS:NAME``, on that ServiceAccount in its namespace), on ``groups``, and on ``uids`` and
``userextras/KEY`` in ``authentication.k8s.io``. The request then runs as the impersonated user alone; its groups
are the ones asked for plus ``system:authenticated`` (and a ServiceAccount's own groups when none are asked for).
"""

from __future__ import annotations

from aiohttp import web

from portside.apiserver import errors
from portside.apiserver.auth import AUTHENTICATED, UNAUTHENTICATED, User
from portside.apiserver.authz.attributes import Attributes
from portside.apiserver.authz.chain import Authorizer, forbidden

USER_HEADER, GROUP_HEADER, UID_HEADER, EXTRA_PREFIX = ("Impersonate-User", "Impersonate-Group", "Impersonate-Uid",
                                                       "Impersonate-Extra-")
SA_PREFIX = "system:serviceaccount:"
AUTHN = "authentication.k8s.io"


def _asks(request: web.Request) -> bool:
    return any(h[:12].lower() == "impersonate-" for h in request.headers)


async def _allow(authorizer: Authorizer, attrs: Attributes) -> None:
    decision = await authorizer.decide(attrs)
    if not decision.allowed:
        raise forbidden(attrs, decision.reason)


def _check(requester: User, resource: str, name: str, group: str = "", namespace: str = "",
           sub: str = "") -> Attributes:
    return Attributes(requester, "impersonate", True, "", group, "", namespace, resource, sub, name)


async def impersonated(authorizer: Authorizer, requester: User, request: web.Request) -> User:
    """``requester`` itself, or the user its headers ask to act as once every part of that is allowed."""
    if not _asks(request):
        return requester
    name = request.headers.get(USER_HEADER, "")
    if not name:
        raise errors.bad_request(f"requested {', '.join(h for h in request.headers if h.lower().startswith('impersonate-'))}"
                                 f" without impersonating a user")
    groups = request.headers.getall(GROUP_HEADER, [])
    uid = request.headers.get(UID_HEADER, "")
    extra = sorted((h[len(EXTRA_PREFIX):].lower(), v) for h, v in request.headers.items()
                   if h.lower().startswith(EXTRA_PREFIX.lower()))
    if name.startswith(SA_PREFIX) and name.count(":") == 3:
        namespace, sa = name[len(SA_PREFIX):].split(":", 1)
        await _allow(authorizer, _check(requester, "serviceaccounts", sa, namespace=namespace))
        if not groups:
            groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    else:
        await _allow(authorizer, _check(requester, "users", name))
    for group in request.headers.getall(GROUP_HEADER, []):
        await _allow(authorizer, _check(requester, "groups", group))
    if uid:
        await _allow(authorizer, _check(requester, "uids", uid, AUTHN))
    for key, value in extra:
        await _allow(authorizer, _check(requester, "userextras", value, AUTHN, sub=key))
    if name != "system:anonymous" and AUTHENTICATED not in groups and UNAUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    merged: dict[str, list[str]] = {}
    for key, value in extra:
        merged.setdefault(key, []).append(value)
    return User(name, False, tuple(groups), uid, tuple((k, tuple(v)) for k, v in merged.items()))
