"""The image verbs that must know about containers: ``rmi`` refuses an image a container was created from, and
``image prune`` never removes one. The CLI and the Docker API both call these; the image store alone knows
nothing of containers (it sits on a lower floor).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from portside.image import Image, ImageInUse
from portside.image.gc import names_ref, untag
from portside.image.reference import normalize


def remove_image(engine, ref: str, force: bool = False) -> list[str]:
    """docker's ``rmi``: ``Untagged: NAME`` and ``Deleted: ID`` lines, in that order.

    An image a container uses is refused (409) unless forced; forced, it only loses the name asked for (all its
    names when asked by id), and its layers stay for the container that needs them.
    """
    store = engine.images
    image = store.resolve(ref)
    users = engine.using_image(image.id)
    by_name = names_ref(image, ref)
    if users and not force:
        running = engine.state(users[0]).status == "running"
        raise ImageInUse(ref, users[0], image.id, by_name=by_name, running=running)
    if users:
        names = [normalize(ref)] if by_name else image.names
        for name in names:
            untag(store, name)
        return [f"Untagged: {name}" for name in names]
    return store.remove(ref, force)


def prune_images(engine, all: bool = False, keep: Callable[[Image], bool] = lambda image: False) -> tuple[list[str], int]:
    """docker's ``image prune``: remove the dangling images (every unused one with ``all``) that no container
    was created from and ``keep`` does not protect; then sweep what nothing reaches any more.

    Returns the ``Untagged``/``Deleted`` lines and the bytes of blobs freed."""
    store = engine.images
    before = blob_bytes(store)
    lines: list[str] = []
    for image in store.list():
        if (image.names and not all) or keep(image) or engine.using_image(image.id):
            continue
        lines += store.remove(image.id, force=True)
    store.prune()
    return lines, max(0, before - blob_bytes(store))


def commit(engine, ref: str, name: str | None = None, comment: str = "", author: str = "",
           changes: list[str] = (), config: dict | None = None) -> Image:
    """docker's ``commit``: a new image whose last layer is the container's changes, whose config is the
    container's (its command, environment, working directory, user, labels) with ``config``'s keys and then
    ``changes`` (Dockerfile instructions) applied. The container keeps running; what it writes meanwhile may or
    may not be in the layer."""
    from portside.engine.files import _placeholders  # this package's: the mount points a start leaves in upper
    from portside.engine.inspect import config as inspect_config
    from portside.image.build.cache import State, child_config
    from portside.image.importer import apply_changes

    record = engine.record(ref)
    store = engine.images
    base = store.resolve(record.image)
    inner = apply_changes({**base.config, **container_config(record.config), **(config or {})}, changes)
    names = [normalize(name)] if name else []
    created_by = " ".join([record.path, *record.args]).strip()
    with store.layout.writing():
        layer = layer_of(store, engine.upper_dir(record.id), _placeholders(record))
        parent = State(base.full_config, store.layers(base), base.id, base.digest)
        full = child_config(parent, inner, created_by, layer, author or None)
        # docker's image JSON keeps what it was committed from; inspect shows them as Container, ContainerConfig
        # and Parent (dockerd keeps the parent beside the image, there being no other place here)
        full.update(container=record.id, container_config=inspect_config(record), parent=base.id)
        if comment:
            full["history"][-1]["comment"] = full["comment"] = comment
        return store.add_image(full, parent.layers + [layer], names)


def container_config(process) -> dict:
    """What a container's own configuration sets in a committed image."""
    out = {"Cmd": process.cmd or None, "Entrypoint": process.entrypoint, "Env": process.env,
           "WorkingDir": process.working_dir, "User": process.user, "Labels": process.labels or None}
    return {key: value for key, value in out.items() if value not in (None, "", [])}


def layer_of(store, upper, placeholders: frozenset[str] = frozenset()):
    """The upper directory as a layer blob, unpacked into the store as any other layer (the container's own
    directory stays where it is). The runtime's mount points (``/proc``, ``/etc/hosts``, the volumes) are no
    changes of the container's, as ``docker diff`` says too, so they stay out."""
    from portside.image.diff import write_layer
    from portside.image.layout import LAYER_TAR
    from portside.image.store import LayerRef

    writer = store.layout.writer()
    try:
        write_layer(upper, writer, frozenset(path.lstrip("/") for path in placeholders))
        digest, size = writer.commit()
    except BaseException:
        writer.discard()
        raise
    layer = LayerRef(digest, LAYER_TAR, size, digest)
    store.unpack_layer(layer)
    return layer


def blob_bytes(store) -> int:
    """The bytes the store's blobs take (what a prune reports as reclaimed, by difference)."""
    blobs = store.layout.blobs
    if not blobs.is_dir():
        return 0
    return sum(entry.stat().st_size for entry in os.scandir(blobs) if entry.is_file())
