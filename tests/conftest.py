"""Suite-wide fixtures.

Tests that need root, runc or network namespaces use ``needs_root``: on a machine without them they skip with the
reason, except under CI (``CI=true``), which is root on a fresh Debian machine: there a missing prerequisite is a
failure, never a silent skip.
"""

import os
import shutil

import pytest


def _missing_prerequisite() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    if shutil.which("runc") is None:
        return "needs runc (apt-get install runc)"
    return None


@pytest.fixture
def needs_root() -> None:
    reason = _missing_prerequisite()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)
