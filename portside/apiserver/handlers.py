"""HTTP to registry: parse the path into a ``Target``, pick the verb, negotiate the output, shape the response.

Paths are resolved by hand rather than by a route per resource because ``/api/v1/namespaces/x/...`` is either the
namespace ``x`` (a cluster-scoped object and its subresources) or a namespaced collection inside it.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from portside import api
from portside.api import jsonwire
from portside.apiserver import errors, nodeproxy, protobuf, query, streams, watch
from portside.apiserver.agents import AgentClient
from portside.apiserver.auth import USER
from portside.apiserver.deletion import DeleteOptions, Deleter
from portside.apiserver.eviction import Evictions
from portside.apiserver.objects import Target, list_body, view
from portside.apiserver.registry import Registry, WriteOptions
from portside.apiserver.subresources import Subresources

JSON = "application/json"
READ_METHODS = ("GET", "HEAD")
SUBRESOURCE_METHODS = {"status": ("GET", "PUT", "PATCH"), "scale": ("GET", "PUT", "PATCH"), "binding": ("POST",),
                       "log": ("GET",), "exec": ("GET", "POST"), "eviction": ("POST",),
                       "attach": ("GET", "POST"), "portforward": ("GET", "POST")}


def resolve(group: str, version: str, parts: list[str]) -> Target:
    """``[namespaces, NS,] PLURAL [, NAME [, SUB]]`` after ``/api/v1`` or ``/apis/G/V``."""
    namespace = ""
    if group == "" and len(parts) == 3 and parts[0] == "namespaces" and parts[2] == "bindings":
        return Target(api.lookup("", "v1", "pods"), parts[1], "", "binding")  # the pod is named in the body
    if len(parts) >= 3 and parts[0] == "namespaces":
        inner = api.lookup(group, version, parts[2])
        if inner is not None and inner.namespaced:
            namespace, parts = parts[1], parts[2:]
    info = api.lookup(group, version, parts[0]) if parts else None
    if info is None or len(parts) > 3:
        raise errors.route_not_found("/".join(parts))
    name = parts[1] if len(parts) > 1 else ""
    sub = parts[2] if len(parts) > 2 else ""
    connect = nodeproxy.CONNECT | streams.CONNECT
    if sub and sub not in info.subresources and not (info.kind == "Pod" and sub in connect):
        raise errors.route_not_found(f"{info.plural}/{name}/{sub}")
    return Target(info, namespace, name, sub)


def respond(body: bytes, status: int = 200, content_type: str = JSON, warnings: list[str] | None = None
            ) -> web.Response:
    """JSON bytes as they are; ``warnings`` become Warning headers, which kubectl prints."""
    headers = {"Content-Type": content_type}
    if warnings:
        headers["Warning"] = ", ".join(f'299 - "{_quoted(w)}"' for w in warnings)
    return web.Response(body=body, status=status, headers=headers)


def _quoted(text: str) -> str:
    """RFC 7234 warn-text is a quoted-string: kubectl drops a Warning whose inner quotes are not escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


async def json_body(request: web.Request) -> Any:
    ctype = request.headers.get("Content-Type", JSON).split(";")[0].strip()
    raw = await request.read()
    if ctype == protobuf.MEDIA_TYPE:
        try:
            return protobuf.decode(raw)
        except protobuf.UnsupportedKind as exc:
            raise errors.unsupported_media(ctype, [JSON, f"{protobuf.MEDIA_TYPE} ({exc})"]) from None
        except protobuf.ProtobufError as exc:
            raise errors.bad_request(f"the protobuf request body cannot be decoded: {exc}") from None
    if ctype not in (JSON, "*/*", ""):
        raise errors.unsupported_media(ctype, [JSON, protobuf.MEDIA_TYPE])
    try:
        return jsonwire.loads(raw) if raw else {}
    except ValueError as exc:
        raise errors.bad_request(f"the request body is not valid JSON: {exc}") from None


def _write_options(request: web.Request) -> WriteOptions:
    validation = request.query.get("fieldValidation", "")
    if validation and validation not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(f'fieldValidation: Unsupported value: "{validation}": supported values: '
                                 f'"Ignore", "Strict", "Warn"')
    user = request.get(USER)
    return WriteOptions(strict=validation == "Strict", dry_run=bool(request.query.get("dryRun")),
                        user=getattr(user, "name", "") or "")


class Handlers:
    def __init__(self, registry: Registry, agents: AgentClient, bookmark_every: float = watch.BOOKMARK_EVERY) -> None:
        """``agents``: how pods/log and pods/exec reach the pod's node agent."""
        self.registry, self.agents, self.bookmark_every = registry, agents, bookmark_every
        self.deleter = Deleter(registry)
        self.sub = Subresources(registry)
        self.evictions = Evictions(registry, self.deleter)

    async def serve(self, request: web.Request, t: Target) -> web.StreamResponse:
        verb = self._verb(request, t)
        if verb not in t.info.verbs and not t.subresource:
            raise errors.method_not_allowed(verb, t.info)
        if t.subresource:
            return await self._subresource(request, t)
        return await getattr(self, "_" + verb)(request, t)

    @staticmethod
    def _verb(request: web.Request, t: Target) -> str:
        method = request.method
        if method in READ_METHODS:
            if t.name:
                return "get"
            return "watch" if request.query.get("watch") in ("1", "true") else "list"
        if not t.name:
            return {"POST": "create", "DELETE": "deletecollection"}.get(method, "unknown")
        return {"PUT": "update", "PATCH": "patch", "DELETE": "delete", "POST": "create"}.get(method, "unknown")

    async def _get(self, request: web.Request, t: Target) -> web.Response:
        kv = await self.registry.read(t)
        if query.wants_table(request.headers.get("Accept", "")):
            q = query.parse(t.info, request.query, request.headers.get("Accept", ""))
            return respond(query.table_bytes(t.info, [json.loads(kv.value)], q), content_type=query.TABLE_MEDIA)
        return respond(view(t.info, kv.value))

    async def _list(self, request: web.Request, t: Target) -> web.Response:
        q = query.parse(t.info, request.query, request.headers.get("Accept", ""))
        kept: list[bytes] = []
        objs: list[dict[str, Any]] = []
        revision, start, more, cont = q.continue_rev, q.continue_key, True, ""
        while more and (not q.limit or len(kept) < q.limit):
            page = await self._page(t, revision, start, q.limit - len(kept) if q.limit else 0)
            raw, parsed = query.select(q, page.items)
            kept += raw
            objs += parsed or []
            revision, start, more = page.revision, page.next_key or "", page.more
        if more:
            cont = query.encode_continue(revision, start)
        if q.as_table:
            return respond(query.table_bytes(t.info, objs, q, str(revision), cont), content_type=query.TABLE_MEDIA)
        return respond(list_body(t.info, [view(t.info, b) for b in kept], revision, cont))

    async def _page(self, t: Target, revision: int, start: str, limit: int):
        from portside.store import Compacted
        try:
            return await self.registry.list(t.info, t.namespace, revision=revision, start=start, limit=limit)
        except Compacted:
            raise errors.gone("The provided continue parameter is too old to display a consistent list result. "
                              "You can start a new list without the continue parameter.") from None

    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        return await watch.serve(request, self.registry.store, t.info, t.namespace, self.bookmark_every)

    async def _create(self, request: web.Request, t: Target) -> web.Response:
        opts = _write_options(request)
        body = await self.registry.create(t, await json_body(request), opts)
        return respond(view(t.info, body), 201, warnings=opts.warnings)

    async def _update(self, request: web.Request, t: Target) -> web.Response:
        opts = _write_options(request)
        body = await self.registry.update(t, await json_body(request), opts)
        return respond(view(t.info, body), warnings=opts.warnings)

    async def _patch(self, request: web.Request, t: Target) -> web.Response:
        opts = _write_options(request)
        ctype = request.headers.get("Content-Type", "")
        body = await self.registry.patch(t, await request.read(), ctype, opts)
        return respond(view(t.info, body), warnings=opts.warnings)

    async def _delete(self, request: web.Request, t: Target) -> web.Response:
        body = await json_body(request) if request.can_read_body else {}
        opts = DeleteOptions.parse(body if isinstance(body, dict) else {}, request.query)
        return respond(view(t.info, await self.deleter.delete(t, opts)))

    async def _deletecollection(self, request: web.Request, t: Target) -> web.Response:
        body = await json_body(request) if request.can_read_body else {}
        opts = DeleteOptions.parse(body if isinstance(body, dict) else {}, request.query)
        q = query.parse(t.info, request.query, "")
        listed = await self.registry.list(t.info, t.namespace)
        _, objs = query.select(query.ListQuery(q.labels, q.fields, as_table=True), listed.items)
        names = [o["metadata"]["name"] for o in objs or []]
        done = await self.deleter.delete_collection(t.info, t.namespace, names, opts)
        return respond(list_body(t.info, [view(t.info, b) for b in done], listed.revision))

    async def _subresource(self, request: web.Request, t: Target) -> web.Response:
        if request.method not in SUBRESOURCE_METHODS.get(t.subresource, ()):
            raise errors.method_not_allowed(request.method.lower(), t.info)
        if t.subresource == "binding":
            body = await json_body(request)
            name = t.name or ((body.get("metadata") or {}).get("name", "") if isinstance(body, dict) else "")
            return respond(await self.sub.bind(Target(t.info, t.namespace, name, "binding"), body), 201)
        if t.subresource == "scale":
            return await self._scale(request, t)
        if t.subresource == "eviction":
            body = await json_body(request)
            return respond(await self.evictions.evict(t, body, bool(request.query.get("dryRun"))), 201)
        if t.subresource == "log":
            return await nodeproxy.logs(self.registry, self.agents, t, request)
        if t.subresource == "exec":
            return await nodeproxy.exec_(self.registry, self.agents, t, request)
        if t.subresource in streams.CONNECT:  # authorized before routing, as exec (create, for a websocket too)
            handler = streams.attach if t.subresource == "attach" else streams.portforward
            return await handler(self.registry, self.agents, t, request)
        return await {"GET": self._get, "PUT": self._update, "PATCH": self._patch}[request.method](request, t)

    async def _scale(self, request: web.Request, t: Target) -> web.Response:
        if request.method == "GET":
            return respond(await self.sub.get_scale(t))
        opts = _write_options(request)
        if request.method == "PUT":
            return respond(await self.sub.put_scale(t, await json_body(request), opts))
        ctype = request.headers.get("Content-Type", "")
        return respond(await self.sub.patch_scale(t, await request.read(), ctype, opts))
