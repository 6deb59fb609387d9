"""The pure parts of ``cp`` and ``top``: docker's reading of a container path, Go's base names, and the rows of
``ps`` output kept for a container's processes (its threads' rows with them)."""

from __future__ import annotations

import pytest

from portside.engine.files import base_name, container_path
from portside.engine.usage import parse_ps
from portside.runtime.errors import InvalidArgument


@pytest.mark.parametrize(("given", "expected"), [
    ("/etc/passwd", "/etc/passwd"), ("etc/passwd", "/etc/passwd"), ("/etc/", "/etc/"), ("/etc/.", "/etc/."),
    ("/a/../b//c", "/b/c"), ("/", "/"), ("/.", "/"), ("../../x", "/x"),
])
def test_container_paths_are_read_from_the_root_keeping_a_trailing_slash_or_dot(given, expected) -> None:
    assert container_path(given) == expected


def test_an_empty_path_is_refused_naming_it() -> None:
    with pytest.raises(InvalidArgument, match="path cannot be empty"):
        container_path("")


@pytest.mark.parametrize(("path", "base"), [("/etc/passwd", "passwd"), ("/etc/", "etc"), ("/etc/.", "."),
                                             ("/", "/"), ("", ".")])
def test_base_names_are_gos(path, base) -> None:
    assert base_name(path) == base


def test_ps_rows_are_kept_for_the_containers_pids_and_their_threads() -> None:
    output = ("USER  PID  %CPU COMMAND\n"
              "root  10   0.0  sleep 300\n"
              "root  -    0.0  -\n"
              "root  11   0.0  sh -c while true; do :; done\n"
              "root  -    0.0  -\n"
              "root  12   0.0  other\n")
    top = parse_ps(output, {10, 12})
    assert top.titles == ["USER", "PID", "%CPU", "COMMAND"]
    assert top.processes == [["root", "10", "0.0", "sleep 300"], ["root", "-", "0.0", "-"],
                             ["root", "12", "0.0", "other"]]


def test_ps_output_without_a_pid_column_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="Couldn't find PID field in ps output"):
        parse_ps("USER COMMAND\nroot sleep\n", {1})
