"""``require``: a missing prerequisite skips on a laptop and fails under CI."""

import pytest

from support.require import require

ABSENT = "portside-no-such-tool"


def test_present_tools_pass_silently(monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    require("sh")


def test_missing_tool_skips_outside_ci(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"needs {ABSENT}"):
        require(ABSENT)


def test_missing_tool_fails_under_ci(monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=f"CI must provide this: needs {ABSENT}"):
        require("sh", ABSENT)


def test_root_is_the_effective_user(monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(pytest.fail.Exception, match="needs root"):
        require("root")
