"""Progress: one line per layer; redrawn in place on a terminal, appended plainly otherwise; bad moves refused."""

import io

import pytest

from portside.image.registry.progress import LayerState, Progress

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def test_plain_output_has_one_line_per_state_change():
    out = io.StringIO()
    progress = Progress(out, tty=False)
    progress.add(A, 100)
    progress.move(A, LayerState.DOWNLOADING)
    progress.bytes(A, 50)
    progress.move(A, LayerState.DOWNLOADED)
    assert out.getvalue().splitlines() == ["aaaaaaaaaaaa: Waiting", "aaaaaaaaaaaa: Downloading",
                                           "aaaaaaaaaaaa: Pull complete"]


def test_terminal_output_rewrites_the_block_in_place():
    out = io.StringIO()
    progress = Progress(out, tty=True)
    progress.add(A, 2000)
    progress.add(B, 10)
    progress.move(B, LayerState.EXISTS)
    progress.move(A, LayerState.DOWNLOADING)
    last_frame = out.getvalue().rsplit("\x1b[2A", 1)[1]
    assert last_frame == "\x1b[2Kaaaaaaaaaaaa: Downloading  0B/2.0kB\n\x1b[2Kbbbbbbbbbbbb: Already exists\n"


def test_an_impossible_move_is_refused():
    progress = Progress(io.StringIO(), tty=False)
    progress.add(A, 1)
    progress.move(A, LayerState.EXISTS)
    with pytest.raises(RuntimeError, match="Already exists: cannot become Pushed"):
        progress.move(A, LayerState.PUSHED)
    assert progress.state(A) is LayerState.EXISTS
