"""Named volumes: ``ROOT/volumes/<name>/_data``, docker's layout. A volume outlives the containers using it."""

from __future__ import annotations

import shutil
from pathlib import Path

from portside.engine.config import check_name
from portside.runtime.errors import Conflict, VolumeNotFound


class Volumes:
    def __init__(self, root: Path, records) -> None:
        self.dir = root / "volumes"
        self.records = records

    def create(self, name: str) -> Path:
        """Idempotent, as docker's ``volume create`` of an existing name."""
        data = self.dir / check_name(name, "volume") / "_data"
        data.mkdir(parents=True, exist_ok=True)
        return data

    def list(self) -> list[str]:
        try:
            return sorted(p.name for p in self.dir.iterdir() if (p / "_data").is_dir())
        except FileNotFoundError:
            return []

    def remove(self, name: str, force: bool = False) -> None:
        if not (self.dir / name / "_data").is_dir():
            raise VolumeNotFound(name)
        users = self.users(name)
        if users and not force:
            raise Conflict(f"volume {name!r} is in use by container {users[0][:12]}")
        shutil.rmtree(self.dir / name)

    def users(self, name: str) -> list[str]:
        out = []
        for cid in self.records.ids():
            try:
                mounts = self.records.record(cid).mounts
            except (FileNotFoundError, KeyError, ValueError):
                continue
            if any(m.name == name for m in mounts):
                out.append(cid)
        return out
