"""config.json generation: docker's defaults, capability arithmetic, limits, users, rlimits."""

import resource
from pathlib import Path

import pytest

from portside.runtime import spec
from portside.runtime.errors import InvalidArgument


def _config(**kw) -> dict:
    return spec.build_config(Path("/r"), spec.Process(["true"]),
                             hostname="h", cgroups_path="/portside/x", **kw)


def _mask(caps: list[str]) -> int:
    return sum(1 << spec.ALL_CAPS.index(c) for c in caps)


def test_default_capabilities_are_dockers_capeff() -> None:
    assert _mask(spec.capabilities(spec.Security())) == 0xa80425fb


@pytest.mark.parametrize("add,drop,expected", [
    ((), ("ALL",), 0),
    (("NET_ADMIN",), ("ALL",), 1 << 12),
    (("cap_sys_admin",), ("CHOWN",), (0xa80425fb | 1 << 21) & ~1),
])
def test_cap_add_and_drop(add, drop, expected) -> None:
    assert _mask(spec.capabilities(spec.Security(cap_add=add, cap_drop=drop))) == expected


def test_unknown_capability_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="unknown capability 'FLY'"):
        spec.capabilities(spec.Security(cap_add=("FLY",)))


def test_masks_namespaces_limits_and_rlimits() -> None:
    cfg = _config(limits=spec.Limits(memory=1 << 25, cpu_quota=50000, pids=20), netns="/run/netns/x")
    linux = cfg["linux"]
    assert "/proc/kcore" in linux["maskedPaths"] and "/proc/sys" in linux["readonlyPaths"]
    assert {"type": "network", "path": "/run/netns/x"} in linux["namespaces"]
    assert linux["resources"]["memory"] == {"limit": 1 << 25}
    assert linux["resources"]["cpu"] == {"quota": 50000, "period": 100000}
    assert linux["resources"]["pids"] == {"limit": 20}
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert all(r["hard"] <= hard for r in cfg["process"]["rlimits"])
    assert not any(n["type"] == "network" for n in _config(netns="host")["linux"]["namespaces"])


def test_privileged_drops_masks_and_seccomp() -> None:
    cfg = _config(security=spec.Security(privileged=True, seccomp={"defaultAction": "SCMP_ACT_ERRNO"}))
    assert "maskedPaths" not in cfg["linux"] and "seccomp" not in cfg["linux"]


def test_users_by_name_and_number(tmp_path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0::/:/bin/sh\napp:x:1000:1001::/:/bin/sh\n")
    (tmp_path / "etc" / "group").write_text("root:x:0:\nstaff:x:50:\n")
    assert spec.resolve_user(tmp_path, "app") == (1000, 1001, ())
    assert spec.resolve_user(tmp_path, "app:staff") == (1000, 50, ())
    assert spec.resolve_user(tmp_path, "4242:7") == (4242, 7, ())
    assert spec.resolve_user(tmp_path, "") == (0, 0, ())
    with pytest.raises(InvalidArgument, match="unable to find user 'ghost'"):
        spec.resolve_user(tmp_path, "ghost")
