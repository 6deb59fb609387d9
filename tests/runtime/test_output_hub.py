"""The monitor's output loop and its attached clients: no byte falls between the log and a new client."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from portside.runtime import attach, logfile
from portside.runtime.hub import Hub
from portside.runtime.output import Output


def test_a_client_queued_before_the_output_was_logged_gets_it_live(tmp_path: Path) -> None:
    """docker's attach with ``logs=1``: connect, replay the log, then the live output. Output logged after the
    connection but before the monitor accepted it is neither in the replay nor, unless the monitor admits queued
    clients before it logs, in the live stream. Here the process has written and exited before the loop's first
    poll, so that poll sees the output, the exit and the queued client at once."""
    hub = Hub()
    hub.listen(tmp_path / "attach.sock")
    output = Output(tmp_path, logfile.Sink(tmp_path / "log.json"), None, hub)
    stdout, stderr = output.open()
    child = subprocess.Popen(["sh", "-c", "echo hello"], stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
    os.close(stdout)
    os.close(stderr)
    deadline = time.monotonic() + 10
    while not _exited_unreaped(child.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    client = attach.connect(tmp_path / "attach.sock", "c0ffee")  # queued: the hub has not polled yet
    try:
        output.pump(child.pid)
        hub.close()
        received = []
        while (message := client.receive()) is not None:
            received.append(message)
    finally:
        client.close()
        child.wait()
    assert received == [(attach.STDOUT, b"hello\n")]
    assert b'"log": "hello\\n"' in (tmp_path / "log.json").read_bytes()


def _exited_unreaped(pid: int) -> bool:
    result = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    return result is not None
