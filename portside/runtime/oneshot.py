"""One process in a throw-away runc container, on a root filesystem the caller has already mounted.

This is what image builds run each Dockerfile ``RUN`` step through: no monitor, no log, no record. runc runs in the
foreground (one invocation), so it reaps the process and removes its own cgroup; the bundle and a private runc
state directory live in one temporary directory, removed in ``finally``. An interrupt (or any error) kills the
container and force-deletes it before the exception goes on, so nothing outlives the call.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

from portside.runtime import spec
from portside.runtime.cgroups import Cgroup
from portside.runtime.errors import InvalidArgument
from portside.runtime.runc import Runc

Stream = IO | int | None


def run_oneshot(rootfs: Path, argv: list[str], env: list[str], cwd: str = "/", user: str = "0",
                network: str = "none", stdout: Stream = None, stderr: Stream = None, stdin: Stream = None,
                container_id_prefix: str = "build", cgroup_parent: str = "portside",
                mounts: list[spec.Mount] = ()) -> int:
    """Run ``argv`` in a container on ``rootfs`` and return its exit code (128+N when killed by signal N).

    Its cgroup is ``/CGROUP_PARENT/ID``, removed (the container's, not the parent) when it ends.

    ``network`` is "none" (a fresh namespace with only loopback) or "host". Streams are file objects or file
    descriptors; None means /dev/null for stdin and the caller's own stdout/stderr. ``mounts`` are added to the
    runtime's own (a build's /etc/hosts with its extra hosts).
    """
    if network not in ("none", "host"):
        raise InvalidArgument(f"network {network!r}: a one-shot container takes 'none' or 'host'")
    cid = f"{container_id_prefix}-{os.urandom(6).hex()}"
    cgroup = f"/{cgroup_parent.strip('/')}/{cid}"
    work = Path(tempfile.mkdtemp(prefix="portside-oneshot-"))
    runc = Runc(work / "runc")
    try:
        _write_bundle(work, cid, Path(rootfs), argv, env, cwd, user, network, cgroup, mounts)
        with open(os.devnull, "rb") as null:
            stdio = (_fd(stdin, null.fileno()), _fd(stdout, 1), _fd(stderr, 2))
            return _run(runc, cid, work, stdio)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        Cgroup(cgroup).remove()


def _run(runc: Runc, cid: str, bundle: Path, stdio: tuple[int, int, int]) -> int:
    try:
        return runc.run(cid, bundle, detach=False, stdio=stdio)
    except BaseException:
        _destroy(runc, cid)
        raise


def _destroy(runc: Runc, cid: str) -> None:
    """Best effort, and it must not mask the exception that brought us here."""
    try:
        runc.delete(cid, force=True)
    except Exception:
        pass


def _write_bundle(work: Path, cid: str, rootfs: Path, argv: list[str], env: list[str], cwd: str, user: str,
                  network: str, cgroup: str, mounts: list[spec.Mount] = ()) -> None:
    if not argv:
        raise InvalidArgument("no command given to run")
    uid, gid, groups = spec.resolve_user(rootfs, user)
    proc = spec.Process(args=list(argv), env=spec.default_env([], env), cwd=cwd or "/", uid=uid, gid=gid,
                        additional_gids=groups)
    security = spec.Security()
    security = spec.Security(seccomp=spec.default_seccomp(spec.capabilities(security)))
    config = spec.build_config(rootfs.resolve(), proc, hostname=cid[:63], cgroups_path=cgroup,
                               security=security, mounts=list(mounts),
                               netns="host" if network == "host" else None)
    (work / "config.json").write_text(json.dumps(config))


def _fd(stream: Stream, default: int) -> int:
    if stream is None:
        return default
    return stream if isinstance(stream, int) else stream.fileno()
