"""Volumes, as docker's ``local`` driver keeps them: ``ROOT/volumes/<name>/_data`` (docker's layout) beside
``volume.json`` (when it was created, its labels and driver options, whether it is anonymous). A volume outlives
the containers using it; ``prune`` removes the ones no container uses.

A volume made before its ``volume.json`` existed (or by a container's ``-v NAME:PATH`` start) has none: it is a
named volume without labels, created when its directory was.

Driver options: the local driver's bind form (``type=none``, ``o=bind``, ``device=/host/dir``) makes the volume a
name for a host directory (containers mount that directory); docker's other forms (tmpfs, nfs, a block device) mount
a filesystem at the volume's first use, which portside does not do, and are refused naming the option.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from portside.engine.config import check_name
from portside.engine.records import append_event, read_json, remove_tree, write_atomic
from portside.runtime.errors import Conflict, InvalidArgument, NotFound, VolumeNotFound
from portside.runtime.plain import Plain

DRIVER = "local"
ANONYMOUS_LABEL = "com.docker.volume.anonymous"  # docker 23's mark of a volume made for one container's mount
DRIVER_OPTIONS = ("type", "device", "o")
LIST_FILTERS = ("name", "label", "dangling", "driver")
PRUNE_FILTERS = ("label", "label!", "all")


class VolumeRecord(Plain):
    """One volume's metadata; ``labels`` and ``options`` are None when the creator gave none (docker's null)."""

    __slots__ = ("name", "created", "labels", "options", "anonymous")

    def __init__(self, name: str, created: str, labels: dict[str, str] | None = None,
                 options: dict[str, str] | None = None, anonymous: bool = False) -> None:
        self.name, self.created, self.labels, self.options, self.anonymous = name, created, labels, options, anonymous

    @classmethod
    def from_json(cls, d: dict) -> VolumeRecord:
        return cls(d["Name"], d.get("CreatedAt", ""), d.get("Labels"), d.get("Options"), d.get("Anonymous", False))

    def to_json(self) -> dict:
        return {"Name": self.name, "CreatedAt": self.created, "Labels": self.labels, "Options": self.options,
                "Anonymous": self.anonymous}

    @property
    def bind_device(self) -> str:
        """The host directory a bind-form volume names ("" for a plain one)."""
        return (self.options or {}).get("device", "") if (self.options or {}).get("o") == "bind" else ""


class Volumes:
    def __init__(self, root: Path, records) -> None:
        self.root = Path(root)
        self.dir = self.root / "volumes"
        self.records = records

    def create(self, name: str = "", labels: dict[str, str] | None = None, options: dict[str, str] | None = None,
               anonymous: bool = False, driver: str = DRIVER) -> VolumeRecord:
        """A new volume (a random 64-hex name when ``name`` is empty, as docker's). An existing name gives the
        existing volume, as docker's ``volume create`` does, unless the driver or options asked for differ."""
        name = check_name(name, "volume") if name else os.urandom(32).hex()
        if driver not in ("", DRIVER):  # docker's words (a 404: no such plugin); the only driver is local
            raise NotFound(f'create {name}: error looking up volume plugin {driver}: plugin "{driver}" not found '
                           f"(the only volume driver is {DRIVER})")
        _check_options(options)
        data = self.dir / name / "_data"
        try:
            data.mkdir(parents=True)
        except FileExistsError:
            existing = self.get(name)
            if options and options != existing.options:
                raise Conflict(f"volume {name} already exists with other driver options "
                               f"({existing.options or {}})") from None
            return existing
        labels = dict(labels) if labels is not None else None
        if anonymous:
            labels = {**(labels or {}), ANONYMOUS_LABEL: ""}
        record = VolumeRecord(name, _created(), labels, dict(options) if options is not None else None,
                              anonymous)
        write_atomic(self.dir / name / "volume.json", record.to_json())
        append_event(self.root, "volume", "create", name, {"driver": DRIVER})
        return record

    def ensure(self, name: str) -> None:
        """The volume a container's ``-v NAME:PATH`` names, created now if it does not exist (docker creates it
        with the container)."""
        if not (self.dir / name / "_data").is_dir():
            self.create(name)

    def get(self, name: str) -> VolumeRecord:
        path = self.dir / name
        if not name or "/" in name or not (path / "_data").is_dir():
            raise VolumeNotFound(name)
        try:
            return VolumeRecord.from_json(read_json(path / "volume.json"))
        except (FileNotFoundError, ValueError, KeyError):
            return VolumeRecord(name, _created(path.stat().st_mtime))

    def list(self) -> list[VolumeRecord]:
        """Every volume, by name."""
        try:
            names = sorted(p.name for p in self.dir.iterdir() if (p / "_data").is_dir())
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            try:
                out.append(self.get(name))
            except VolumeNotFound:
                continue  # removed while we looked
        return out

    def select(self, filters: dict[str, list[str]]) -> list[VolumeRecord]:
        """The volumes that pass docker's ``volume ls`` filters: name, label, dangling, driver."""
        from portside.engine import filters as f

        f.check_names(filters, LIST_FILTERS)
        dangling = f.boolean(filters, "dangling")
        used = self._used() if dangling is not None else set()
        return [v for v in self.list()
                if ("name" not in filters or f.text_matches(v.name, filters["name"]))
                and ("driver" not in filters or f.text_matches(DRIVER, filters["driver"]))
                and f.labels_match(v.labels, filters.get("label", []))
                and (dangling is None or (v.name not in used) == dangling)]

    def names(self) -> list[str]:
        return [v.name for v in self.list()]

    def mountpoint(self, name: str) -> Path:
        return self.dir / name / "_data"

    def source(self, name: str) -> str:
        """What a container mounts for volume ``name``: its ``_data``, or the host directory of a bind-form one."""
        try:
            device = self.get(name).bind_device
        except VolumeNotFound:
            device = ""
        return device or str(self.mountpoint(name))

    def remove(self, name: str, force: bool = False) -> None:
        """docker's refusal names the containers using the volume; ``force`` removes it anyway."""
        self.get(name)
        users = self.users(name)
        if users and not force:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
        remove_tree(self.dir / name)
        append_event(self.root, "volume", "destroy", name, {"driver": DRIVER})

    def users(self, name: str) -> list[str]:
        """Ids of the containers (in any state) that mount the volume."""
        out = []
        for cid in self.records.ids():
            try:
                mounts = self.records.record(cid).mounts
            except (FileNotFoundError, KeyError, ValueError):
                continue
            if any(m.name == name for m in mounts):
                out.append(cid)
        return out

    def prune(self, filters: dict[str, list[str]] | None = None, anonymous_only: bool = False
              ) -> tuple[list[str], int]:
        """Remove every volume no container uses and ``filters`` (label, label!, and all=true, which lifts
        ``anonymous_only``: docker's default from API 1.42 on) keep in. The names removed and the bytes freed."""
        from portside.engine import filters as f

        filters = filters or {}
        f.check_names(filters, PRUNE_FILTERS)
        if f.boolean(filters, "all"):
            anonymous_only = False
        used = self._used()
        removed, freed = [], 0
        for record in self.list():
            if record.name in used or (anonymous_only and not record.anonymous) \
                    or not f.labels_match(record.labels, filters.get("label", [])) \
                    or not f.labels_exclude(record.labels, filters.get("label!", [])):
                continue
            size = 0 if record.bind_device else disk_usage(self.mountpoint(record.name))
            try:
                self.remove(record.name)
            except (Conflict, VolumeNotFound):
                continue  # taken or removed meanwhile
            removed.append(record.name)
            freed += size
        return removed, freed

    def _used(self) -> set[str]:
        used = set()
        for cid in self.records.ids():
            try:
                used.update(m.name for m in self.records.record(cid).mounts if m.name)
            except (FileNotFoundError, KeyError, ValueError):
                continue
        return used

    def usage(self, name: str) -> dict:
        """docker's ``UsageData``: the bytes under the volume (-1 for a bind-form one, which docker does not
        measure either) and the number of containers using it."""
        record = self.get(name)
        size = -1 if record.bind_device else disk_usage(self.mountpoint(name))
        return {"Size": size, "RefCount": len(self.users(name))}

    def inspect(self, name: str) -> dict:
        return render(self.get(name), self.mountpoint(name))


def render(record: VolumeRecord, mountpoint: Path) -> dict:
    """docker's volume JSON."""
    return {"CreatedAt": record.created, "Driver": DRIVER, "Labels": record.labels, "Mountpoint": str(mountpoint),
            "Name": record.name, "Options": record.options, "Scope": "local"}


def _created(when: float | None = None) -> str:
    """docker's ``CreatedAt`` of a volume: UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def _check_options(options: dict[str, str] | None) -> None:
    """Only the bind form of the local driver's options (see the module docstring)."""
    if not options:
        return
    for key in options:
        if key not in DRIVER_OPTIONS:
            raise InvalidArgument(f"invalid DriverOpts key {key!r}: the local driver takes type, device and o")
    kind, device, mount_options = options.get("type", ""), options.get("device", ""), options.get("o", "")
    if kind not in ("", "none") or mount_options.split(",")[0] != "bind":
        raise InvalidArgument(f"unsupported DriverOpts type={kind!r} o={mount_options!r}: portside's local driver "
                              "mounts no filesystems (tmpfs, nfs, devices); it takes only type=none, o=bind and "
                              "device=/host/directory")
    if not device.startswith("/") or not os.path.isdir(device):
        raise InvalidArgument(f"invalid DriverOpts device {device!r}: expected an existing absolute host directory")


def disk_usage(path: Path) -> int:
    """Bytes in the files under ``path`` (each hard-linked inode once), without following symlinks."""
    total, seen = 0, set()
    for top, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(top, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total
