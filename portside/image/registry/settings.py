"""Per-engine registry settings and memory: which registries speak plain HTTP, and where blobs came from.

``ROOT/registries.json`` holds ``{"insecure": ["127.0.0.1:5000", ...]}``, the list docker keeps as
``insecure-registries``: those registries are spoken to over plain HTTP without ``--insecure`` on every command.

``ROOT/image/blob-sources.json`` remembers in which repositories of a registry each blob was seen (pulled from
or pushed to). A push uses it to ask for a cross-repository mount instead of sending the bytes again, as docker
does. It is only a hint: a stale entry costs one refused mount, after which the blob is uploaded normally.
"""

from __future__ import annotations

import json
import os
import pathlib

from portside.runtime.errors import InvalidArgument

SETTINGS_FILE = "registries.json"
SOURCES_FILE = "blob-sources.json"
MAX_SOURCES = 8


def insecure_registries(root: str | os.PathLike[str]) -> list[str]:
    path = pathlib.Path(root) / SETTINGS_FILE
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise InvalidArgument(f"{path}: not readable JSON: {exc}") from None
    hosts = doc.get("insecure", []) if isinstance(doc, dict) else None
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise InvalidArgument(f"{path}: \"insecure\" must be a list of host[:port] strings")
    return hosts


class BlobSources:
    def __init__(self, image_root: str | os.PathLike[str]) -> None:
        self.path = pathlib.Path(image_root) / SOURCES_FILE

    def sources(self, digest: str, registry: str) -> list[str]:
        """Repositories of ``registry`` known to hold ``digest``, most recent first."""
        prefix = registry + "/"
        return [r.removeprefix(prefix) for r in self._load().get(digest, []) if r.startswith(prefix)]

    def repositories(self, digest: str) -> list[str]:
        """Every ``registry/repository`` known to hold ``digest``, most recent first."""
        return list(self._load().get(digest, []))

    def record(self, registry: str, repository: str, digests: list[str]) -> None:
        doc = self._load()
        where = f"{registry}/{repository}"
        for digest in digests:
            seen = [where] + [r for r in doc.get(digest, []) if r != where]
            doc[digest] = seen[:MAX_SOURCES]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".tmp-{self.path.name}-{os.getpid()}")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True))
        os.replace(tmp, self.path)

    def _load(self) -> dict[str, list[str]]:
        try:
            doc = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return doc if isinstance(doc, dict) else {}
