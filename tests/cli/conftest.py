"""An engine root per test, driven through the real ``portside`` command (``support.engineroot``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.engineroot import cleanup, make_root


@pytest.fixture
def portside(needs_root: None, tmp_path: Path, busybox_rootfs_tar: Path):
    ps = make_root(tmp_path, busybox_rootfs_tar)
    try:
        yield ps
    finally:
        cleanup(ps)
