"""The monitor on its own (no engine): it starts a real runc container, logs, relays, reaps and cleans up."""

import json
import os
from pathlib import Path

import pytest

from portside.runtime import logfile, monitor, spec
from portside.runtime.cgroups import Cgroup
from portside.runtime.errors import CommandNotFound
from portside.runtime.rootfs import mount_overlay, unmount
from portside.runtime.runc import Runc


@pytest.fixture
def bundle(needs_root: None, busybox_layer: Path, tmp_path: Path):
    rootfs = tmp_path / "rootfs"
    mount_overlay([busybox_layer], tmp_path / "upper", tmp_path / "work", rootfs)
    try:
        yield tmp_path
    finally:
        unmount(rootfs)


def _plan(bundle: Path, argv: list[str], **kw) -> monitor.Plan:
    cid = f"montest-{os.urandom(4).hex()}"
    config = spec.build_config(bundle / "rootfs", spec.Process(argv), hostname="m",
                               cgroups_path=f"/portside/{cid}")
    (bundle / "config.json").write_text(json.dumps(config))
    return monitor.Plan(cid=cid, bundle=bundle, runc=Runc(bundle / "state"), log_path=bundle / "log",
                        cgroups_path=f"/portside/{cid}", **kw)


def test_exit_code_log_attach_and_cleanup(bundle: Path) -> None:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    plan = _plan(bundle, ["sh", "-c", "echo out; echo err >&2; exit 4"], attach=(out_w, err_w))
    handle = monitor.spawn(plan)
    os.close(out_w)
    os.close(err_w)
    assert handle.started() > 0
    info = handle.finished()
    handle.close()
    assert (info.code, info.oom_killed) == (4, False)
    assert os.read(out_r, 100) == b"out\n" and os.read(err_r, 100) == b"err\n"
    entries, _ = logfile.read(plan.log_path)
    assert sorted((e.stream, e.text) for e in entries) == [("stderr", "err\n"), ("stdout", "out\n")]
    assert plan.runc.state(plan.cid) is None and not Cgroup(plan.cgroups_path).exists()


def test_restart_policy_and_start_failure(bundle: Path) -> None:
    plan = _plan(bundle, ["sh", "-c", "echo run; exit 1"], restart=monitor.RestartPolicy("on-failure", 2))
    handle = monitor.spawn(plan)
    handle.started()
    assert handle.finished().code == 1
    handle.close()
    assert [e.text for e in logfile.read(plan.log_path)[0]] == ["run\n"] * 3

    handle = monitor.spawn(_plan(bundle, ["no-such-binary"]))
    with pytest.raises(CommandNotFound, match="no-such-binary"):
        handle.started()
    handle.close()
