"""Dockerfile reading without building: directives, continuations, line numbers, expansion, .dockerignore."""

from __future__ import annotations

from pathlib import Path

import pytest

from portside.image.build.context import Ignore, pattern_regex
from portside.image.build.dockerfile import Instruction, parse
from portside.image.build.expand import pairs, word, words


def test_escape_directive_continuations_and_line_numbers() -> None:
    text = ("# escape=`\n# another comment\nFROM busybox\n\nRUN echo one `\n    # inside\n\n    two\n"
            "copy --chown=1:2 a `\n  b /dst/\nCMD [\"x\", \"y\"]\n")
    instructions, escape = parse(text)
    assert escape == "`"
    assert [(i.cmd, i.line) for i in instructions] == [("FROM", 3), ("RUN", 5), ("COPY", 9), ("CMD", 11)]
    assert instructions[1].args == "echo one     two"
    assert instructions[2].flags == {"chown": "1:2"} and instructions[2].args == "a   b /dst/"
    assert instructions[3].form == ["x", "y"]


def test_directive_after_a_comment_is_a_comment() -> None:
    instructions, escape = parse("# hello\n# escape=`\nFROM busybox\nRUN a \\\n b\n")
    assert escape == "\\" and instructions[1].args == "a  b"


def inst(cmd: str = "ENV", args: str = "") -> Instruction:
    return Instruction(cmd, args, 1, "Dockerfile:1", f"{cmd} {args}")


@pytest.mark.parametrize("text, expected", [
    ("$A", "1"), ("${A}x", "1x"), ("${NOPE:-d}", "d"), ("${A:+alt}", "alt"), ("${NOPE:+alt}", ""),
    ("'$A'", "$A"), ('"$A b"', "1 b"), ("\\$A", "$A"), ("${EMPTY:-e}", "e"), ("${EMPTY-e}", ""),
    ("${NOPE:-${A}2}", "12"),
])
def test_expansion(text: str, expected: str) -> None:
    assert word(inst(), text, {"A": "1", "EMPTY": ""}, "\\") == expected


def test_words_and_pairs() -> None:
    assert words(inst(), 'a "b c" d\\ e', {}, "\\") == ["a", "b c", "d e"]
    env_inst = inst("ENV", 'A=1 B="two words" C=$X')
    assert pairs(env_inst, {"X": "x"}, "\\") == [("A", "1"), ("B", "two words"), ("C", "x")]
    assert pairs(inst("ENV", "LEGACY some value"), {}, "\\") == [("LEGACY", "some value")]


def test_dockerignore_rules(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("# comment\n*.log\n**/tmp\nbuild/\n!build/keep.txt\n/secret\n")
    ignore = Ignore.load(tmp_path)
    assert ignore.ignored("a.log") and not ignore.ignored("dir/a.log")
    assert ignore.ignored("x/y/tmp") and ignore.ignored("tmp/file") and ignore.ignored("build/out")
    assert not ignore.ignored("build/keep.txt") and ignore.ignored("secret") and not ignore.ignored("src/app.py")


def test_glob_patterns_stay_within_components() -> None:
    assert pattern_regex("*.py").match("app.py") and not pattern_regex("*.py").match("lib/app.py")
    assert pattern_regex("**/*.py").match("lib/app.py") and pattern_regex("**/*.py").match("app.py")
    assert pattern_regex("file[0-9].txt").match("file3.txt") and pattern_regex("f?.txt").match("fa.txt")


def test_glob_classes_negate_with_a_caret_as_go_does() -> None:
    assert pattern_regex("f[^0-9]").match("fa") and not pattern_regex("f[^0-9]").match("f1")
    assert pattern_regex("f[!a]").match("f!") and pattern_regex("f[!a]").match("fa")
    assert not pattern_regex("f[!a]").match("fb")
