"""A minimal in-memory API server over ``portside.api``, so the real kubectl can exercise OpenAPI, validation,
patches and tables without the full server: discovery, openapi, and get/list/create/update/patch of one store."""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from portside import api


def _resource_list(group_version: str, infos: list[api.ResourceInfo]) -> dict[str, Any]:
    resources = []
    for i in infos:
        resources.append({"name": i.plural, "singularName": i.singular, "namespaced": i.namespaced, "kind": i.kind,
                          "verbs": list(i.verbs), "shortNames": list(i.short_names), "categories": list(i.categories)})
        resources += [{"name": f"{i.plural}/{s}", "singularName": "", "namespaced": i.namespaced, "kind": i.kind,
                       "verbs": ["get", "patch", "update"]} for s in sorted(i.subresources)]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def _groups() -> dict[str, Any]:
    versions = {i.group: i.version for i in api.RESOURCES if i.group}
    groups = [{"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
               "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}} for g, v in versions.items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _discovery(path: str) -> dict[str, Any] | None:
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/apis":
        return _groups()
    if path == "/api/v1":
        return _resource_list("v1", [i for i in api.RESOURCES if not i.group])
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "apis":
        return _resource_list(f"{parts[1]}/{parts[2]}", [i for i in api.RESOURCES if i.group == parts[1]])
    if path == "/openapi/v3":
        return api.openapi_v3_index()
    if path.startswith("/openapi/v3/"):
        key = path[len("/openapi/v3/"):].split("/")
        return api.openapi_v3("", key[1]) if key[0] == "api" else api.openapi_v3(key[1], key[2])
    return None


def _route(path: str) -> tuple[api.ResourceInfo | None, str, str]:
    """(resource, namespace, name) of a resource path."""
    parts = path.strip("/").split("/")
    group, version, rest = ("", parts[1], parts[2:]) if parts[0] == "api" else (parts[1], parts[2], parts[3:])
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) != 2:
        namespace, rest = rest[1], rest[2:]
    info = api.lookup(group, version, rest[0]) if rest else None
    return info, namespace, rest[1] if len(rest) > 1 else ""


class Handler(BaseHTTPRequestHandler):
    store: dict[tuple[str, str, str], dict[str, Any]] = {}
    requests: list[tuple[str, str, str]] = []
    revision = [0]

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, obj: Any, warnings: list[str] = ()) -> None:  # type: ignore[assignment]
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for warning in warnings:
            escaped = warning.replace("\\", "\\\\").replace('"', '\\"')
            self.send_header("Warning", f'299 - "{escaped}"')  # RFC 7234 quoted-string
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _status(self, code: int, reason: str, message: str) -> None:
        self._send(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                          "reason": reason, "code": code})

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_GET(self) -> None:
        url = urlparse(self.path)
        doc = _discovery(url.path)
        if doc is not None:
            return self._send(200, doc)
        if url.path.startswith("/openapi/v2") or url.path == "/version":
            return self._status(404, "NotFound", "not served")
        info, namespace, name = _route(url.path)
        if info is None:
            return self._status(404, "NotFound", "the server could not find the requested resource")
        if name:
            obj = self.store.get((info.plural, namespace, name))
            if obj is None:
                return self._status(404, "NotFound", f'{info.plural} "{name}" not found')
            return self._send(200, obj)
        objs = [o for (p, ns, _), o in sorted(self.store.items()) if p == info.plural and ns == namespace]
        if "as=Table" in (self.headers.get("Accept") or ""):
            return self._send(200, api.table(info, objs, "Metadata"))
        return self._send(200, {"kind": info.list_kind, "apiVersion": info.api_version, "metadata": {},
                                "items": objs})

    def _write(self, info: api.ResourceInfo, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        query = parse_qs(urlparse(self.path).query)
        strict = query.get("fieldValidation") == ["Strict"]
        warnings: list[str] = []
        try:
            if old is None:
                out = api.prepare_create(info, obj, warnings, strict)
            else:
                out = api.prepare_update(info, obj, old, warnings, strict)
        except api.Invalid as exc:
            return self._send(422, exc.status())
        except api.UnknownFields as exc:
            return self._status(400, "BadRequest", str(exc))
        meta = out["metadata"]
        self.revision[0] += 1
        meta["resourceVersion"] = str(self.revision[0])
        meta.setdefault("uid", f"uid-{self.revision[0]}")
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        if old is not None and api.spec_changed(info, out, old):
            meta["generation"] = old["metadata"].get("generation", 1) + 1
        meta.setdefault("generation", 1)
        self.store[(info.plural, meta.get("namespace", ""), meta["name"])] = out
        self._send(201 if old is None else 200, out, warnings)

    def do_POST(self) -> None:
        self.requests.append(("POST", self.path, ""))
        info, namespace, _ = _route(urlparse(self.path).path)
        obj = json.loads(self._body())
        obj.setdefault("metadata", {})["namespace"] = namespace
        self._write(info, obj, None)  # type: ignore[arg-type]

    def do_PATCH(self) -> None:
        body = self._body()
        self.requests.append(("PATCH", self.path, body.decode()))
        info, namespace, name = _route(urlparse(self.path).path)
        old = self.store.get((info.plural, namespace, name))  # type: ignore[union-attr]
        if old is None:
            return self._status(404, "NotFound", f'"{name}" not found')
        try:
            patched = api.apply_patch(info, old, body, self.headers.get("Content-Type", ""))  # type: ignore[arg-type]
        except api.PatchError as exc:
            return self._status(exc.code, "BadRequest", str(exc))
        self._write(info, patched, copy.deepcopy(old))  # type: ignore[arg-type]


class StubServer:
    """Runs :class:`Handler` on a loopback port in a daemon thread."""

    def __init__(self) -> None:
        handler = type("IsolatedHandler", (Handler,), {"store": {}, "requests": [], "revision": [0]})
        self.handler = handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
