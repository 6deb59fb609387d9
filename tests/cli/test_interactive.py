"""Interactive containers: ``run -it`` on a terminal, ``attach``, and a stdin kept open between attachments
(``-i``), through the real ``portside`` command and real runc containers."""

from __future__ import annotations

import subprocess
import sys

from support.wait import eventually
from terminal import Terminal, resized_shell

from portside.engine import ContainerConfig, Engine


def command(portside, *args: str) -> list[str]:
    return [sys.executable, "-m", "portside", "--root", str(portside.root), *args]


def test_run_it_gives_a_terminal_that_follows_its_size_and_ends_with_the_shells_code(portside) -> None:
    argv = command(portside, "run", "--rm", "-it", "--network", "none", "busybox", "sh")
    shown, code = resized_shell(argv, (33, 101), (40, 132), 4)
    assert "/dev/pts/0" in shown and "33 101" in shown and "40 132" in shown
    assert code == 4
    assert portside.leftovers() == []


def test_detach_keys_leave_it_running_and_attach_takes_the_terminal_back(portside) -> None:
    term = Terminal(command(portside, "run", "-it", "--name", "shell", "--network", "none", "busybox", "sh"))
    term.until("# ")
    term.type("echo $((40+2)) $TERM\r")
    term.until("42 xterm")
    term.type("\x10\x11")  # Ctrl-P Ctrl-Q
    assert term.close() == 0
    assert portside.inspect("shell")["State"]["Running"]
    again = Terminal(command(portside, "attach", "shell"))
    again.type("\r")
    again.until("# ")
    again.type("exit 5\r")
    assert again.close() == 5  # attach ends with the container, and with its code
    assert portside.inspect("shell")["State"]["ExitCode"] == 5


def test_stdin_kept_open_takes_input_from_one_attachment_after_another(portside) -> None:
    portside("run", "-d", "-i", "--name", "reader", "--network", "none", "busybox", "sh", "-c",
             'while read line; do echo "got $line"; done; echo "stdin ended"')
    for word in ("first", "second"):
        attached = subprocess.Popen(command(portside, "attach", "reader"), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
        attached.stdin.write(word + "\n")
        attached.stdin.close()  # its input ends; the container's does not (no stdin_once without a foreground run)
        assert attached.stdout.readline() == f"got {word}\n"
        attached.kill()
        attached.wait()
    assert portside.inspect("reader")["State"]["Running"]
    assert portside("logs", "reader").stdout == "got first\ngot second\n"
    portside("rm", "-f", "reader")


def test_stdin_once_ends_the_input_with_the_first_attachments(portside) -> None:
    """What a pod's ``stdinOnce`` asks of the engine: the first attachment's end of input is the container's."""
    engine = Engine(portside.root)
    cid = engine.create(ContainerConfig("busybox", ["sh", "-c", 'cat; echo "stdin ended"'], network="none",
                                        open_stdin=True, stdin_once=True))
    engine.start(cid)
    conn = engine.attach(cid)
    try:
        conn.send_stdin(b"typed\n")
        conn.close_stdin()
        received = b""
        while (message := conn.receive()) is not None:
            received += message[1]
    finally:
        conn.close()
    assert received == b"typed\nstdin ended\n"
    assert engine.wait(cid) == 0
    engine.remove(cid)


def test_attach_refuses_a_container_that_does_not_run_and_a_terminal_needs_one(portside) -> None:
    portside("create", "--name", "idle", "--network", "none", "busybox", "true")
    refused = portside("attach", "idle", check=False)
    assert refused.returncode == 125
    assert "is created: cannot attach to it (it is not running)" in refused.stderr
    bad = portside("attach", "--detach-keys", "ctrl-", "idle", check=False)
    assert "invalid --detach-keys 'ctrl-'" in bad.stderr
    portside("rm", "idle")
    piped = portside("run", "--rm", "-it", "--network", "none", "busybox", "sh", input="ls\n", check=False)
    assert piped.returncode == 125 and "the input device is not a TTY" in piped.stderr
    assert portside("ps", "-aq").stdout == ""  # refused before anything was created


def test_a_terminal_container_in_the_background_logs_its_output_and_takes_input(portside) -> None:
    portside("run", "-d", "-it", "--name", "bg", "--network", "none", "busybox", "sh")
    engine = Engine(portside.root)
    conn = engine.attach("bg")
    try:
        conn.resize(50, 160)
        conn.send_stdin(b"stty size; exit 7\r")
        shown = b""
        while (message := conn.receive()) is not None:
            shown += message[1]
    finally:
        conn.close()
    assert b"50 160" in shown
    assert engine.wait("bg") == 7
    eventually(lambda: "50 160" in portside("logs", "bg").stdout, 5, what="the terminal's output in the log")
    portside("rm", "bg")
