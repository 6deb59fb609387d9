"""Docker's commands over several names, for volumes and networks alike: every name is tried, each failure is one
line, the exit code is 1 if any failed, and ``rm -f`` makes a missing name no failure at all."""

import json

import pytest


@pytest.mark.parametrize(("kind", "missing"), [("volume", "portside: no such volume: sev-none\n"),
                                               ("network", "portside: network sev-none not found\n")])
def test_rm_goes_on_past_a_missing_name_and_force_forgives_it(portside, kind: str, missing: str) -> None:
    portside(kind, "create", "sev-a")
    portside(kind, "create", "sev-b")
    proc = portside(kind, "rm", "sev-a", "sev-none", "sev-b", check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "sev-a\nsev-b\n", missing)
    assert portside(kind, "inspect", "sev-a", check=False).returncode != 0  # removed
    forced = portside(kind, "rm", "-f", "sev-none", check=False)
    assert (forced.returncode, forced.stdout, forced.stderr) == (0, "", "")
    for command in ("rm", "inspect"):
        empty = portside(kind, command, check=False)
        assert empty.returncode != 0
        assert empty.stderr == f"portside: {kind} {command}: requires at least one {kind.upper()} argument\n"


def test_inspect_shows_every_name_given_as_json_or_one_line_each(portside) -> None:
    portside("volume", "create", "sev-x")
    portside("volume", "create", "sev-y")
    assert portside("volume", "inspect", "--format", "{{.Name}}", "sev-x", "sev-y").stdout == "sev-x\nsev-y\n"
    assert [v["Name"] for v in json.loads(portside("volume", "inspect", "sev-y", "sev-x").stdout)] == ["sev-y", "sev-x"]
    assert portside("network", "inspect", "-f", "{{.Name}}", "none", "bridge").stdout == "none\nbridge\n"
    missing = portside("volume", "inspect", "sev-x", "sev-none", check=False)
    assert missing.returncode != 0 and missing.stderr == "portside: no such volume: sev-none\n"
