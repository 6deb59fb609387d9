"""Discovery and OpenAPI documents, computed once from ``api.RESOURCES``.

kubectl 1.32 first asks ``/api`` and ``/apis`` for the aggregated form (``apidiscovery.k8s.io/v2``, everything in
two requests); a server that answers that form spares it a request per group-version. The legacy documents are
served too, for clients that ask for them. ``metrics.k8s.io`` is listed beside the stored kinds, though its
objects are computed (``metricsapi``), as metrics-server's APIService adds it to kube-apiserver's discovery.

``/openapi/v2`` is negotiated on Accept as kube-apiserver does it: JSON, or gnostic's protobuf
(:mod:`.openapi_proto`) which kubectl asks for to validate a ``kind: List`` on the client. Each form carries its own
ETag, so an HTTP cache that revalidates one form never gets a 304 meant for the other.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any, NamedTuple

from portside import __version__, api
from portside.apiserver import metricsapi, openapi_proto

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
KUBE_MINOR = "32"


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def group_versions() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for info in api.RESOURCES:
        versions = out.setdefault(info.group, [])
        if info.version not in versions:
            versions.append(info.version)
    return out


def _resource_entries(info: api.ResourceInfo) -> list[dict[str, Any]]:
    main = {"name": info.plural, "singularName": info.singular, "namespaced": info.namespaced, "kind": info.kind,
            "verbs": list(info.verbs)}
    if info.short_names:
        main["shortNames"] = list(info.short_names)
    if info.categories:
        main["categories"] = list(info.categories)
    subs = []
    for sub in sorted(info.subresources):
        kind, group, version, verbs = _sub_shape(info, sub)
        entry = {"name": f"{info.plural}/{sub}", "singularName": "", "namespaced": info.namespaced, "kind": kind,
                 "verbs": verbs}
        if group:
            entry.update(group=group, version=version)
        subs.append(entry)
    return [main, *subs]


def _sub_shape(info: api.ResourceInfo, sub: str) -> tuple[str, str, str, list[str]]:
    if sub == "scale":
        return "Scale", "autoscaling", "v1", ["get", "patch", "update"]
    if sub == "binding":
        return "Binding", "", "", ["create"]
    if sub == "eviction":
        return "Eviction", "policy", "v1", ["create"]
    if sub == "token":
        return "TokenRequest", "authentication.k8s.io", "v1", ["create"]
    return info.kind, "", "", ["get", "patch", "update"]


@functools.cache
def resource_list(group: str, version: str) -> bytes | None:
    if (group, version) == (metricsapi.GROUP, metricsapi.VERSION):
        return _dump(metricsapi.resource_list())
    infos = [i for i in api.RESOURCES if i.group == group and i.version == version]
    if not infos:
        return None
    gv = f"{group}/{version}" if group else version
    resources = [e for i in infos for e in _resource_entries(i)]
    return _dump({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


@functools.cache
def core_versions(address: str) -> bytes:
    return _dump({"kind": "APIVersions", "versions": ["v1"],
                  "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]})


@functools.cache
def group_list() -> bytes:
    groups = [_group(g, vs) for g, vs in group_versions().items() if g]
    groups.append(_group(metricsapi.GROUP, [metricsapi.VERSION]))
    return _dump({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})


def group(name: str) -> bytes | None:
    versions = [metricsapi.VERSION] if name == metricsapi.GROUP else group_versions().get(name)
    if not name or versions is None:
        return None
    return _dump({"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)})


def _aggregated_resource(info: api.ResourceInfo) -> dict[str, Any]:
    out = {"resource": info.plural, "singularResource": info.singular, "verbs": list(info.verbs),
           "scope": "Namespaced" if info.namespaced else "Cluster",
           "responseKind": {"group": info.group, "version": info.version, "kind": info.kind}}
    if info.short_names:
        out["shortNames"] = list(info.short_names)
    if info.categories:
        out["categories"] = list(info.categories)
    subs = []
    for sub in sorted(info.subresources):
        kind, group_name, version, verbs = _sub_shape(info, sub)
        subs.append({"subresource": sub, "verbs": verbs, "responseKind": {
            "group": group_name if kind != info.kind else info.group,
            "version": version or info.version, "kind": kind}})
    if subs:
        out["subresources"] = subs
    return out


@functools.cache
def aggregated(core: bool) -> bytes:
    """The ``APIGroupDiscoveryList`` for ``/api`` (core) or ``/apis`` (named groups)."""
    items = []
    for name, versions in group_versions().items():
        if bool(name) == core:
            continue
        items.append({"metadata": {"name": name}, "versions": [
            {"version": v, "freshness": "Current", "resources": [
                _aggregated_resource(i) for i in api.RESOURCES if i.group == name and i.version == v]}
            for v in versions]})
    if not core:
        items.append(metricsapi.aggregated_group())
    return _dump({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
                  "items": items})


def wants_aggregated(accept: str) -> bool:
    first = accept.split(",")[0].replace(" ", "")
    return "as=APIGroupDiscoveryList" in first and "v=v2" in first and "g=apidiscovery.k8s.io" in first


@functools.cache
def version() -> bytes:
    return _dump({"major": "1", "minor": KUBE_MINOR, "gitVersion": f"v1.{KUBE_MINOR}.0+portside-{__version__}",
                  "gitCommit": "", "gitTreeState": "clean", "buildDate": "", "goVersion": "", "compiler": "",
                  "platform": "linux/amd64"})


class Served(NamedTuple):
    """A document in one representation, with what the response says about it."""
    body: bytes
    content_type: str
    etag: str


def _served(body: bytes, content_type: str) -> Served:
    return Served(body, content_type, f'"{hashlib.sha512(body).hexdigest().upper()}"')


@functools.cache
def openapi_v2() -> Served:
    return _served(_dump(api.openapi_v2()), "application/json")


@functools.cache
def openapi_v2_protobuf() -> Served:
    """Encoded on the first request that asks for it (about a quarter second), then kept."""
    return _served(openapi_proto.encode(api.openapi_v2()), openapi_proto.MEDIA_TYPES[1])


# media type -> the representation served for it; the first entry is what */* and application/* get.
_V2_FORMS = {"application/json": openapi_v2, **{t: openapi_v2_protobuf for t in openapi_proto.MEDIA_TYPES}}


def openapi_v2_for(accept: str) -> Served | None:
    """The form of ``/openapi/v2`` that Accept prefers (JSON when it is absent), or None when none is acceptable."""
    for wanted in _ranked(accept or "*/*"):
        for offered, form in _V2_FORMS.items():
            if _matches(wanted, offered):
                return form()
    return None


def _ranked(accept: str) -> list[str]:
    """Accept's media ranges, highest q first and in header order among equals; q=0 means "not this"."""
    ranked = []
    for position, clause in enumerate(accept.split(",")):
        media, *params = [part.strip() for part in clause.split(";")]
        quality = next((_quality(p) for p in params if p.replace(" ", "").startswith("q=")), 1.0)
        if media and quality > 0:
            ranked.append((-quality, position, media.lower()))
    return [media for _, _, media in sorted(ranked)]


def _quality(param: str) -> float:
    try:
        return float(param.split("=", 1)[1])
    except ValueError:
        return 0.0


def _matches(wanted: str, offered: str) -> bool:
    kind, _, sub = wanted.partition("/")
    offered_kind, _, offered_sub = offered.partition("/")
    return kind in ("*", offered_kind) and sub in ("*", offered_sub)


@functools.cache
def openapi_v3_index() -> bytes:
    return _dump(api.openapi_v3_index())


@functools.cache
def openapi_v3(group_name: str, version_name: str) -> bytes | None:
    doc = api.openapi_v3(group_name, version_name)
    return None if doc is None else _dump(doc)
