"""RUN: one command in a real runc container over the stage's layers; the overlay's upper dir is the new layer.

The container uses the host network (no registry or mirror is reachable from a fresh namespace otherwise) and
runs through ``portside.runtime.run_oneshot``, which removes its container and bundle whatever happens.  This
module owns the mount: it is unmounted in ``finally`` before anything is deleted, and nothing under the merged
directory is ever removed while it might still be mounted (that would delete through into the layers).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import IOBase as IO
from pathlib import Path

from portside.image.errors import ImageError

# Mount points runc creates when an image lacks them; they must not become layer content.
MOUNT_POINTS = ("proc", "sys", "dev")
CLEANUP_TIMEOUT_S = 10.0  # an interrupted RUN: how long its work directory may stay busy (a loaded machine)


@dataclass(frozen=True)
class RunSpec:
    argv: list[str]
    env: list[str]
    cwd: str
    user: str
    network: str = "host"
    extra_hosts: tuple[tuple[str, str], ...] = ()  # (name, address) lines added to the command's /etc/hosts


class RunFailed(ImageError):
    def __init__(self, code: int) -> None:
        super().__init__(f"exit code {code}")
        self.code = code


def run_in_layers(lowers: list[Path], spec: RunSpec, work: Path, out: IO, cgroup_parent: str = "portside",
                  err: IO | None = None) -> Path:
    """Run ``spec`` over ``lowers`` inside ``work``; return the upper directory holding the command's changes.
    The command's stderr goes to ``err`` when given, else with its stdout to ``out``.

    Raises ``RunFailed`` for a non-zero exit. The caller removes ``work`` (after this returned or raised).
    """
    from portside.runtime import is_mounted, mount_overlay, run_oneshot, unmount

    upper, merged = work / "upper", work / "merged"
    if not lowers:
        (work / "empty").mkdir()
        lowers = [work / "empty"]
    points = MOUNT_POINTS + (("etc/hosts",) if spec.extra_hosts else ())
    absent = [name for name in points if not any(os.path.lexists(d / name) for d in lowers)]
    mount_overlay(lowers, upper, work / "work", merged)
    try:
        mounts = hosts_mount(work, merged, spec.extra_hosts)
        with output_stream(out) as stream, output_stream(err or stream) as errors:
            code = run_oneshot(merged, spec.argv, spec.env, cwd=spec.cwd or "/", user=spec.user or "0",
                               network=spec.network, stdout=stream, stderr=errors, cgroup_parent=cgroup_parent,
                               mounts=mounts)
    finally:
        unmount(merged)
    if is_mounted(merged):
        raise ImageError(f"cannot unmount the build root {merged}")
    if code != 0:
        raise RunFailed(code)
    drop_mount_points(upper, absent)
    return upper


def hosts_mount(work: Path, merged: Path, extra: tuple[tuple[str, str], ...]) -> list:
    """The image's /etc/hosts plus the build's extra hosts, bound over it for this command only (docker build
    --add-host): the file in the layer stays as the image has it."""
    if not extra:
        return []
    from portside.runtime.spec import Mount

    current = merged / "etc/hosts"
    text = current.read_text() if current.is_file() and not current.is_symlink() else "127.0.0.1\tlocalhost\n"
    hosts = work / "hosts"
    hosts.write_text(text + ("" if text.endswith("\n") or not text else "\n")
                     + "".join(f"{address}\t{name}\n" for name, address in extra))
    return [Mount("/etc/hosts", str(hosts), options=("bind", "ro", "rprivate"))]


@contextmanager
def output_stream(out: IO) -> Iterator[IO]:
    """The command's output goes to ``out`` directly when it is a file; otherwise through a file, copied after."""
    out.flush()
    try:
        out.fileno()
        yield out
        return
    except (OSError, AttributeError, ValueError):
        pass
    import tempfile

    with tempfile.TemporaryFile() as spool:
        try:
            yield spool
        finally:
            spool.seek(0)
            out.write(spool.read().decode(errors="replace"))


def drop_mount_points(upper: Path, absent: list[str]) -> None:
    import shutil

    for name in absent:
        path = upper / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and not path.is_symlink() and path.stat().st_size == 0:
            path.unlink()  # the file runc made to bind a file over (/etc/hosts)


def cleanup(work: Path) -> None:
    """Remove a RUN's work directory, never while its merged directory is still a mount point."""
    import shutil

    from portside.runtime import is_mounted

    if is_mounted(work / "merged"):
        return
    deadline = time.monotonic() + CLEANUP_TIMEOUT_S
    while True:  # an overlay just unmounted keeps its work directory busy until its last user is gone
        shutil.rmtree(work, ignore_errors=True)
        if not work.exists() or time.monotonic() > deadline:
            return
        time.sleep(0.05)
