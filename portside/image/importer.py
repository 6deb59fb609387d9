"""``portside import ROOTFS.tar NAME[:TAG]``: a one-layer image from a root filesystem tarball (docker import).

The tarball is rewritten into the layer blob on the way in (decompressed, device nodes under ``dev/`` dropped
because the runtime mounts its own ``/dev``), then the blob is unpacked with every safety check of a pulled layer.
Blob and directory are published only after both succeeded.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from portside.image.errors import ImageError
from portside.image.layout import BlobWriter, host_arch, now_iso
from portside.image.reference import normalize
from portside.image.unpack import unpack

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def copy_rootfs(tar_path: Path, writer: BlobWriter) -> None:
    try:
        with tarfile.open(tar_path, "r|*") as src, \
                tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as out:
            for member in src:
                if member.isdev() and member.name.lstrip("./").startswith("dev/"):
                    continue
                out.addfile(member, src.extractfile(member) if member.isreg() else None)
    except (tarfile.TarError, EOFError) as exc:
        raise ImageError(f"cannot import {tar_path}: not a readable tar archive ({exc})") from None


def rootfs_config(tar_path: Path, diff_id: str, comment: str = "", config: dict | None = None) -> dict:
    created = now_iso()
    return {
        "architecture": host_arch(), "os": "linux", "created": created,
        "config": config or {"Env": [DEFAULT_PATH]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": f"portside import {tar_path.name}",
                     "comment": comment or "imported from a root filesystem tarball"}],
        **({"comment": comment} if comment else {}),
    }


# docker import --change: the instructions that only set configuration
CHANGES = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
           "HEALTHCHECK")


def import_rootfs(store, tar_path: Path, ref: str | None, comment: str = "", changes: list[str] = ()):
    """``ref`` None leaves the image untagged (``docker import`` without a name); ``changes`` are Dockerfile
    instructions applied to the new image's config (``docker import --change 'CMD ["sh"]'``)."""
    names = [normalize(ref)] if ref is not None else []
    config = apply_changes({"Env": [DEFAULT_PATH]}, changes)  # checked before the tarball is read
    if not tar_path.is_file():
        raise ImageError(f"cannot import {tar_path}: no such file")
    with store.layout.writing():
        return commit_rootfs(store, tar_path, names, comment, config)


def apply_changes(config: dict, changes: list[str]) -> dict:
    """The builder's own handlers, so an import's CMD or ENV means what it means in a Dockerfile."""
    import posixpath

    from portside.image.build.dockerfile import parse_instruction
    from portside.image.build.instructions import HANDLERS, Scope

    for n, text in enumerate(changes, 1):
        inst = parse_instruction(f"change {n}", n, text.strip())
        if inst.cmd not in CHANGES:
            raise inst.error(f"{inst.cmd} cannot be applied on import (expected one of {', '.join(CHANGES)})")
        if inst.cmd == "WORKDIR":
            config["WorkingDir"] = posixpath.join(config.get("WorkingDir") or "/", inst.args)
        else:
            HANDLERS[inst.cmd](inst, Scope(env_of(config), "\\"), config)
    return config


def env_of(config: dict) -> dict[str, str]:
    return dict(e.split("=", 1) for e in config.get("Env") or [] if "=" in e)


def commit_rootfs(store, tar_path: Path, names: list[str], comment: str = "", config: dict | None = None):
    writer = store.layout.writer()
    unpacked = store.temp_dir("import")
    try:
        copy_rootfs(tar_path, writer)
        writer.close()
        unpacked.rmdir()
        unpack(writer.tmp, unpacked)
        layer = store.commit_layer(writer, unpacked)
    except BaseException:
        writer.discard()
        shutil.rmtree(unpacked, ignore_errors=True)
        raise
    return store.add_image(rootfs_config(tar_path, layer.diff_id, comment, config), [layer], names, action="import")
