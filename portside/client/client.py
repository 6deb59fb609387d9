"""The one API client every portside component uses: paths from ``api.RESOURCES``, typed models in and out.

Resources are named as kubectl names them (``pods``, ``deployments.apps``, ``deploy``) or given as a
``ResourceInfo``. Failures raise ``client.errors`` classes built from the server's Status.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp

from portside import api
from portside.api import jsonwire, models
from portside.api.typed import Model
from portside.client import errors
from portside.client.config import ClientConfig, load_kubeconfig

if TYPE_CHECKING:
    from portside.client.watch import WatchEvent

PATCH_TYPES = {"merge": "application/merge-patch+json", "json": "application/json-patch+json",
               "strategic": "application/strategic-merge-patch+json", "apply": "application/apply-patch+yaml"}
Resource = str | api.ResourceInfo


def resource(name: str | api.ResourceInfo) -> api.ResourceInfo:
    """``pods``, ``pod``, ``po``, ``Pod``, ``deployments.apps`` -> the served resource; ValueError otherwise."""
    if isinstance(name, api.ResourceInfo):
        return name
    return _lookup(name)


@functools.lru_cache(maxsize=256)
def _lookup(name: str) -> api.ResourceInfo:
    """Memoised: a scheduler names ``pods`` on every one of thousands of bindings a second."""
    base, _, group = name.partition(".")
    for info in api.RESOURCES:
        if group and info.group != group:
            continue
        if base in (info.plural, info.singular, info.kind) or base in info.short_names:
            return info
    raise ValueError(f"unknown resource {name!r} (expected a plural such as pods or deployments.apps)")


def path(info: api.ResourceInfo, namespace: str = "", name: str = "", subresource: str = "") -> str:
    base = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    if info.namespaced and namespace:
        base += f"/namespaces/{namespace}"
    parts = [base, info.plural] + [p for p in (name, subresource) if p]
    return "/".join(parts)


Obj = Any  # a typed model (``api.models``), or a wire dict from ``Client.raw``
SUBRESOURCE_MODELS = {"scale": models.Scale, "binding": models.Binding}


@dataclass(frozen=True, slots=True)
class Listing:
    """A list answer: the objects (typed, or wire dicts from ``Client.raw``) and the revision they were read at,
    from which a watch continues."""

    items: list[Obj]
    resource_version: str


def identity(obj: Obj) -> tuple[str, str, str]:
    """(namespace, name, resourceVersion) of a typed object or a wire dict: what watches and caches key on."""
    if isinstance(obj, dict):
        m = obj.get("metadata") or {}
        return m.get("namespace") or "", m.get("name") or "", m.get("resourceVersion") or ""
    m = obj.metadata
    return m.namespace or "", m.name or "", m.resource_version or ""


def _wire(obj: Any) -> Any:
    """``json.dumps``' fallback: a typed model anywhere in a body (or in a patch) goes out as its wire dict."""
    if isinstance(obj, Model):
        return obj.to_dict()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def encode(body: Any) -> bytes:
    return jsonwire.dumps(body, default=_wire)


CONNECT_TIMEOUT_S = 10
FAILOVER_CONNECT_TIMEOUT_S = 2  # with other servers to try, a host that does not answer a connect is given up sooner
CUT_OFF = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError, aiohttp.ServerTimeoutError,
           TimeoutError)


class Servers:
    """The API servers a client may use, and which one it uses now."""

    def __init__(self, urls: tuple[str, ...]) -> None:
        if not urls:
            raise ValueError("no API server given")
        self.urls, self.index = urls, 0

    @property
    def current(self) -> str:
        return self.urls[self.index]

    def failed(self, url: str) -> None:
        """``url`` stopped answering: move on, unless another request already did."""
        if self.current == url:
            self.index = (self.index + 1) % len(self.urls)


class Client:
    """Every verb answers typed models: ``await c.get("pods", ...)`` is an ``api.models.Pod``, resolved from the
    resource (``ResourceInfo.model``, or the subresource's model for ``scale``). ``c.raw`` is the same
    connection answering wire dicts, for callers that handle objects generically.

    With several servers (``ClientConfig.servers``) the client talks to one at a time. A request that cannot
    connect (refused, unreachable) is sent to the next server at once: nothing reached the first, so even a
    create is safe to repeat. A request cut off mid-way (the server died) moves the client to the next server
    and fails as before, for the caller's own retry; a watch reconnects there from its last revision."""

    def __init__(self, config: ClientConfig, *, typed: bool = True,
                 session: aiohttp.ClientSession | None = None, servers: Servers | None = None) -> None:
        self.config, self.typed = config, typed
        headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        self._session = session or aiohttp.ClientSession(
            headers=headers, connector=aiohttp.TCPConnector(ssl=config.ssl_context()),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_S if len(config.servers) < 2
                                          else FAILOVER_CONNECT_TIMEOUT_S))
        self.servers = servers or Servers(config.servers)
        self._raw: Client | None = None if typed else self

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str, context: str | None = None) -> Client:
        return cls(load_kubeconfig(kubeconfig, context))

    @property
    def raw(self) -> Client:
        """This client's connection, answering wire dicts instead of models (closing either closes both)."""
        if self._raw is None:
            self._raw = Client(self.config, typed=False, session=self._session, servers=self.servers)
        return self._raw

    def decode(self, info: api.ResourceInfo, data: dict[str, Any], subresource: str = "") -> Obj:
        """An object of ``info`` (or of its ``subresource``) as this client hands it out."""
        if not self.typed:
            return data
        return SUBRESOURCE_MODELS.get(subresource, info.model).from_dict(data)

    async def close(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(self, method: str, url: str, *, body: Any = None, content_type: str = "application/json",
                      params: dict[str, str] | None = None) -> dict[str, Any]:
        """One call, its answer as the wire dict: the verbs below decode it."""
        data = body if isinstance(body, (bytes, type(None))) else encode(body)
        headers = {"Content-Type": content_type} if data is not None else {}
        if params:
            url = f"{url}?{urlencode({k: v for k, v in params.items() if v not in ('', None)})}"
        for tried in range(len(self.servers.urls)):
            server = self.servers.current
            try:
                async with self._session.request(method, server + url, data=data, headers=headers) as resp:
                    raw = await resp.read()
                    status = resp.status
                break
            except aiohttp.ClientConnectorError:
                self.servers.failed(server)
                if tried == len(self.servers.urls) - 1:
                    raise
            except CUT_OFF:
                self.servers.failed(server)
                raise
        payload = jsonwire.loads(raw) if raw and raw[:1] in (b"{", b"[") else {}
        if status >= 400:
            payload = payload if payload.get("kind") == "Status" else {"code": status,
                                                                      "message": raw.decode(errors="replace")}
            raise errors.from_status(payload)
        return payload

    async def get(self, res: Resource, name: str, namespace: str = "", subresource: str = "") -> Obj:
        info = resource(res)
        return self.decode(info, await self.request("GET", path(info, namespace, name, subresource)), subresource)

    async def list(self, res: Resource, namespace: str = "", *, label_selector: str = "", field_selector: str = "",
                   limit: int = 0) -> Listing:
        """All pages, as one list at the first page's resourceVersion (a consistent snapshot)."""
        items: list[Obj] = []
        revision = ""
        async for page in self.pages(res, namespace, label_selector=label_selector, field_selector=field_selector,
                                     limit=limit):
            items += page.items
            revision = revision or page.resource_version
        return Listing(items, revision)

    async def pages(self, res: Resource, namespace: str = "", *, label_selector: str = "", field_selector: str = "",
                    limit: int = 0) -> AsyncIterator[Listing]:
        """``list``'s pages of at most ``limit`` objects (0: one page of all), each with the first page's
        resourceVersion: one snapshot, handed over a page at a time, so a caller that keeps less than the objects
        themselves (the scheduler's start-up) never holds all of them at once."""
        info = resource(res)
        params = {"labelSelector": label_selector, "fieldSelector": field_selector, "limit": str(limit or "")}
        page = await self.request("GET", path(info, namespace), params=params)
        revision = page["metadata"].get("resourceVersion", "")
        while True:
            cont = page["metadata"].get("continue")
            yield Listing([self.decode(info, o) for o in page.get("items") or []], revision)
            if not cont:
                return
            page = await self.request("GET", path(info, namespace), params={**params, "continue": cont})

    async def create(self, res: Resource, obj: Obj, namespace: str = "") -> Obj:
        info = resource(res)
        ns = namespace or identity(obj)[0] or ("default" if info.namespaced else "")
        return self.decode(info, await self.request("POST", path(info, ns), body=obj))

    async def create_token(self, service_account: str, namespace: str, spec: dict[str, Any]) -> Obj:
        """A TokenRequest for ``service_account`` (``serviceaccounts/NAME/token``): the answer carries the token in
        ``status.token``."""
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        answer = await self.request("POST", path(resource("serviceaccounts"), namespace, service_account, "token"),
                                    body=body)
        return models.TokenRequest.from_dict(answer) if self.typed else answer

    async def update(self, res: Resource, obj: Obj, subresource: str = "") -> Obj:
        info, (namespace, name, _) = resource(res), identity(obj)
        return self.decode(info, await self.request("PUT", path(info, namespace, name, subresource), body=obj),
                           subresource)

    async def update_status(self, res: Resource, obj: Obj) -> Obj:
        return await self.update(res, obj, "status")

    async def patch(self, res: Resource, name: str, patch: Any, namespace: str = "", *, type: str = "merge",
                    subresource: str = "") -> Obj:
        info = resource(res)
        body = patch if isinstance(patch, bytes) else encode(patch)
        answer = await self.request("PATCH", path(info, namespace, name, subresource), body=body,
                                    content_type=PATCH_TYPES[type])
        return self.decode(info, answer, subresource)

    async def delete(self, res: Resource, name: str, namespace: str = "", *, propagation: str = "",
                     grace_seconds: int | None = None, uid: str = "", resource_version: str = "") -> None:
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            options["propagationPolicy"] = propagation
        if grace_seconds is not None:
            options["gracePeriodSeconds"] = grace_seconds
        pre = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v}
        if pre:
            options["preconditions"] = pre
        await self.request("DELETE", path(resource(res), namespace, name), body=options)

    async def bind(self, namespace: str, pod: str, node: str) -> None:
        """Assign a pod to a node (pods/binding); NotFound or Conflict when it is gone or already bound."""
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod, "namespace": namespace},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        await self.request("POST", path(resource("pods"), namespace, pod, "binding"), body=binding)

    def watch(self, res: Resource, namespace: str = "", *, resource_version: str = "", label_selector: str = "",
              field_selector: str = "", known: list[Obj] | None = None) -> AsyncIterator[WatchEvent]:
        """Events from ``resource_version`` on (or the current objects first, when it is empty), their objects
        decoded as ``get`` decodes them.

        ``known`` is what the caller already holds at ``resource_version`` (the items of the list it came from),
        so that a re-list after a 410 can report the objects deleted in the gap.
        """
        from portside.client.watch import watch
        return watch(self, resource(res), namespace, resource_version, label_selector, field_selector, known or [])

    async def stream(self, url: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Raw watch lines of one connection, decoded; ends when the server ends it."""
        async for line in self.stream_lines(url, params):
            yield jsonwire.loads(line)

    async def stream_lines(self, url: str, params: dict[str, str]) -> AsyncIterator[bytes]:
        """``stream``'s lines as the server sent them (JSON, not decoded)."""
        url = f"{url}?{urlencode({k: v for k, v in params.items() if v})}"
        server = self.servers.current
        try:
            async with self._session.get(server + url) as resp:
                async for line in _lines(resp):
                    yield line
        except (aiohttp.ClientConnectorError, *CUT_OFF):
            self.servers.failed(server)
            raise


async def _lines(resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """One watch response's JSON lines."""
    if resp.status >= 400:
        raise errors.from_status(json.loads(await resp.read() or b"{}") or {"code": resp.status})
    buffer = b""
    async for chunk in resp.content.iter_any():  # lines may exceed aiohttp's readline limit
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield line
