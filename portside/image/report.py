"""What ``images``, ``history`` and ``image inspect`` show, as docker shows it (columns, units, JSON keys)."""

from __future__ import annotations

from datetime import UTC, datetime

from portside.image.reference import familiar, short_id, split_tag
from portside.image.store import Image, ImageStore

ZERO_TIME = "0001-01-01T00:00:00Z"
# docker's Config carries every key, set or not; clients (compose, docker-py) read them without checking
CONFIG_KEYS = {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
               "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None,
               "Cmd": None, "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None,
               "Labels": None}


def human_size(size: int) -> str:
    """Docker's decimal units with three significant digits: 2.42MB, 512B."""
    value, units = float(size), ["B", "kB", "MB", "GB", "TB"]
    for unit in units:
        if value < 1000 or unit == units[-1]:
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{size}B"


def parse_time(text: str) -> datetime | None:
    if not text:
        return None
    head = text.rstrip("Z").split(".")[0]
    try:
        return datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def unix_time(text: str) -> int:
    """Seconds since the epoch, as the API's image lists give ``Created`` (0 when unknown)."""
    when = parse_time(text)
    return int(when.timestamp()) if when else 0


def since(text: str) -> str:
    """'5 minutes ago' as docker prints a creation time."""
    when = parse_time(text)
    if when is None:
        return "N/A"
    seconds = int((datetime.now(UTC) - when).total_seconds())
    for unit, span in (("year", 31536000), ("month", 2592000), ("week", 604800), ("day", 86400),
                       ("hour", 3600), ("minute", 60)):
        if seconds >= span:
            count = seconds // span
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "Less than a minute ago" if seconds >= 1 else "Less than a second ago"


def image_rows(image: Image) -> list[dict]:
    """One row per name (one '<none>' row for a dangling image), with docker's ``--format json`` keys."""
    names = image.names or ["<none>:<none>"]
    return [{"Repository": repo, "Tag": tag, "ID": short_id(image.id), "CreatedAt": image.created,
             "CreatedSince": since(image.created), "Size": human_size(image.size), "Digest": image.digest}
            for repo, tag in (split_tag(name) for name in names)]


def repo_digests(store: ImageStore, image: Image) -> list[str]:
    """``repository@digest`` for each registry repository the image was pulled from or pushed to: the manifest
    is kept byte for byte, so its digest there is the one stored here."""
    from portside.image.registry.settings import BlobSources

    return [f"{familiar(where)}@{image.digest}" for where in BlobSources(store.root).repositories(image.id)]


def docker_config(config: dict | None) -> dict:
    return {**CONFIG_KEYS, **(config or {})}


def inspect(store: ImageStore, image: Image) -> dict:
    """``docker image inspect``'s document (the Engine API's ``/images/{name}/json``)."""
    full = image.full_config
    return {
        "Id": image.id, "RepoTags": image.names, "RepoDigests": repo_digests(store, image),
        "Parent": full.get("parent", ""),
        "Comment": full.get("comment", ""), "Created": image.created or ZERO_TIME,
        "Container": full.get("container", ""), "ContainerConfig": docker_config(full.get("container_config")), "DockerVersion": full.get("docker_version", ""),
        "Author": full.get("author", ""), "Config": docker_config(image.config),
        "Architecture": full.get("architecture", ""), **({"Variant": full["variant"]} if full.get("variant") else {}),
        "Os": full.get("os", ""), "Size": image.size, "VirtualSize": image.size,
        "GraphDriver": {"Data": None, "Name": "overlay"},
        "RootFS": {"Type": "layers", "Layers": image.diff_ids},
        "Metadata": {"LastTagTime": ZERO_TIME, "ManifestDigest": image.digest},
    }


def history(store: ImageStore, image: Image) -> list[dict]:
    """The image's history, newest first, in the Engine API's shape (``Created`` in seconds, ``Size`` in
    bytes); sizes come from the layers of the entries that made one (``empty_layer`` made none). Only the top
    entry has an id: the steps below it are no images of their own here."""
    sizes = iter(layer.size for layer in store.layers(image))
    entries = []
    for entry in image.history:
        size = 0 if entry.get("empty_layer") else next(sizes, 0)
        entries.append({"Id": "<missing>", "Created": unix_time(entry.get("created", "")),
                        "CreatedAt": entry.get("created", ""), "CreatedBy": entry.get("created_by", ""),
                        "Tags": None, "Size": size, "Comment": entry.get("comment", "")})
    entries.reverse()
    if entries:
        entries[0].update(Id=image.id, Tags=image.names or None)
    return entries


def history_rows(store: ImageStore, image: Image) -> list[dict]:
    """``history``'s rows, with docker's ``--format json`` keys."""
    return [{"ID": short_id(e["Id"]) if e["Id"] != "<missing>" else e["Id"], "CreatedAt": e["CreatedAt"],
             "CreatedSince": since(e["CreatedAt"]), "CreatedBy": e["CreatedBy"], "Size": human_size(e["Size"]),
             "Comment": e["Comment"]} for e in history(store, image)]
