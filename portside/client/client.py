"""The one API client every portside component uses: typed paths from ``api.RESOURCES``, JSON in and out.

Resources are named as kubectl names them (``pods``, ``deployments.apps``, ``deploy``) or given as a
``ResourceInfo``. Failures raise ``client.errors`` classes built from the server's Status.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp

from portside import api
from portside.client import errors
from portside.client.config import ClientConfig, load_kubeconfig

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


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


class Client:
    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        self._session = aiohttp.ClientSession(
            base_url=config.server, headers=headers, connector=aiohttp.TCPConnector(ssl=config.ssl_context()),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str, context: str | None = None) -> Client:
        return cls(load_kubeconfig(kubeconfig, context))

    async def close(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(self, method: str, url: str, *, body: Any = None, content_type: str = "application/json",
                      params: dict[str, str] | None = None) -> dict[str, Any]:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if data is not None else {}
        if params:
            url = f"{url}?{urlencode({k: v for k, v in params.items() if v not in ('', None)})}"
        async with self._session.request(method, url, data=data, headers=headers) as resp:
            raw = await resp.read()
            payload = json.loads(raw) if raw and raw[:1] in (b"{", b"[") else {}
            if resp.status >= 400:
                payload = payload if payload.get("kind") == "Status" else {"code": resp.status,
                                                                          "message": raw.decode(errors="replace")}
                raise errors.from_status(payload)
            return payload

    async def get(self, res: Resource, name: str, namespace: str = "", subresource: str = "") -> dict[str, Any]:
        return await self.request("GET", path(resource(res), namespace, name, subresource))

    async def list(self, res: Resource, namespace: str = "", *, label_selector: str = "", field_selector: str = "",
                   limit: int = 0) -> dict[str, Any]:
        """All pages, as one list whose metadata.resourceVersion is the first page's (a consistent snapshot)."""
        params = {"labelSelector": label_selector, "fieldSelector": field_selector, "limit": str(limit or "")}
        first = await self.request("GET", path(resource(res), namespace), params=params)
        cont = _meta(first).get("continue")
        while cont:
            page = await self.request("GET", path(resource(res), namespace), params={**params, "continue": cont})
            first["items"] += page.get("items") or []
            cont = _meta(page).get("continue")
        _meta(first).pop("continue", None)
        return first

    async def create(self, res: Resource, obj: dict[str, Any], namespace: str = "") -> dict[str, Any]:
        info = resource(res)
        ns = namespace or _meta(obj).get("namespace") or ("default" if info.namespaced else "")
        return await self.request("POST", path(info, ns), body=obj)

    async def update(self, res: Resource, obj: dict[str, Any], subresource: str = "") -> dict[str, Any]:
        m = _meta(obj)
        return await self.request("PUT", path(resource(res), m.get("namespace", ""), m["name"], subresource),
                                  body=obj)

    async def update_status(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        return await self.update(res, obj, "status")

    async def patch(self, res: Resource, name: str, patch: Any, namespace: str = "", *, type: str = "merge",
                    subresource: str = "") -> dict[str, Any]:
        body = patch if isinstance(patch, bytes) else json.dumps(patch).encode()
        return await self.request("PATCH", path(resource(res), namespace, name, subresource), body=body,
                                  content_type=PATCH_TYPES[type])

    async def delete(self, res: Resource, name: str, namespace: str = "", *, propagation: str = "",
                     grace_seconds: int | None = None, uid: str = "", resource_version: str = "") -> dict[str, Any]:
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            options["propagationPolicy"] = propagation
        if grace_seconds is not None:
            options["gracePeriodSeconds"] = grace_seconds
        pre = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v}
        if pre:
            options["preconditions"] = pre
        return await self.request("DELETE", path(resource(res), namespace, name), body=options)

    async def bind(self, namespace: str, pod: str, node: str) -> dict[str, Any]:
        """Assign a pod to a node (pods/binding); NotFound or Conflict when it is gone or already bound."""
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod, "namespace": namespace},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        return await self.request("POST", path(resource("pods"), namespace, pod, "binding"), body=binding)

    def watch(self, res: Resource, namespace: str = "", *, resource_version: str = "", label_selector: str = "",
              field_selector: str = "", known: list[dict[str, Any]] | None = None) -> AsyncIterator[Any]:
        """Events from ``resource_version`` on (or the current objects first, when it is empty).

        ``known`` is what the caller already holds at ``resource_version`` (the items of the list it came from),
        so that a re-list after a 410 can report the objects deleted in the gap.
        """
        from portside.client.watch import watch
        return watch(self, resource(res), namespace, resource_version, label_selector, field_selector, known or [])

    async def stream(self, url: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Raw watch lines of one connection; ends when the server ends it."""
        url = f"{url}?{urlencode({k: v for k, v in params.items() if v})}"
        async with self._session.get(url) as resp:
            if resp.status >= 400:
                raise errors.from_status(json.loads(await resp.read() or b"{}") or {"code": resp.status})
            buffer = b""
            async for chunk in resp.content.iter_any():  # lines may exceed aiohttp's readline limit
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield json.loads(line)


