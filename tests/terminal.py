"""A program on a pseudo-terminal of the test's own, as a user's shell would run it: type into it, read what it
shows, resize it (``portside exec -t``, ``kubectl exec -it``)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time


class Terminal:
    def __init__(self, argv: list[str], env: dict | None = None, rows: int = 24, cols: int = 80) -> None:
        self.leader, follower = pty.openpty()
        self.resize(rows, cols, follower)
        self.proc = subprocess.Popen(argv, stdin=follower, stdout=follower,
                                     stderr=follower, env=env, start_new_session=True)
        os.close(follower)
        self.shown = b""

    def resize(self, rows: int, cols: int, fd: int | None = None) -> None:
        fcntl.ioctl(self.leader if fd is None else fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        if fd is None:
            self.proc.send_signal(signal.SIGWINCH)  # what the terminal does for its foreground process

    def type(self, text: str) -> None:
        os.write(self.leader, text.encode())

    def until(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.shown:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} on the terminal after {timeout} s: {self.shown!r}")
            if select.select([self.leader], [], [], 0.2)[0]:
                try:
                    chunk = os.read(self.leader, 4096)
                except OSError:  # EIO: the command's side has closed
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the terminal closed before {text!r} showed: {self.shown!r}")
                self.shown += chunk
        return self.shown.decode(errors="replace")

    def close(self) -> int:
        try:
            return self.proc.wait(20)
        finally:
            self.proc.kill()
            self.proc.wait()
            os.close(self.leader)


def resized_shell(argv: list[str], size: tuple[int, int], new_size: tuple[int, int], exit_code: int
                  ) -> tuple[str, int]:
    """A shell started by ``argv`` on a terminal of ``size`` (rows, columns): it is asked its terminal and size,
    resized to ``new_size`` and asked again, then exits with ``exit_code``. What it showed, and the code the
    command ended with."""
    term = Terminal(argv, rows=size[0], cols=size[1])
    try:
        term.until("# ")
        term.type("tty; stty size; echo $((6*7))\r")
        term.until("42")
        term.resize(*new_size)
        # The resize travels (client, daemon or kubectl, runc) while the shell is already reading: ask again until
        # the new size shows, for up to 10 s. The size is typed as arithmetic, so that the echo of this line
        # cannot pass for the answer.
        rows, cols = new_size
        term.type(f"r=$(({rows}-1+1)); c=$(({cols}-1+1)); i=0; "
                  f'while [ "$(stty size)" != "$r $c" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; '
                  f"stty size; exit {exit_code}\r")
        shown = term.until(f"{new_size[0]} {new_size[1]}")
    finally:
        code = term.close()
    return shown, code
