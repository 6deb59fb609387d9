"""``portside up``'s node lifecycle flags: bad values are named, and nothing is created."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("flag, value, said", [
    ("--node-monitor-grace", "soon", "--node-monitor-grace: expected a non-negative number, got 'soon'"),
    ("--node-monitor-grace", "0", "--node-monitor-grace: expected more than 0 seconds"),
    ("--default-eviction-timeout", "2.5", "--default-eviction-timeout: expected a whole number of seconds, "
                                          "got '2.5'"),
    ("--node-eviction-rate", "-1", "--node-eviction-rate: expected a non-negative number, got '-1'"),
])
def test_bad_lifecycle_flags_are_named(tmp_path, flag, value, said):
    proc = subprocess.run([sys.executable, "-m", "portside", "up", "--data-dir", str(tmp_path / "d"), flag, value],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and said in proc.stderr, proc.stderr
    assert not (tmp_path / "d").exists()
