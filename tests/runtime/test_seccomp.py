"""The seccomp profiles, enforced by a real runc container (busybox root filesystem, a config built here)."""

from __future__ import annotations

import json
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from portside.runtime.errors import InvalidArgument
from portside.runtime.seccomp import DOCKER_DEFAULT_CAPS, default_profile, load_profile

# The container holds CAP_SYS_ADMIN, so every refusal below is seccomp's, not the capability check's.
HELD_CAPS = sorted(DOCKER_DEFAULT_CAPS | {"CAP_SYS_ADMIN"})


@pytest.fixture(scope="module")
def rootfs(busybox_rootfs_tar: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seccomp-rootfs")
    with tarfile.open(busybox_rootfs_tar) as tar:
        tar.extractall(root, filter="fully_trusted")
    return root


def run_container(rootfs: Path, bundle: Path, seccomp: dict | None, script: str) -> subprocess.CompletedProcess:
    """``sh -c script`` in a fresh runc container with ``seccomp`` as its linux.seccomp; root stays read-only."""
    cid = f"pstsc-{uuid.uuid4().hex[:12]}"
    caps = {kind: HELD_CAPS for kind in ("bounding", "effective", "permitted")}
    config = {
        "ociVersion": "1.0.2", "hostname": "seccomp",
        "process": {"args": ["sh", "-c", script], "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                    "capabilities": caps, "noNewPrivileges": False},
        "root": {"path": str(rootfs), "readonly": True},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                   {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
                   {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
        "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "ipc", "uts", "network")],
                  "cgroupsPath": f"/{cid}", **({"seccomp": seccomp} if seccomp else {})},
    }
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "config.json").write_text(json.dumps(config))
    state = bundle / "runc-state"
    try:
        return subprocess.run(["runc", "--root", str(state), "run", "--bundle", str(bundle), cid],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    finally:
        subprocess.run(["runc", "--root", str(state), "delete", "--force", cid], capture_output=True)


def test_default_profile_blocks_mount_and_unshare_but_runs_ordinary_work(needs_root: None, rootfs: Path,
                                                                         tmp_path: Path) -> None:
    script = ("echo start; grep Seccomp: /proc/self/status; ls / >/dev/null && echo ls-ok; chroot / true && "
              "echo chroot-ok; mount -t tmpfs none /tmp || echo mount-refused; "
              "unshare -n true || echo unshare-refused")
    proc = run_container(rootfs, tmp_path / "b", default_profile(), script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["start", "Seccomp:", "2", "ls-ok", "chroot-ok", "mount-refused",
                                   "unshare-refused"]
    assert "mount: permission denied" in proc.stderr
    assert "Operation not permitted" in proc.stderr


def test_cap_sys_admin_reopens_mount_and_unshare_as_docker_does(needs_root: None, rootfs: Path,
                                                               tmp_path: Path) -> None:
    script = "mount -t tmpfs none /tmp && echo mounted; unshare -n true && echo unshared"
    proc = run_container(rootfs, tmp_path / "b", default_profile(HELD_CAPS), script)
    assert proc.stdout.split() == ["mounted", "unshared"], proc.stderr


def test_a_profile_file_is_enforced(needs_root: None, rootfs: Path, tmp_path: Path) -> None:
    profile = tmp_path / "no-mkdir.json"
    profile.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": []}],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}],
    }))
    proc = run_container(rootfs, tmp_path / "b", load_profile(profile), "mkdir /tmp/x || echo refused")
    assert proc.stdout.split() == ["refused"]
    assert "Permission denied" in proc.stderr  # errnoRet 13 is EACCES: the file's own errno, not EPERM


def test_profile_resolution_follows_capabilities() -> None:
    def allowed(profile: dict) -> set[str]:
        return {n for rule in profile["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("args")
                for n in rule["names"]}

    default, admin, none = default_profile(), default_profile(["SYS_ADMIN"]), default_profile([])
    assert default["defaultAction"] == "SCMP_ACT_ERRNO" and default["defaultErrnoRet"] == 1
    for blocked in ("mount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key", "init_module",
                    "finit_module", "reboot", "kexec_load", "swapon", "pivot_root", "clock_settime", "acct", "bpf",
                    "perf_event_open", "userfaultfd", "clone", "io_uring_setup"):
        assert blocked not in allowed(default), blocked
    assert {"mount", "unshare", "setns", "clone"} <= allowed(admin)
    assert "chroot" in allowed(default) and "chroot" not in allowed(none)
    assert {"read", "execve", "openat", "ptrace"} <= allowed(none)
    clone = [r for r in default["syscalls"] if r["names"] == ["clone"]]
    assert clone == [{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 0x7E020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}]


@pytest.mark.parametrize("content, message", [
    ('{"defaultAction": "SCMP_ACT_ERRNO",', "not valid JSON: Expecting property name enclosed in double quotes: "
                                            "line 1 column 36 (char 35)"),
    ("[]", "expected a JSON object at the top level"),
    ('{"defaultAction": "DENY"}', "defaultAction: 'DENY' is not one of SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, "),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, '
     '{"action": "SCMP_ACT_ALLOW"}]}', 'syscalls[1]: needs "names"'),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", '
     '"args": [{"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]}]}', "syscalls[0].args[0].index: 7 is not an "
                                                                    "argument position 0-5"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", '
     '"args": [{"index": 0, "value": 1, "op": "EQ"}]}]}', "syscalls[0].args[0].op: 'EQ' is not one of"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1}', "defaultErrnoRet: -1 is not a non-negative"),
])
def test_bad_profiles_name_the_file_and_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InvalidArgument) as err:
        load_profile(path)
    assert str(err.value).startswith(f"seccomp profile {path}: {message}")


def test_a_missing_profile_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=f"seccomp profile {tmp_path}/nope.json: cannot read: No such file"):
        load_profile(tmp_path / "nope.json")
