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


def rootfs_config(tar_path: Path, diff_id: str) -> dict:
    created = now_iso()
    return {
        "architecture": host_arch(), "os": "linux", "created": created,
        "config": {"Env": [DEFAULT_PATH]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": f"portside import {tar_path.name}",
                     "comment": "imported from a root filesystem tarball"}],
    }


def import_rootfs(store, tar_path: Path, ref: str):
    name = normalize(ref)
    if not tar_path.is_file():
        raise ImageError(f"cannot import {tar_path}: no such file")
    with store.layout.writing():
        return commit_rootfs(store, tar_path, name)


def commit_rootfs(store, tar_path: Path, name: str):
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
    return store.add_image(rootfs_config(tar_path, layer.diff_id), [layer], [name], action="import")
