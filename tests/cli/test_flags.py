"""The docker-style flag parser: bundles, inline values, options ending at the image, one-line errors."""

import pytest

from portside.cli.containers import RUN_FLAGS
from portside.cli.flags import HelpRequested, Parser, flag
from portside.runtime.errors import InvalidArgument


def _run(*argv: str):
    return Parser("run", "[OPTIONS] IMAGE", RUN_FLAGS).parse(list(argv))


def test_bundles_inline_values_and_repeats() -> None:
    opts, args = _run("-d", "--rm", "-eA=1", "-e", "B=2", "--name=web", "-p8080:80", "-m", "64m", "img", "x")
    assert opts["detach"] and opts["rm"]
    assert opts["env"] == ["A=1", "B=2"] and opts["name"] == "web" and opts["publish"] == ["8080:80"]
    assert (opts["memory"], args) == ("64m", ["img", "x"])


def test_options_end_at_the_image() -> None:
    opts, args = _run("busybox", "sh", "-c", "echo -d --rm")
    assert not opts["detach"] and args == ["busybox", "sh", "-c", "echo -d --rm"]


def test_short_h_is_the_hostname_for_run() -> None:
    opts, _ = _run("-h", "box", "img")
    assert opts["hostname"] == "box"


def test_errors_name_the_command_and_flag() -> None:
    with pytest.raises(InvalidArgument, match="run: unknown flag: --nope"):
        _run("--nope", "img")
    with pytest.raises(InvalidArgument, match="run: flag needs an argument: --name"):
        _run("--name")
    with pytest.raises(InvalidArgument, match="run: flag --rm takes no value"):
        _run("--rm=yes", "img")


def test_interspersed_and_help(capsys) -> None:
    parser = Parser("stop", "CONTAINER...", [flag("-t --time", "time", "value")], interspersed=True)
    assert parser.parse(["a", "-t", "3", "b"]) == ({"time": "3"}, ["a", "b"])
    with pytest.raises(HelpRequested):
        parser.parse(["-h"])
    assert capsys.readouterr().out.startswith("usage: portside stop")
