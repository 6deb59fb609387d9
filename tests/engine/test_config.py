"""docker's value syntaxes: what is accepted, and the one-line refusal naming the flag for what is not."""

import pytest

from portside.engine.config import (
    VolumeSpec,
    parse_cpus,
    parse_env,
    parse_env_file,
    parse_memory,
    parse_restart,
    parse_volume,
)
from portside.runtime.errors import InvalidArgument


@pytest.mark.parametrize("text,size", [("128m", 128 << 20), ("1g", 1 << 30), ("512MiB", 512 << 20),
                                       ("1.5g", int(1.5 * (1 << 30))), ("7340032", 7340032), ("64MB", 64 << 20)])
def test_memory_sizes(text: str, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize("text,words", [("12x", "expected a size"), ("", "expected a size"), ("1k", "minimum"),
                                        ("-5m", "expected a size")])
def test_bad_memory(text: str, words: str) -> None:
    with pytest.raises(InvalidArgument, match=words) as err:
        parse_memory(text)
    assert "--memory" in str(err.value)


def test_cpus_range() -> None:
    assert parse_cpus("0.5") == 0.5
    for bad in ("0", "1000", "lots"):
        with pytest.raises(InvalidArgument, match="--cpus"):
            parse_cpus(bad)


def test_restart_policies() -> None:
    assert parse_restart("no") == ("no", 0)
    assert parse_restart("on-failure:3") == ("on-failure", 3)
    assert parse_restart("always") == ("always", 0)
    for bad in ("sometimes", "always:3", "on-failure:x", "on-failure:-1"):
        with pytest.raises(InvalidArgument, match="--restart"):
            parse_restart(bad)


def test_volumes() -> None:
    assert parse_volume("/srv/data:/data") == VolumeSpec("/srv/data", "/data")
    assert parse_volume("/srv/data/:/data:ro") == VolumeSpec("/srv/data", "/data", read_only=True)
    assert parse_volume("cache:/var/cache") == VolumeSpec("", "/var/cache", name="cache")
    for bad, words in (("/only", "expected HOSTPATH"), ("/a:rel", "not absolute"), ("/a:/b:rx", "mode 'rx'"),
                       ("bad name!:/x", "invalid volume name"), (":/x", "expected HOSTPATH")):
        with pytest.raises(InvalidArgument, match=words):
            parse_volume(bad)


def test_env_and_env_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FROM_HOST", "h")
    assert parse_env("A=1") == "A=1"
    assert parse_env("FROM_HOST") == "FROM_HOST=h"
    assert parse_env("UNSET_ANYWHERE_XYZ") == ""
    env = tmp_path / "env"
    env.write_text("# comment\n\nA=1\nB = 2\n")
    with pytest.raises(InvalidArgument, match=r"line 4: invalid variable 'B = 2'"):
        parse_env_file(str(env))
    env.write_text("A=1\n  \nC=x=y\n")
    assert parse_env_file(str(env)) == ["A=1", "C=x=y"]
    with pytest.raises(InvalidArgument, match="--env-file .*No such file"):
        parse_env_file(str(tmp_path / "missing"))
