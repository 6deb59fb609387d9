"""One line per layer while a pull or push runs: redrawn in place on a terminal, appended plainly otherwise.

Each layer moves through a small lifecycle (waiting, then transferring, then one of the end states); the
transition table is checked so a bug that, say, reports a layer pushed before it was sent shows up as an error
instead of a misleading line. Byte counts redraw a terminal at most every ``REDRAW_S`` seconds; state changes
always print, so a log file gets one line per layer per state and no byte-count noise.
"""

from __future__ import annotations

import enum
import time
from typing import TextIO


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


def human_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.1f}{unit}" if unit != "B" else f"{n}B"
        n /= 1000
    return f"{n}B"


class Progress:
    def __init__(self, out: TextIO, tty: bool | None = None) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.rows: dict[str, list] = {}  # short id -> [state, done, total, note]
        self._drawn = 0
        self._last = 0.0

    def add(self, digest: str, total: int) -> None:
        self.rows[_short(digest)] = [LayerState.WAITING, 0, total, ""]
        self._emit(_short(digest), force=True)

    def move(self, digest: str, state: LayerState, note: str = "") -> None:
        row = self.rows[_short(digest)]
        if state not in TRANSITIONS[row[0]]:
            raise RuntimeError(f"layer {_short(digest)} is {row[0].value}: cannot become {state.value}")
        row[0], row[3] = state, note
        self._emit(_short(digest), force=True)

    def bytes(self, digest: str, done: int) -> None:
        self.rows[_short(digest)][1] = done
        if self.tty and time.monotonic() - self._last >= REDRAW_S:
            self._redraw()

    def state(self, digest: str) -> LayerState:
        return self.rows[_short(digest)][0]

    def _emit(self, short: str, force: bool) -> None:
        if self.tty:
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
        state, done, total, note = self.rows[short]
        text = f"{short}: {state.value}"
        if state in (LayerState.DOWNLOADING, LayerState.PUSHING) and self.tty:
            text += f"  {human_size(done)}/{human_size(total)}"
        return text + (f" {note}" if note else "")


def _short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]
