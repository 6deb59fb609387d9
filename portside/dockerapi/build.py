"""``POST /build``: docker's classic builder API over portside's builder (the one ``portside build`` runs).

The body is the build context as a tar (plain or compressed), written to disk as it arrives and unpacked
into a scratch directory; the query carries ``docker build``'s flags. The answer is the JSON progress stream the
docker CLI prints and docker-py parses: the builder's lines as ``{"stream": ...}``, ``{"aux": {"ID": ...}}``
before "Successfully built", and a failure as the stream's last message.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from portside.dockerapi.backend import backend
from portside.dockerapi.errors import bad_parameter
from portside.dockerapi.params import qbool, qstr, reply
from portside.dockerapi.progress import RED, JsonStream, Send, TextStream
from portside.dockerapi.routing import Routes
from portside.dockerapi.uploads import extract_context, plain_http, registry_configs, save_body, scratch
from portside.image import Image, InvalidReference, normalize
from portside.image.build.dockerfile import DockerfileError

routes = Routes()

NETWORKS = {"": "host", "default": "host", "bridge": "host", "host": "host", "none": "none"}


@dataclass
class BuildRequest:
    """What the query asked for, checked before the context is received."""

    tags: list[str] = field(default_factory=list)
    dockerfile: str = "Dockerfile"
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    pull: bool = False
    quiet: bool = False
    network: str = "host"
    cache_from: list[str] | None = None
    logins: dict = field(default_factory=dict)  # registry -> Credentials, for FROM pulls (X-Registry-Config)
    extra_hosts: list[tuple[str, str]] = field(default_factory=list)


def parse_request(request: web.Request) -> BuildRequest:
    if qstr(request, "remote"):
        raise bad_parameter("remote: building from a URL (git or tarball) is not supported; send the context as "
                            "the request body")
    if qstr(request, "version") == "2":
        raise bad_parameter("version: BuildKit (version=2) is not supported; use the classic builder "
                            "(DOCKER_BUILDKIT=0)")
    network = qstr(request, "networkmode")
    if network not in NETWORKS:
        raise bad_parameter(f"networkmode: {network!r} is not supported for builds (expected default, host or "
                            "none)")
    return BuildRequest(tags=[tag_of(t) for t in request.query.getall("t", []) if t],
                        dockerfile=qstr(request, "dockerfile") or "Dockerfile",
                        build_args=json_strings(request, "buildargs"), labels=json_strings(request, "labels"),
                        target=qstr(request, "target") or None, no_cache=qbool(request, "nocache"),
                        cache_from=json_list(request, "cachefrom"),
                        pull=qbool(request, "pull"), quiet=qbool(request, "q"), network=NETWORKS[network],
                        logins=registry_configs(request), extra_hosts=extra_hosts(request))


def tag_of(text: str) -> str:
    try:
        return normalize(text)
    except InvalidReference as exc:
        raise bad_parameter(f"t: {exc}") from None


def json_strings(request: web.Request, name: str) -> dict[str, str]:
    """``buildargs`` and ``labels``: a JSON object of strings (a null value leaves the name unset)."""
    raw = qstr(request, name)
    if not raw:
        return {}
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise bad_parameter(f"{name}: {raw!r} is not valid JSON ({exc.msg}); expected an object of strings, "
                            'e.g. {"KEY": "value"}') from None
    if not isinstance(doc, dict) or not all(isinstance(v, str | None) for v in doc.values()):
        raise bad_parameter(f'{name}: expected a JSON object of strings, e.g. {{"KEY": "value"}}, got {raw!r}')
    return {k: v for k, v in doc.items() if v is not None}


def extra_hosts(request: web.Request) -> list[tuple[str, str]]:
    """``extrahosts``: ``NAME:ADDRESS`` (repeated, or comma-separated), as ``docker build --add-host``."""
    import ipaddress

    found = []
    for value in request.query.getall("extrahosts", []):
        for item in filter(None, value.split(",")):
            name, sep, address = item.partition(":")
            try:
                ipaddress.ip_address(address.strip("[]"))
            except ValueError:
                raise bad_parameter(f"extrahosts: {item!r} is not NAME:ADDRESS with an IP address") from None
            if not name or not sep:
                raise bad_parameter(f"extrahosts: {item!r} is not NAME:ADDRESS with an IP address")
            found.append((name, address.strip("[]")))
    return found


def json_list(request: web.Request, name: str) -> list[str] | None:
    """``cachefrom``: a JSON list of image names (None when not given)."""
    raw = qstr(request, name)
    if not raw:
        return None
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise bad_parameter(f"{name}: {raw!r} is not valid JSON ({exc.msg}); expected a list of image names") \
            from None
    if not isinstance(doc, list) or not all(isinstance(v, str) for v in doc):
        raise bad_parameter(f"{name}: expected a JSON list of image names, got {raw!r}")
    return doc


def uses_cache(store, asked: BuildRequest) -> bool:
    """docker's ``--cache-from``: the build cache counts only when one of the named images is here (this store
    keeps one cache for all builds, so a name that is absent means building from scratch, as dockerd does)."""
    if asked.no_cache:
        return False
    if not asked.cache_from:  # the docker CLI sends an empty list when --cache-from was not given
        return True
    return any(present(store, ref) for ref in asked.cache_from)


def present(store, ref: str) -> bool:
    from portside.image import ImageError

    try:
        store.resolve(ref)
        return True
    except ImageError:
        return False


def find_dockerfile(context: Path, name: str) -> Path:
    """The Dockerfile's path inside the context (``dockerfile`` may not leave it); docker's fallback to
    ``dockerfile`` when the default name is absent."""
    relative = os.path.normpath(name.lstrip("/"))
    if relative == ".." or relative.startswith("../"):
        raise bad_parameter(f"dockerfile: {name!r} is outside the build context")
    path = context / relative
    if not path.is_file() and name == "Dockerfile" and (context / "dockerfile").is_file():
        path = context / "dockerfile"
    if not path.is_file():
        raise bad_parameter(f"Cannot locate specified Dockerfile: {name}")
    return path


@routes.post("/build")
async def build(request: web.Request) -> web.StreamResponse:
    asked = parse_request(request)
    async with scratch(request, "context") as work:
        await save_body(request, work / "context.tar")
        await backend(request).call(extract_context, work / "context.tar", work / "context")
        await backend(request).call(os.unlink, work / "context.tar")
        dockerfile = find_dockerfile(work / "context", asked.dockerfile)
        await backend(request).call(check_syntax, dockerfile)
        stream = JsonStream(request)
        return await stream.run(run_build, backend(request).engine, work / "context", dockerfile, asked,
                                stream.send, eager=True)


def check_syntax(dockerfile: Path) -> None:
    """A Dockerfile that does not parse is a 400, as dockerd answers; every later failure (a missing base, a
    COPY source that is not there, a RUN that fails) is the stream's last message."""
    from portside.image.build.builder import read_dockerfile
    from portside.image.build.dockerfile import parse

    try:
        parse(read_dockerfile(dockerfile), dockerfile.name)
    except DockerfileError as exc:
        raise bad_parameter(str(exc)) from None


def run_build(engine, context: Path, dockerfile: Path, asked: BuildRequest, send: Send) -> Image:
    from portside.image.build import BuildOptions
    from portside.image.build import build as build_image

    errors = TextStream(send, RED)
    out = TextStream(send, companion=errors)
    try:
        opts = BuildOptions(context=context, dockerfile=dockerfile, tags=asked.tags, build_args=asked.build_args,
                            target=asked.target, no_cache=not uses_cache(engine.images, asked), quiet=asked.quiet,
                            fetch=pull_base(engine, out, asked.logins), cgroup_parent=engine.settings().get("cgroup_parent",
                                                                                              "portside"),
                            labels=asked.labels, pull=asked.pull, network=asked.network,
                            built=None if asked.quiet else lambda image_id: send({"aux": {"ID": image_id}}),
                            run_errors=errors, extra_hosts=asked.extra_hosts)
        image = build_image(engine.images, opts, out)
    finally:
        errors.close()
        out.close()
    if asked.quiet:
        send({"stream": image.id + "\n"})
    return image


def pull_base(engine, out, logins: dict):
    """FROM's fallback (and ``pull=1``'s way): the image from its registry, progress in the build's output, with
    the build's login for that registry if it sent one."""
    def fetch(ref: str) -> Image:
        from portside.image.registry import parse_reference, pull, run

        registry = parse_reference(ref).registry
        result = run(pull(engine.images, engine.root, ref, out, insecure=plain_http(registry), tty=False,
                          credentials=logins.get(registry)))
        return engine.images.resolve(result.name or result.digest)
    return fetch


@routes.post("/build/prune")
async def prune_cache(request: web.Request) -> web.Response:
    """``docker builder prune``: the build cache goes, and the blobs and layers only it kept (what ``portside
    builder prune`` does); filters and ``keep-storage`` are not supported, so all of it goes."""
    from portside.dockerapi.params import filters
    from portside.engine.images import blob_bytes
    from portside.image.gc import prune_build_cache

    if filters(request, ("until", "id", "parent", "type", "description", "inuse", "shared", "private")):
        raise bad_parameter("filters: pruning part of the build cache is not supported; prune it all")
    store = backend(request).engine.images
    before = await backend(request).call(blob_bytes, store)
    lines = await backend(request).call(prune_build_cache, store)
    freed = max(0, before - await backend(request).call(blob_bytes, store))
    deleted = [line.removeprefix("deleted: ") for line in lines if line.startswith("deleted: ")]
    return reply({"CachesDeleted": deleted or None, "SpaceReclaimed": freed})
