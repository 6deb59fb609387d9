"""Foreground ``run`` and ``attach``: the container's output on this terminal, this terminal's input in the
container, and signals or keys passed on.

A plain foreground ``run`` (``SignalProxy`` and ``exit_code``): the monitor writes the container's output to this
process's stdout and stderr itself; when this process dies the monitor notices (its status pipe has no reader any
more) and merely stops writing, so killing a foreground ``run`` never kills its container (docker's
detach-by-kill behaves the same).

``run -t`` and ``attach`` (``session``) speak the monitor's attach protocol (``runtime/attach.py``) over one
socket. On a terminal of the container's own, this one is put in raw mode, so that every key (Ctrl-C included)
reaches the container's terminal, which does the line editing and the signals; its size is sent at the start
and on every SIGWINCH (which the daemon's client relays, when a daemon serves the command). Docker's detach keys,
Ctrl-P Ctrl-Q, leave the container running. Without a terminal, the signals this process receives are passed to
the container instead (docker's ``--sig-proxy``).
"""

from __future__ import annotations

import os
import select
import signal
import sys

from portside.runtime.attach import DEFAULT_DETACH_KEYS, parse_keys, split_detach

__all__ = ["DETACH_KEYS", "DETACHED", "ENDED", "SignalProxy", "check_terminal", "exit_code", "parse_keys", "session"]

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
DETACH_KEYS = DEFAULT_DETACH_KEYS
ENDED, DETACHED = "ended", "detached"


def exit_code(handle) -> int:
    info = handle.finished()
    handle.close()
    if info is None:
        sys.stderr.write("portside: the container's monitor exited without reporting the exit code\n")
        return 125
    return info.code


class SignalProxy:
    """docker's --sig-proxy for a plain foreground ``run``: what this process receives, the container receives.
    Installed before the container starts, since its output (a ``ready`` line, say) may reach whoever signals us
    before we learn it started; a signal that comes before then is delivered once it runs."""

    def __init__(self, engine, cid: str) -> None:
        self.engine, self.cid = engine, cid
        self.pending: list[int] | None = []
        for sig in FORWARDED:
            signal.signal(sig, self._received)

    def started(self) -> None:
        pending, self.pending = self.pending or [], None
        for signum in pending:
            self._forward(signum)

    def _received(self, signum: int, _frame) -> None:
        if self.pending is not None:
            self.pending.append(signum)
        else:
            self._forward(signum)

    def _forward(self, signum: int) -> None:
        try:
            self.engine.signal(self.cid, signal.Signals(signum).name)
        except Exception:
            pass  # already gone: its exit is on the way


def session(engine, cid: str, conn, stdin: bool, tty: bool, detach_keys: bytes = DETACH_KEYS) -> str:
    """Relay between this command's stdio and the attachment ``conn`` until the container ends (ENDED) or the
    user types ``detach_keys`` on a terminal (DETACHED)."""
    raw = tty and stdin and os.isatty(0)
    if tty:
        _send_size(conn)
        previous_winch = signal.signal(signal.SIGWINCH, lambda *_: _send_size(conn))
    if not raw:  # in raw mode Ctrl-C is a key for the container's terminal, not a signal here
        _forward_signals(engine, cid)
    saved = _raw_mode(0) if raw else None
    try:
        return _relay(conn, stdin, detach_keys if raw else b"")
    finally:
        if saved is not None:
            import termios

            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        if tty:
            signal.signal(signal.SIGWINCH, previous_winch)


def _relay(conn, stdin: bool, detach_keys: bytes) -> str:
    from portside.runtime.attach import STDOUT

    watched = [conn.fileno()] + ([0] if stdin else [])
    held = b""  # the start of the detach keys, until the next key says whether they complete
    while True:
        for fd in select.select(watched, [], [])[0]:
            if fd == conn.fileno():
                message = conn.receive()
                if message is None:
                    return ENDED
                _write_all(1 if message[0] == STDOUT else 2, message[1])
                continue
            data = os.read(0, 65536)
            if not data:
                watched.remove(0)
                _quietly(conn.close_stdin)
                continue
            data, held, detached = split_detach(held + data, detach_keys)
            if data:
                _quietly(lambda data=data: conn.send_stdin(data))
            if detached:
                return DETACHED


def check_terminal(tty: bool, stdin: bool) -> None:
    """docker's rule: a terminal's input must come from a terminal (raw keys, not a file or a pipe)."""
    if tty and stdin and not os.isatty(0):
        from portside.runtime.errors import InvalidArgument

        raise InvalidArgument("the input device is not a TTY: leave out -t, or -i, or run it from a terminal")


def _send_size(conn) -> None:
    size = _terminal_size()
    if size is not None:
        _quietly(lambda: conn.resize(*size))


def _terminal_size() -> tuple[int, int] | None:
    """(rows, columns) of the first of stdin, stdout and stderr that is a terminal."""
    for fd in (0, 1, 2):
        try:
            size = os.get_terminal_size(fd)
        except OSError:
            continue
        return size.lines, size.columns
    return None


def _raw_mode(fd: int):
    """The terminal's settings before raw mode was set (to restore them)."""
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    tty.setraw(fd, termios.TCSADRAIN)
    return saved


def _quietly(send) -> None:
    """A write to a monitor that has just closed: the end of the output says so next."""
    try:
        send()
    except OSError:
        pass


def _forward_signals(engine, cid: str) -> None:
    """docker's --sig-proxy: what this process receives, the container receives."""
    def forward(signum: int, _frame) -> None:
        try:
            engine.signal(cid, signal.Signals(signum).name)
        except Exception:
            pass  # already gone: its exit is on the way

    for sig in FORWARDED:
        signal.signal(sig, forward)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BrokenPipeError:
            return
