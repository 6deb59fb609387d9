"""The authorizer chain (``--authorization-mode``, default ``Node,RBAC``), asked once per request before routing.

As on Kubernetes: members of ``system:masters`` are allowed everything first (so the admin credential works even
if someone deletes its binding); then each mode in order may allow. ``Node`` answers for node credentials only
(``nodeauth``), ``RBAC`` for everyone; ``AlwaysAllow`` allows all (a cluster without authorization, for
comparison). A mode that does not allow has no opinion and the next one is asked; when none allows, the request
is refused with Kubernetes' words and the reasons the modes gave (the Node authorizer says why).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from portside import api
from portside.apiserver import errors, nodeauth
from portside.apiserver.auth import MASTERS
from portside.apiserver.authz.attributes import Attributes
from portside.apiserver.authz.rbac import RBACAuthorizer
from portside.apiserver.objects import Target

MODES = ("AlwaysAllow", "Node", "RBAC")
DEFAULT_MODES = ("Node", "RBAC")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""


def parse_modes(text: str) -> tuple[str, ...]:
    """``Node,RBAC`` -> ("Node", "RBAC"); ValueError names what is unknown."""
    modes = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ValueError(f"--authorization-mode: unknown mode {unknown[0] if unknown else text!r} (expected a "
                         f"comma-separated list of {', '.join(MODES)})")
    return modes


class Authorizer:
    def __init__(self, modes: tuple[str, ...], rbac: RBACAuthorizer, registry) -> None:
        self.modes, self.rbac, self.registry = modes, rbac, registry

    async def decide(self, a: Attributes, request: web.Request | None = None, explain: bool = False) -> Decision:
        """``request``: the HTTP request the attributes came from, which the Node authorizer reads (a body's name,
        a field selector); without one (an access review) it has no opinion and RBAC alone decides. ``explain``:
        word the reason for an allowed request too (access reviews show it; requests need not pay for it)."""
        if MASTERS in a.user.groups:
            return Decision(True, "")
        reasons = []
        for mode in self.modes:
            if mode == "AlwaysAllow":
                return Decision(True, "")
            if mode == "Node" and a.user.node and a.resource_request and request is not None:
                why = await self._node(a, request)
                if why is None:
                    return Decision(True, "")
                reasons.append(why)
            elif mode == "RBAC":
                found = self.rbac.allows(a)
                if found is not None:
                    return Decision(True, self.rbac.reason(a, found) if explain else "")
        return Decision(False, "; ".join(reasons))

    async def _node(self, a: Attributes, request: web.Request) -> str | None:
        info = api.lookup(a.api_group, a.api_version, a.resource)
        if info is None:
            return f"a node may not {a.verb} {a.resource}"
        t = Target(info, a.namespace if info.namespaced else "", a.name, a.subresource)
        return await nodeauth.refusal(self.registry, request, a.user, t, a.verb)


def forbidden(a: Attributes, reason: str) -> errors.ApiError:
    """Kubernetes' refusal, word for word: kubectl prints it, and people search for it."""
    user = a.user.name
    if not a.resource_request:
        message = f'forbidden: User "{user}" cannot {a.verb} path "{a.path}"'
        return errors.ApiError(403, "Forbidden", message + (f": {reason}" if reason else ""))
    resource = a.resource + (f"/{a.subresource}" if a.subresource else "")
    scope = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
    why = f'User "{user}" cannot {a.verb} resource "{resource}" in API group "{a.api_group}" {scope}'
    if reason:
        why += f": {reason}"
    what = f'{a.qualified} "{a.name}"' if a.name else a.qualified
    return errors.ApiError(403, "Forbidden", f"{what} is forbidden: {why}",
                           {"name": a.name, "group": a.api_group, "kind": a.resource})
