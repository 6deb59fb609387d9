"""The image endpoints: list, inspect, history, tag, remove, prune, pull and import, push, save and load.

Each calls the image store, the registry client or the engine's image verbs (``engine/images.py``, which know
about containers) that the ``portside`` image commands call, and renders docker's shapes. Pull, push, load and
import answer with docker's JSON progress stream (``progress.py``).
"""

from __future__ import annotations

import fnmatch
import io
from pathlib import Path

from aiohttp import web

from portside.dockerapi.backend import backend
from portside.dockerapi.errors import ApiError, bad_parameter
from portside.dockerapi.params import filters, json_body, qbool, qstr, reply
from portside.dockerapi.progress import JsonStream, LayerEvents, Send
from portside.dockerapi.routing import Routes
from portside.dockerapi.uploads import plain_http, registry_credentials, save_body, scratch
from portside.image import Image, ImageStore, InvalidReference, normalize, short_id, split_tag
from portside.image.registry import Credentials

routes = Routes()

LIST_FILTERS = ("dangling", "label", "reference", "before", "since")
PRUNE_FILTERS = ("dangling", "label")


def store_of(request: web.Request) -> ImageStore:
    return backend(request).engine.images


# -- reading ---------------------------------------------------------------------------------------------------


@routes.get("/images/json")
async def list_images(request: web.Request) -> web.Response:
    wanted = filters(request, LIST_FILTERS)
    store = store_of(request)
    images = await backend(request).call(store.list)
    keep = await backend(request).call(matcher, store, wanted)
    patterns = wanted.get("reference", [])
    return reply([await backend(request).call(summary, store, image, patterns) for image in images if keep(image)])


def summary(store: ImageStore, image: Image, patterns: list[str] = ()) -> dict:
    """One image as ``/images/json`` lists it (docker 20.10's keys; a dangling image shows ``<none>``); with
    reference filters, only the names they match (so ``docker images REPO`` shows REPO's tags alone)."""
    from portside.image.report import repo_digests, unix_time

    names = [n for n in image.names if not patterns or any(name_matches(n, p) for p in patterns)]
    digests = [d for d in repo_digests(store, image) if not patterns or any(name_matches(d, p) for p in patterns)]
    return {"Containers": -1, "Created": unix_time(image.created), "Id": image.id,
            "Labels": image.config.get("Labels") or None, "ParentId": image.full_config.get("parent", ""),
            "RepoDigests": digests or (None if image.names else ["<none>@<none>"]),
            "RepoTags": names or ["<none>:<none>"], "SharedSize": -1, "Size": image.size,
            "VirtualSize": image.size}


def matcher(store: ImageStore, wanted: dict[str, list[str]]):
    """A predicate for docker's image filters: dangling, label (KEY or KEY=VALUE, all must hold), reference
    (glob on the name, with or without the tag), before and since (another image's creation time)."""
    dangling = wanted.get("dangling", [])
    if any(v not in ("true", "false", "1", "0") for v in dangling):
        raise bad_parameter(f"invalid filter 'dangling={dangling[0]}': expected true or false")
    before = [store.resolve(ref).created for ref in wanted.get("before", [])]
    since = [store.resolve(ref).created for ref in wanted.get("since", [])]

    def keep(image: Image) -> bool:
        if dangling and (not image.names) != (dangling[0] in ("true", "1")):
            return False
        if not all(has_label(image, label) for label in wanted.get("label", [])):
            return False
        if wanted.get("reference") and not any(names_match(image, p) for p in wanted["reference"]):
            return False
        return all(image.created < t for t in before) and all(image.created > t for t in since)
    return keep


def has_label(image: Image, label: str) -> bool:
    key, eq, value = label.partition("=")
    labels = image.config.get("Labels") or {}
    return key in labels and (not eq or labels[key] == value)


def names_match(image: Image, pattern: str) -> bool:
    return any(name_matches(name, pattern) for name in image.names)


def name_matches(name: str, pattern: str) -> bool:
    """docker's reference filter: the pattern against ``repo:tag`` (or ``repo@digest``), or against the
    repository alone."""
    repo = name.split("@", 1)[0] if "@" in name else split_tag(name)[0]
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(repo, pattern)


@routes.get("/images/{name:.+}/json")
async def inspect_image(request: web.Request) -> web.Response:
    from portside.image.report import inspect

    store = store_of(request)
    image = await backend(request).call(store.resolve, request.match_info["name"])
    return reply(await backend(request).call(inspect, store, image))


@routes.get("/images/{name:.+}/history")
async def image_history(request: web.Request) -> web.Response:
    from portside.image.report import history

    store = store_of(request)
    image = await backend(request).call(store.resolve, request.match_info["name"])
    entries = await backend(request).call(history, store, image)
    return reply([{k: e[k] for k in ("Id", "Created", "CreatedBy", "Tags", "Size", "Comment")} for e in entries])


@routes.get("/images/search")
async def search(request: web.Request) -> web.Response:
    raise ApiError(501, "image search is not supported: portside talks to registries only by image name, and no "
                        "registry index is reachable from here; pull by name, or list a registry's repositories "
                        "with its /v2/_catalog endpoint")


# -- names -----------------------------------------------------------------------------------------------------


@routes.post("/images/{name:.+}/tag")
async def tag_image(request: web.Request) -> web.Response:
    repo = qstr(request, "repo")
    if not repo:
        raise bad_parameter("repo: the new name's repository is required")
    target = f"{repo}:{qstr(request, 'tag')}" if qstr(request, "tag") else repo
    await backend(request).call(store_of(request).tag, request.match_info["name"], target)
    return web.Response(status=201)


@routes.delete("/images/{name:.+}")
async def remove_image(request: web.Request) -> web.Response:
    from portside.engine import remove_image as remove

    force = qbool(request, "force")
    qbool(request, "noprune")  # accepted: removing an image never removes what another image still uses
    lines = await backend(request).call(remove, backend(request).engine, request.match_info["name"], force)
    return reply(deletions(lines))


def deletions(lines: list[str]) -> list[dict]:
    """``Untagged: x`` / ``Deleted: y`` lines as docker's ``[{"Untagged": x}, {"Deleted": y}]``."""
    return [{kind: what} for kind, _, what in (line.partition(": ") for line in lines)]


@routes.post("/images/prune")
async def prune_images(request: web.Request) -> web.Response:
    from portside.engine import prune_images as prune

    wanted = filters(request, PRUNE_FILTERS)
    dangling = wanted.get("dangling", ["true"])
    if dangling[0] not in ("true", "false", "1", "0"):
        raise bad_parameter(f"invalid filter 'dangling={dangling[0]}': expected true or false")
    labels = wanted.get("label", [])

    def protected(image: Image) -> bool:
        return not all(has_label(image, label) for label in labels)

    lines, freed = await backend(request).call(prune, backend(request).engine, dangling[0] in ("false", "0"),
                                               protected)
    return reply({"ImagesDeleted": deletions(lines) or None, "SpaceReclaimed": freed})


# -- registries ------------------------------------------------------------------------------------------------


@routes.post("/images/create")
async def create_image(request: web.Request) -> web.StreamResponse:
    """``docker pull`` (``fromImage``) or ``docker import`` (``fromSrc=-`` with the rootfs tarball as body)."""
    if qstr(request, "fromSrc"):
        return await import_image(request)
    name = qstr(request, "fromImage")
    if not name:
        raise bad_parameter("fromImage: the image to pull is required (or fromSrc to import)")
    text = with_tag(name, qstr(request, "tag"))
    credentials = registry_credentials(request)
    stream = JsonStream(request)
    return await stream.run(pull_image, backend(request).engine, text, credentials, stream.send)


def with_tag(name: str, tag: str) -> str:
    """``fromImage`` and ``tag`` as one reference; a digest as the tag pins the content."""
    if not tag:
        return name
    if name.rsplit("/", 1)[-1].count(":") or "@" in name:
        raise bad_parameter(f"tag: {name!r} already names a tag or digest; give it in one place")
    return f"{name}@{tag}" if tag.startswith("sha256:") else f"{name}:{tag}"


def pull_image(engine, text: str, credentials: Credentials | None, send: Send) -> None:
    from portside.image.registry import parse_reference, pull, run

    ref = parse_reference(text)
    events = LayerEvents(send, first={"status": f"Pulling from {ref.repository}", "id": ref.tag or ref.digest})
    result = run(pull(engine.images, engine.root, text, io.StringIO(), insecure=plain_http(ref.registry),
                      credentials=credentials, listener=events))
    events.start()
    shown = result.name or str(ref)
    send({"status": f"Digest: {result.digest}"})
    send({"status": f"Status: {'Downloaded newer image' if result.fresh else 'Image is up to date'} for {shown}"})


async def import_image(request: web.Request) -> web.StreamResponse:
    source = qstr(request, "fromSrc")
    if source != "-":
        raise bad_parameter(f"fromSrc: importing from a URL ({source!r}) is not supported; send the tarball as the "
                            "request body with fromSrc=-")
    changes = request.query.getall("changes", [])
    check_changes(changes)
    repo, tag = qstr(request, "repo"), qstr(request, "tag")
    ref = (f"{repo}:{tag}" if tag else repo) or None
    if ref:
        try:
            ref = normalize(ref)
        except InvalidReference as exc:
            raise bad_parameter(f"repo: {exc}") from None
    store = store_of(request)
    async with scratch(request, "import") as work:
        await save_body(request, work / "rootfs.tar")
        stream = JsonStream(request)

        def job() -> None:
            image = store.import_rootfs(work / "rootfs.tar", ref, qstr(request, "message"), changes)
            stream.send({"status": image.id})
        return await stream.run(job)


def check_changes(changes: list[str]) -> None:
    from portside.image.build import DockerfileError
    from portside.image.importer import apply_changes

    try:
        apply_changes({}, changes)
    except DockerfileError as exc:
        raise bad_parameter(f"changes: {exc}") from None


@routes.post("/images/{name:.+}/push")
async def push_image(request: web.Request) -> web.StreamResponse:
    from portside.image.registry import parse_reference

    name, tag = request.match_info["name"], qstr(request, "tag")
    store = store_of(request)
    refs = [with_tag(name, tag)] if tag else await backend(request).call(tags_of, store, name)
    for ref in refs:
        await backend(request).call(store.resolve, ref)  # a missing image is a 404, before the stream starts
    credentials = registry_credentials(request)
    stream = JsonStream(request)
    stream.send({"status": f"The push refers to repository [{parse_reference(refs[0]).name}]"})
    return await stream.run(push_tags, backend(request).engine, refs, credentials, stream.send)


def tags_of(store: ImageStore, repository: str) -> list[str]:
    """Every local name in ``repository`` (``docker push REPO`` without a tag pushes them all)."""
    try:
        wanted = split_tag(normalize(repository))[0]
    except InvalidReference as exc:
        raise bad_parameter(str(exc)) from None
    names = sorted(n for image in store.list() for n in image.names if split_tag(n)[0] == wanted)
    if not names:
        from portside.image import ImageNotFound

        raise ImageNotFound(repository)
    return names


def push_tags(engine, refs: list[str], credentials: Credentials | None, send: Send) -> None:
    from portside.image.registry import parse_reference, push, run

    for text in refs:
        ref = parse_reference(text)
        events = LayerEvents(send, pushing=True, hidden=short_id(engine.images.resolve(text).id))
        digest = run(push(engine.images, engine.root, text, io.StringIO(), insecure=plain_http(ref.registry),
                          credentials=credentials, listener=events))
        size = engine.images.layout.blob_path(digest).stat().st_size
        send({"status": f"{ref.tag}: digest: {digest} size: {size}"})
        send({"progressDetail": {}, "aux": {"Tag": ref.tag, "Digest": digest, "Size": size}})


# -- archives --------------------------------------------------------------------------------------------------


@routes.get("/images/{name:.+}/get")
async def save_one(request: web.Request) -> web.StreamResponse:
    return await save_images(request, [request.match_info["name"]])


@routes.get("/images/get")
async def save_many(request: web.Request) -> web.StreamResponse:
    names = request.query.getall("names", [])
    if not names:
        raise bad_parameter("names: at least one image to save is required")
    return await save_images(request, names)


async def save_images(request: web.Request, names: list[str]) -> web.StreamResponse:
    """``docker save``: the archive is written to scratch space, then streamed (a failure is a plain error)."""
    from portside.image.archive import save

    store = store_of(request)
    call = backend(request).call
    async with scratch(request, "save") as work:
        await call(save, store, names, work / "images.tar")
        response = web.StreamResponse(headers={"Content-Type": "application/x-tar"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        with await call(open, work / "images.tar", "rb") as archive:
            try:
                while chunk := await call(archive.read, 1 << 20):
                    await response.write(chunk)
                await response.write_eof()
            except ConnectionError:
                pass  # the client went away: nothing more to send, the scratch copy goes all the same
        return response


@routes.post("/images/load")
async def load_images(request: web.Request) -> web.StreamResponse:
    """``docker load``: ``{"stream": "Loaded image: NAME\\n"}`` per image (the same with ``quiet``, as dockerd)."""
    from portside.image.archive import load

    qbool(request, "quiet")
    store = store_of(request)
    async with scratch(request, "load") as work:
        await save_body(request, work / "images.tar")
        stream = JsonStream(request)

        def job() -> None:
            for line in load(store, Path(work / "images.tar")):
                stream.send({"stream": line + "\n"})
        return await stream.run(job, eager=True)


@routes.post("/commit")
async def commit(request: web.Request) -> web.Response:
    """``docker commit``: 201 and the new image's id; the body, when given, is a container config whose keys
    override the container's own (docker-py's ``conf``)."""
    from portside.engine import commit as commit_container

    container = qstr(request, "container")
    if not container:
        raise bad_parameter("container: the container to commit is required")
    repo, tag = qstr(request, "repo"), qstr(request, "tag")
    name = (f"{repo}:{tag}" if tag else repo) or None
    if name:
        try:
            name = normalize(name)
        except InvalidReference as exc:
            raise bad_parameter(f"repo: {exc}") from None
    changes = request.query.getall("changes", [])
    check_changes(changes)
    qbool(request, "pause", True)  # accepted: the container keeps running while its changes are read
    config = {k: v for k, v in (await json_body(request)).items() if v not in (None, "", [], {})}
    image = await backend(request).call(commit_container, backend(request).engine, container, name,
                                        qstr(request, "comment"), qstr(request, "author"), changes, config)
    return reply({"Id": image.id}, 201)
