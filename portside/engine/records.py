"""Where a container lives on disk, and how its records are written so that a crash never leaves half a file.

``ROOT/containers/<id>/`` holds ``container.json`` (what was asked for: written at create, and again only when
``network connect`` or ``disconnect`` changes its networks; a ``ContainerRecord``), ``state.json`` (what is happening: rewritten by the engine and by the monitor; a
``ContainerState``), the bundle (``config.json``, FIFOs), the overlay's
``upper``/``work``/``rootfs``, and the json-file log. Every write goes to a temporary file that is renamed over the
old one; a per-container ``flock`` serialises the read-modify-write of ``state.json``, because the monitor and a
CLI command may update it at the same moment. Names are symlinks ``ROOT/names/<name> -> <id>``: ``symlink(2)``
either creates one or fails, which makes name uniqueness atomic without a global lock.
"""

from __future__ import annotations

import _thread
import errno
import fcntl
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from portside.engine.model import ContainerRecord, ContainerState
from portside.runtime import libc
from portside.runtime.errors import ContainerNotFound, InvalidArgument, NameInUse
from portside.runtime.plain import Plain


def write_atomic(path: Path, data: dict, durable: bool = True) -> None:
    """Write temp, fsync (skipped for throw-away ``--rm`` containers: nobody reads them after a crash), replace.
    Compact JSON, as docker writes its own container files: json's C encoder serves only that form, and encodes a
    state 30 times faster than an indented one (the record and state are written on every ``run``'s path)."""
    # one temporary name per writing thread: two threads of one process (the Docker API's, starting containers
    # side by side) may write the same file, such as the first copy of the seccomp profile cache, at once
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{_thread.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, json.dumps(data).encode())
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    replace(tmp, path)


def replace(tmp: Path, path: Path) -> None:
    """``tmp`` takes the place of ``path``, which readers see whole before and after.

    Over an existing file, rename(2) on ext4 first writes the new file's blocks back (the ``auto_da_alloc``
    heuristic for programs that never fsync), a disk wait of up to milliseconds on a busy machine, on a run's
    path: the monitor's RUNNING state replaces the created one before the container's exit can be seen.
    Exchanging the two names and unlinking the old file is as atomic for readers and skips that wait; a durable
    write was fsynced before either, so a crash loses nothing acknowledged (it may leave the old file under the
    temporary name, as a crash between write and rename leaves the new one)."""
    if libc.exchange(str(tmp), str(path)):
        os.unlink(tmp)
    else:
        os.rename(tmp, path)


def remove_tree(path: Path, attempts: int = 10) -> None:
    """``rm -rf``; shutil.rmtree would cost its import (with bz2 and lzma) on the path of every ``run --rm``.

    Others may write in the tree meanwhile: a file listed may be gone before its turn (a record's writer
    unlinks its temporary file once it replaced the record), and a file may appear in a directory already
    emptied (a waiter's exit note, ``Paths.exit_note``; an exec's record rewritten): the walk goes on, and is made
    again while the tree is not gone."""
    for attempt in range(attempts):
        for top, dirs, files in os.walk(path, topdown=False):
            for name in files:
                _remove(os.unlink, os.path.join(top, name))
            for name in dirs:
                full = os.path.join(top, name)
                _remove(os.unlink if os.path.islink(full) else os.rmdir, full)
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.ENOTEMPTY or attempt == attempts - 1:
                raise


def _remove(remove, path: str) -> None:
    """One entry of ``remove_tree``'s walk: one gone already is fine, a directory not empty is left to the walk
    made again."""
    try:
        remove(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno != errno.ENOTEMPTY:
            raise


EVENTS_FILE = "events/events.jsonl"
EVENTS_LIMIT = 2 << 20  # bytes in the current file before it is rotated to events.jsonl.1 (about 10,000 events)


def append_event(root: Path, type: str, action: str, actor: str, attributes: dict[str, str]) -> None:
    """One line of the engine's event log: one ``write`` with O_APPEND, so lines of concurrent writers never mix,
    and no fsync (docker keeps its events in memory only: a crash may lose the last ones, never a verb's work).
    A failure to log (a full disk) never fails the verb that logged."""
    line = json.dumps({"Type": type, "Action": action, "Actor": {"ID": actor, "Attributes": attributes},
                       "timeNano": time.time_ns()}, separators=(",", ":")).encode() + b"\n"
    path = os.path.join(root, EVENTS_FILE)
    try:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, line)
            if os.fstat(fd).st_size > EVENTS_LIMIT:
                _rotate_events(path, fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _rotate_events(path: str, fd: int) -> None:
    """The full file becomes ``events.jsonl.1`` (the one before it is dropped): the log stays bounded. Under the
    file's lock, and only if ``path`` is still this file: two writers past the limit at once rotate it once."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    if os.stat(path).st_ino == os.fstat(fd).st_ino:
        os.rename(path, path + ".1")


def container_event(root: Path, action: str, record: ContainerRecord, **extra: str) -> None:
    """A container's event, with docker's attributes: its labels, image (as asked for) and name."""
    attributes = {**record.config.labels, "image": record.config.image, "name": record.name, **extra}
    append_event(root, "container", action, record.id, attributes)


def image_event(root: Path, action: str, image_id: str, name: str) -> None:
    """An image's event (``ImageStore``'s ``on_event``), as docker's: the image's id as actor (for a pull, the
    name pulled) and its familiar name."""
    from portside.image.reference import familiar

    shown = familiar(name) if name else image_id
    append_event(root, "image", action, shown if action == "pull" else image_id, {"name": shown})


def read_json(path: Path) -> dict:
    with open(path, "rb") as f:
        return json.loads(f.read())


class Paths(Plain):
    """The file layout of one container."""

    __slots__ = ("dir",)

    def __init__(self, dir: Path) -> None:
        self.dir = dir

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def record(self) -> Path:
        return self.dir / "container.json"

    @property
    def state(self) -> Path:
        return self.dir / "state.json"

    @property
    def bundle(self) -> Path:
        return self.dir / "bundle"

    @property
    def rootfs(self) -> Path:
        return self.dir / "rootfs"

    @property
    def attach_socket(self) -> Path:
        """Where the container's monitor serves attachments (``runtime/attach.py``)."""
        return self.dir / "attach.sock"

    @property
    def log(self) -> Path:
        return self.dir / f"{self.id}-json.log"

    @property
    def exit_note(self) -> Path:
        """Where a container's exit code is written, in place, at every exit (a ``--rm`` container's, just before
        its files go): a waiter that opened it beforehand still reads it from its descriptor once they are gone,
        or once the next run of a restart policy began (``engine/waiting.py``)."""
        return self.dir / "exit-code"

    @property
    def stop_marker(self) -> Path:
        return self.dir / "stop-requested"

    @property
    def lock(self) -> Path:
        return self.dir / "lock"


class Records:
    """All containers under one engine root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.containers = root / "containers"
        self.names = root / "names"

    def paths(self, cid: str) -> Paths:
        return Paths(self.containers / cid)

    def ids(self) -> list[str]:
        try:
            return sorted(p.name for p in self.containers.iterdir() if (p / "container.json").exists())
        except FileNotFoundError:
            return []

    def find(self, ref: str) -> str:
        """A full id, a unique id prefix, or a name (docker's lookup order: exact id, name, prefix)."""
        if not ref:
            raise ContainerNotFound(ref)
        if (self.containers / ref / "container.json").exists():
            return ref
        try:
            return os.readlink(self.names / ref.lstrip("/"))
        except (FileNotFoundError, OSError):
            pass
        matches = [i for i in self.ids() if i.startswith(ref)] if ref.isalnum() else []
        if len(matches) > 1:
            raise InvalidArgument(f"container id prefix {ref!r} is ambiguous: it matches {len(matches)} containers")
        if not matches:
            raise ContainerNotFound(ref)
        return matches[0]

    def claim_name(self, name: str, cid: str) -> None:
        self.names.mkdir(parents=True, exist_ok=True)
        try:
            os.symlink(cid, self.names / name)
        except FileExistsError:
            raise NameInUse(name, _readlink(self.names / name)) from None

    def release_name(self, name: str, cid: str) -> None:
        link = self.names / name
        if name and _readlink(link) == cid:
            link.unlink(missing_ok=True)

    def forget(self, cid: str, name: str) -> None:
        """Make a container unfindable (no name, no ``container.json``) before its files are removed: what a
        ``--rm`` container needs before its ``run`` returns; the rest of its directory may follow later. ``name``
        is the one it had at its start; the record has the current one if it was renamed since."""
        if _readlink(self.names / name) != cid:
            try:
                name = self.record(cid).name
            except FileNotFoundError:
                pass
        self.release_name(name, cid)
        try:
            os.unlink(self.paths(cid).record)
        except FileNotFoundError:
            pass

    def write_new(self, record: ContainerRecord, durable: bool = True) -> None:
        """A new container's directory, its state (created) and its record, the record last: ``ids`` lists a
        container only once its record exists."""
        paths = self.paths(record.id)
        paths.dir.mkdir(parents=True)
        write_atomic(paths.state, ContainerState().to_json(), durable)
        write_atomic(paths.record, record.to_json(), durable)

    def event(self, action: str, record: ContainerRecord, **extra: str) -> None:
        container_event(self.root, action, record, **extra)

    def record(self, cid: str) -> ContainerRecord:
        """The container's record; FileNotFoundError once it is gone."""
        return ContainerRecord.from_json(read_json(self.paths(cid).record))

    def state(self, cid: str) -> ContainerState:
        """The state as last written (``Engine.state`` also notices a dead monitor); ContainerNotFound if none."""
        try:
            return ContainerState.from_json(read_json(self.paths(cid).state))
        except FileNotFoundError:
            raise ContainerNotFound(cid) from None

    def update_state(self, cid: str, change: Callable[[ContainerState], ContainerState],
                     durable: bool = True) -> ContainerState:
        """Replace state.json with ``change(current)`` under the container's lock; returns the new state."""
        paths = self.paths(cid)
        fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = ContainerState.from_json(read_json(paths.state))
            except FileNotFoundError:
                current = ContainerState()
            state = change(current)
            write_atomic(paths.state, state.to_json(), durable)
            return state
        finally:
            os.close(fd)

    def update_record(self, cid: str, change: Callable[[ContainerRecord], ContainerRecord]) -> ContainerRecord:
        """Replace container.json with ``change(current)`` under the container's lock (``network connect`` and
        ``disconnect`` change its networks); returns the new record."""
        paths = self.paths(cid)
        fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            record = change(self.record(cid))
            write_atomic(paths.record, record.to_json(), not record.host.auto_remove)
            return record
        finally:
            os.close(fd)


def _readlink(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""
