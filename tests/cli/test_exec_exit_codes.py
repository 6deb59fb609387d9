"""``portside exec`` of a command that cannot start: runc's one line saying why, and docker's exit codes (127 not
found, 126 cannot be invoked), whether the command runs itself or is served by the daemon."""

from __future__ import annotations

import pytest

from tests.cli.test_daemon import Daemon

CASES = [
    (("no-such-binary",), 127, 'exec: "no-such-binary": executable file not found in $PATH'),
    (("/etc/passwd",), 126, 'exec: "/etc/passwd": permission denied'),
    (("-w", "/nonexistent", "pwd"), 126, 'chdir to cwd ("/nonexistent") set in config.json failed'),
    (("sh", "-c", "echo out; echo err >&2; exit 3"), 3, "err"),
]


def exec_each(portside, cid: str) -> None:
    for argv, code, said in CASES:
        flags = argv[:2] if argv[0] == "-w" else ()
        proc = portside("exec", *flags, cid, *argv[len(flags):], check=False)
        assert (proc.returncode, proc.stderr.splitlines()) == (code, [proc.stderr.strip()]), proc.stderr
        assert said in proc.stderr  # said once: runc's line, not repeated by portside


@pytest.mark.parametrize("daemon", [False, True], ids=["direct", "daemon"])
def test_exec_says_why_a_command_did_not_start_and_exits_as_docker(portside, daemon) -> None:
    cid = portside("run", "-d", "--network", "none", "busybox", "sleep", "600").stdout.strip()
    served = Daemon(portside) if daemon else None
    try:
        before = served.served() if served else 0
        exec_each(portside, cid)
        assert served is None or served.served() == before + len(CASES)
    finally:
        if served:
            served.stop()
        portside("rm", "-f", cid)
    assert portside.leftovers() == []
