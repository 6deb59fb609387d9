"""One line per layer while a pull or push runs: redrawn in place on a terminal, appended plainly otherwise.

Each layer moves through a small lifecycle (waiting, then transferring, then one of the end states); the
transition table is checked so a bug that, say, reports a layer pushed before it was sent shows up as an error
instead of a misleading line. Byte counts redraw a terminal at most every ``REDRAW_S`` seconds; state changes
always print, so a log file gets one line per layer per state and no byte-count noise.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from typing import Protocol, TextIO


class LayerState(enum.Enum):
    WAITING = "Waiting"
    EXISTS = "Already exists"
    DOWNLOADING = "Downloading"
    DOWNLOADED = "Pull complete"
    PUSHING = "Pushing"
    PUSHED = "Pushed"
    MOUNTED = "Mounted"
    FAILED = "Failed"


_S = LayerState
TRANSITIONS: dict[LayerState, frozenset[LayerState]] = {
    _S.WAITING: frozenset({_S.EXISTS, _S.DOWNLOADING, _S.PUSHING, _S.MOUNTED, _S.FAILED}),
    _S.DOWNLOADING: frozenset({_S.DOWNLOADED, _S.FAILED}),
    _S.PUSHING: frozenset({_S.PUSHED, _S.FAILED}),
    _S.EXISTS: frozenset(), _S.DOWNLOADED: frozenset(), _S.PUSHED: frozenset(), _S.MOUNTED: frozenset(),
    _S.FAILED: frozenset(),
}
REDRAW_S = 0.1


def human_size(n: float) -> str:
    """Sizes as docker prints them: decimal units, one decimal place."""
    if n < 1000:
        return f"{int(n)}B"
    for unit in ("kB", "MB", "GB"):
        n /= 1000
        if n < 1000 or unit == "GB":
            break
    return f"{n:.1f}{unit}"


@dataclasses.dataclass
class _Row:
    total: int
    state: LayerState = LayerState.WAITING
    done: int = 0
    note: str = ""


class Listener(Protocol):
    """Who gets the layers' events as data instead of text lines (the Docker API's JSON progress stream)."""

    def moved(self, short: str, state: LayerState, note: str, total: int) -> None: ...

    def transferred(self, short: str, done: int, total: int) -> None: ...


class Progress:
    def __init__(self, out: TextIO, tty: bool | None = None, listener: Listener | None = None) -> None:
        self.out = out
        self.listener = listener
        self.tty = False if listener is not None else out.isatty() if tty is None else tty
        self.rows: dict[str, _Row] = {}  # by short id, in the manifest's order
        self._drawn = 0
        self._last = 0.0

    def add(self, digest: str, total: int) -> None:
        self.rows[_short(digest)] = _Row(total)
        self._emit(_short(digest))

    def move(self, digest: str, state: LayerState, note: str = "") -> None:
        row = self.rows[_short(digest)]
        if state not in TRANSITIONS[row.state]:
            raise RuntimeError(f"layer {_short(digest)} is {row.state.value}: cannot become {state.value}")
        row.state, row.note = state, note
        self._emit(_short(digest))

    def bytes(self, digest: str, done: int) -> None:
        row = self.rows[_short(digest)]
        row.done = done
        if self.listener is not None:
            self.listener.transferred(_short(digest), done, row.total)
        elif self.tty and time.monotonic() - self._last >= REDRAW_S:
            self._redraw()

    def state(self, digest: str) -> LayerState:
        return self.rows[_short(digest)].state

    def _emit(self, short: str) -> None:
        if self.listener is not None:
            row = self.rows[short]
            self.listener.moved(short, row.state, row.note, row.total)
        elif self.tty:
            self._redraw()
        else:
            self.out.write(self._line(short) + "\n")
            self.out.flush()

    def _redraw(self) -> None:
        up = f"\x1b[{self._drawn}A" if self._drawn else ""
        lines = "".join(f"\x1b[2K{self._line(s)}\n" for s in self.rows)
        self.out.write(up + lines)
        self.out.flush()
        self._drawn, self._last = len(self.rows), time.monotonic()

    def _line(self, short: str) -> str:
        row = self.rows[short]
        text = f"{short}: {row.state.value}"
        if row.state in (LayerState.DOWNLOADING, LayerState.PUSHING) and self.tty:
            text += f"  {human_size(row.done)}/{human_size(row.total)}"
        return text + (f" {row.note}" if row.note else "")


def _short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]
