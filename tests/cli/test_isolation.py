"""Docker's isolation defaults: capabilities, seccomp, masked /proc, a private pid namespace."""

import json

import pytest

CHECKS = {
    "mount": "mount -t tmpfs none /tmp",
    "write /proc/sys": "echo 1 > /proc/sys/kernel/panic",
    "load a module": "head -c 64 /dev/zero > /tmp/m.ko && insmod /tmp/m.ko",
    "reboot": "reboot -f",
}


@pytest.mark.parametrize("what", sorted(CHECKS))
def test_a_default_container_cannot(portside, what: str) -> None:
    proc = portside("run", "--rm", "--network", "none", "busybox", "sh", "-c", f"( {CHECKS[what]} ) 2>&1",
                    check=False)
    assert proc.returncode != 0, f"{what} succeeded: {proc.stdout}"
    assert any(word in proc.stdout.lower() for word in ("permitted", "read-only", "denied")), proc.stdout


def test_host_processes_are_invisible(portside) -> None:
    proc = portside("run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /proc | grep '^[0-9]'")
    pids = [int(p) for p in proc.stdout.split()]
    assert 1 in pids and len(pids) <= 3  # sh, ls, grep: nothing of the host's


def _cap_eff(portside, *flags: str) -> str:
    proc = portside("run", "--rm", "--network", "none", *flags, "busybox", "grep", "CapEff", "/proc/self/status")
    return proc.stdout.split()[1]


def test_default_capabilities_are_dockers(portside) -> None:
    assert _cap_eff(portside) == "00000000a80425fb"


def test_cap_drop_all_leaves_none_and_cap_add_adds(portside) -> None:
    assert _cap_eff(portside, "--cap-drop", "ALL") == "0000000000000000"
    assert _cap_eff(portside, "--cap-drop", "ALL", "--cap-add", "NET_ADMIN") == "0000000000001000"


def test_privileged_only_when_asked_may_mount(portside) -> None:
    portside("run", "--rm", "--network", "none", "--privileged", "busybox", "mount", "-t", "tmpfs", "none", "/tmp")


def test_read_only_rootfs_and_no_new_privileges(portside) -> None:
    proc = portside("run", "--rm", "--network", "none", "--read-only", "--security-opt", "no-new-privileges",
                    "busybox", "sh", "-c", "grep NoNewPrivs /proc/self/status; touch /x 2>&1", check=False)
    assert "NoNewPrivs:\t1" in proc.stdout and "Read-only file system" in proc.stdout


def test_seccomp_unconfined_lifts_the_filter(portside) -> None:
    def status(*flags: str) -> str:
        argv = ("run", "--rm", "--network", "none", *flags, "busybox", "grep", "Seccomp:", "/proc/self/status")
        return portside(*argv).stdout.split()[1]
    assert status() == "2"
    assert status("--security-opt", "seccomp=unconfined") == "0"


def test_a_custom_seccomp_profile_file(portside, tmp_path) -> None:
    profile = tmp_path / "no-mkdir.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW",
                                   "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}))
    proc = portside("run", "--rm", "--network", "none", "--security-opt", f"seccomp={profile}", "busybox",
                    "sh", "-c", "mkdir /tmp/x 2>&1; touch /tmp/y && echo touched", check=False)
    assert "Operation not permitted" in proc.stdout and "touched" in proc.stdout
    profile.write_text("{not json")
    bad = portside("run", "--rm", "--network", "none", "--security-opt", f"seccomp={profile}", "busybox", "true",
                   check=False)
    assert bad.returncode == 125 and bad.stderr.count("\n") == 1 and str(profile) in bad.stderr
    assert portside.leftovers() == []
