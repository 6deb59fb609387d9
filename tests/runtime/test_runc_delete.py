"""A container whose init the monitor has reaped is deleted without running runc again, as completely as
``runc delete`` would; anything less simple is left to ``runc delete --force``. Real runc, through a wrapper that
records each command runc was given."""

import json
import os
import stat
from pathlib import Path

from leftovers import TEST_CGROUP_PARENT

from portside.runtime import monitor, spec
from portside.runtime.runc import Runc


def _recording_runc(bundle: Path) -> tuple[Runc, Path]:
    """runc behind a script that appends each command (the word after runc's global options) to a file."""
    calls = bundle / "calls"
    script = bundle / "runc-recorded"
    script.write_text(f'#!/bin/sh\nfor a in "$@"; do case "$a" in -*|/*|json) ;; *) echo "$a" >> {calls}; '
                      'break;; esac; done\nexec runc "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return Runc(bundle / "state", binary=str(script)), calls


def _cgroup_dirs(cid: str) -> list[Path]:
    return [p for p in Path("/sys/fs/cgroup").glob(f"*/{TEST_CGROUP_PARENT}/{cid}") if p.is_dir()]


def _plan(bundle: Path, runc: Runc, argv: list[str]) -> monitor.Plan:
    cid = f"deltest-{os.urandom(4).hex()}"
    config = spec.build_config(bundle / "rootfs", spec.Process(argv), hostname="d",
                               cgroups_path=f"/{TEST_CGROUP_PARENT}/{cid}")
    (bundle / "config.json").write_text(json.dumps(config))
    return monitor.Plan(cid=cid, bundle=bundle, runc=runc, log_path=bundle / "log",
                        cgroups_path=f"/{TEST_CGROUP_PARENT}/{cid}")


def test_a_reaped_container_goes_without_runc_delete(bundle: Path) -> None:
    runc, calls = _recording_runc(bundle)
    plan = _plan(bundle, runc, ["true"])
    handle = monitor.spawn(plan)
    handle.started()
    assert handle.finished().code == 0
    handle.close()
    assert calls.read_text().split() == ["run"]
    assert runc.state(plan.cid) is None and not (runc.root / plan.cid).exists()
    assert _cgroup_dirs(plan.cid) == []  # every hierarchy runc made one in, the unified and named ones too


def test_a_container_that_still_runs_is_left_to_runc(bundle: Path) -> None:
    runc, _ = _recording_runc(bundle)
    plan = _plan(bundle, runc, ["sleep", "30"])
    with open(os.devnull, "r+b") as null:
        runc.run(plan.cid, bundle, detach=True, stdio=(null.fileno(),) * 3)
    try:
        cgroups = _cgroup_dirs(plan.cid)
        assert cgroups and not runc.delete_reaped(plan.cid)
        assert runc.state(plan.cid)["status"] == "running" and _cgroup_dirs(plan.cid) == cgroups
    finally:
        runc.delete(plan.cid, force=True)
    assert runc.state(plan.cid) is None and _cgroup_dirs(plan.cid) == []
