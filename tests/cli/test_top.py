"""``portside top services`` refusals: one line naming what is wrong, and the exit code the CLI uses for it.
(The command's output against a live proxy is tested in tests/proxy/test_controller.py.)"""

from __future__ import annotations

import subprocess
import sys

import pytest


def top(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portside", "top", *args], capture_output=True, text=True,
                          timeout=30)


@pytest.mark.parametrize("args, code, message", [
    ((), 2, "portside: top: expected 'services', got nothing\n"),
    (("pods",), 2, "portside: top: expected 'services', got pods\n"),
    (("services", "-o", "yaml"), 2, "portside: top: --output: expected table or json, got 'yaml'\n"),
    (("services", "--kubeconfig", "/nonexistent/kubeconfig"), 1,
     "portside: top: cannot read kubeconfig /nonexistent/kubeconfig: No such file or directory\n"),
])
def test_bad_input_is_one_clear_line(args, code, message) -> None:
    proc = top(*args)
    assert (proc.returncode, proc.stderr, proc.stdout) == (code, message, "")
