"""Bad input: one clear error line naming the problem, a non-zero exit, and nothing left behind."""

import socket

import pytest

CASES = {
    "unknown image": (["nosuchimage:1.0", "true"], 125, "no such image: nosuchimage:1.0"),
    "malformed -p": (["-p", "80:99999", "busybox", "true"], 125, "-p"),
    "malformed --memory": (["--memory", "12parsecs", "busybox", "true"], 125, "--memory"),
    "tiny --memory": (["--memory", "1k", "busybox", "true"], 125, "minimum memory"),
    "malformed -v": (["-v", "/only-one-part", "busybox", "true"], 125, "-v"),
    "relative -v target": (["-v", "/tmp:relative", "busybox", "true"], 125, "not absolute"),
    "bad --cpus": (["--cpus", "many", "busybox", "true"], 125, "--cpus"),
    "bad --restart": (["--restart", "sometimes", "busybox", "true"], 125, "--restart"),
    "--restart with --rm": (["--rm", "--restart", "always", "busybox", "true"], 125, "--restart and --rm"),
    "bad --network": (["--network", "me/sh", "busybox", "true"], 125, "--network"),
    "unknown --network": (["--network", "mesh", "busybox", "true"], 125, "network mesh not found"),
    "bad capability": (["--cap-add", "FLY", "busybox", "true"], 125, "capability"),
    "bad --security-opt": (["--security-opt", "apparmor=x", "busybox", "true"], 125, "--security-opt"),
    "unknown flag": (["--frobnicate", "busybox", "true"], 125, "unknown flag: --frobnicate"),
    "missing image": ([], 125, "requires an IMAGE"),
    "missing command": (["busybox", "no-such-command"], 127, "no-such-command"),
    "command not executable": (["busybox", "/etc/passwd"], 126, "permission denied"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_run_input(portside, case: str) -> None:
    args, code, words = CASES[case]
    # parsing is shared by both modes; starting differs, so the start failures run both ways
    modes = ([], ["-d"]) if code != 125 else (["-d"],)
    for detach in modes:
        proc = portside("run", *detach, *args, check=False)
        assert proc.returncode == code, proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("portside: "), proc.stderr
        assert words in proc.stderr
        assert proc.stdout == ""
        assert portside.leftovers() == []


def test_host_port_in_use(portside) -> None:
    port = portside.free_port()
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", port))
        holder.listen()
        proc = portside("run", "-d", "-p", f"{port}:80", "busybox", "sleep", "10", check=False)
    assert proc.returncode == 125
    assert proc.stderr == f"portside: host port 0.0.0.0:{port}/tcp is already in use\n"
    assert portside.leftovers() == []


def test_name_already_taken(portside) -> None:
    first = portside("run", "-d", "--name", "taken", "--network", "none", "busybox", "sleep", "30").stdout.strip()
    proc = portside("run", "-d", "--name", "taken", "--network", "none", "busybox", "true", check=False)
    assert proc.returncode == 125
    assert proc.stderr == f"portside: the container name 'taken' is already in use by container {first[:12]}\n"
    assert portside("ps", "-aq", "--no-trunc").stdout.split() == [first]
    portside("rm", "-f", "taken")
    assert portside.leftovers() == []


def test_unknown_container_and_bad_transitions(portside) -> None:
    for args in (["stop", "ghost"], ["logs", "ghost"], ["inspect", "ghost"], ["exec", "ghost", "true"]):
        proc = portside(*args, check=False)
        assert proc.returncode != 0 and "no such container: ghost" in proc.stderr, args
    portside("create", "--name", "idle", "--network", "none", "busybox", "true")
    proc = portside("exec", "idle", "true", check=False)
    assert proc.returncode == 125 and "is created: cannot exec in it" in proc.stderr
