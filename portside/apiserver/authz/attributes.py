"""What a request asks to do, read from its method, path and query alone: Kubernetes' ``RequestInfo``.

Authorization runs before routing and knows nothing of the resource table, so every resource served now or added
later is authorized the same way, by (verb, API group, resource, subresource, namespace, name). Paths under
``/api/v1`` and ``/apis/GROUP/VERSION`` are resource requests; everything else (``/healthz``, ``/metrics``,
``/openapi/v2``, ``/apis`` itself) is a non-resource request whose verb is the lowercase HTTP method.

- ``GET`` is ``get`` with a name, else ``list``, or ``watch`` with ``?watch=true`` or the old ``/watch/`` prefix;
  a list or watch narrowed to one object by ``fieldSelector=metadata.name=N`` counts as naming ``N``, so that
  ``resourceNames`` rules allow ``kubectl get pod N -w``;
- ``POST`` is ``create``, ``PUT`` ``update``, ``PATCH`` ``patch``, ``DELETE`` ``delete`` with a name and
  ``deletecollection`` without one;
- ``/namespaces/NS`` (and its ``status`` and ``finalize``) is the namespace object ``NS``; anything further down
  is a resource inside the namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from portside.apiserver.auth import User

RESOURCE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
CONNECT_SUBRESOURCES = frozenset({"exec", "attach", "portforward"})  # a GET upgrade also needs create, as in 1.30+


@dataclass(slots=True)
class Attributes:
    """One request (or one access review) as the authorizers see it (not frozen: a frozen dataclass's
    ``__init__`` is several times slower, and one is made per request)."""

    user: User
    verb: str
    resource_request: bool
    path: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""

    @property
    def qualified(self) -> str:
        """``pods`` or ``deployments.apps``: how refusals name the resource."""
        return f"{self.resource}.{self.api_group}" if self.api_group else self.resource


def _parts(path: str) -> list[str]:
    if "%" in path:
        return [unquote(p) for p in path.split("/") if p]
    return [p for p in path.split("/") if p]


def from_request(user: User, method: str, path: str, query) -> Attributes:
    """The attributes of an HTTP request (``query``: its parsed query, a mapping)."""
    parts = _parts(path)
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return Attributes(user, method.lower() if method != "HEAD" else "get", False, path)
    if not rest:
        return Attributes(user, method.lower() if method != "HEAD" else "get", False, path)
    watching = rest[0] == "watch"
    if watching:
        rest = rest[1:]
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces":
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 else ""
    verb = _verb(method, name, watching or query.get("watch") in ("1", "true"))
    if verb in ("list", "watch") and not name:
        name = _named_by_selector(query.get("fieldSelector", ""))
    return Attributes(user, verb, True, path, group, version, namespace, resource, subresource, name)


def _verb(method: str, name: str, watching: bool) -> str:
    if method in ("GET", "HEAD"):
        if watching:
            return "watch"
        return "get" if name else "list"
    if method == "DELETE" and not name:
        return "deletecollection"
    return RESOURCE_VERBS.get(method, method.lower())


def _named_by_selector(selector: str) -> str:
    """``N`` when the field selector is exactly ``metadata.name=N`` (or ``==N``)."""
    if "," in selector:
        return ""
    for op in ("==", "="):
        key, sep, value = selector.partition(op)
        if sep and key.strip() == "metadata.name" and not value.startswith("="):
            return value.strip()
    return ""


def also_create(attrs: Attributes, method: str, upgrade: bool) -> Attributes | None:
    """A websocket ``GET`` of exec, attach or portforward is also checked as ``create`` (Kubernetes 1.30+): the
    read verb alone would let a viewer run commands."""
    if method == "GET" and upgrade and attrs.subresource in CONNECT_SUBRESOURCES and attrs.resource == "pods":
        return Attributes(attrs.user, "create", True, attrs.path, attrs.api_group, attrs.api_version,
                          attrs.namespace, attrs.resource, attrs.subresource, attrs.name)
    return None
