"""What ``images``, ``history`` and ``image inspect`` show, as docker shows it (columns, units, JSON keys)."""

from __future__ import annotations

from datetime import UTC, datetime

from portside.image.reference import short_id, split_tag
from portside.image.store import Image, ImageStore


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


def inspect(store: ImageStore, image: Image) -> dict:
    """The fields of ``docker image inspect`` that an OCI image has."""
    full = image.full_config
    return {
        "Id": image.id, "RepoTags": image.names, "RepoDigests": [], "Parent": "", "Comment": "",
        "Created": image.created, "Author": full.get("author", ""), "Config": image.config,
        "Architecture": full.get("architecture", ""), "Os": full.get("os", ""), "Size": image.size,
        "RootFS": {"Type": "layers", "Layers": image.diff_ids},
        "Metadata": {"ManifestDigest": image.digest},
    }


def history_rows(store: ImageStore, image: Image) -> list[dict]:
    """Newest first; sizes come from the layers of the entries that made one (``empty_layer`` made none)."""
    sizes = iter(layer.size for layer in store.layers(image))
    rows = []
    for entry in image.history:
        size = 0 if entry.get("empty_layer") else next(sizes, 0)
        rows.append({"ID": "<missing>", "CreatedAt": entry.get("created", ""),
                     "CreatedSince": since(entry.get("created", "")), "CreatedBy": entry.get("created_by", ""),
                     "Size": human_size(size), "Comment": entry.get("comment", "")})
    rows.reverse()
    if rows:
        rows[0]["ID"] = short_id(image.id)
    return rows
