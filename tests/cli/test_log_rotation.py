"""json-file log rotation through the CLI, on real containers: ``--log-opt max-size/max-file`` and the engine's
default (``log_opts`` in engine.json), rotated by the container's monitor, read back in order by ``logs`` and
followed across rotations by ``logs -f``."""

from __future__ import annotations

import json

LINES = 150
WRITER = f'i=0; while [ $i -lt {LINES} ]; do echo "line $i"; i=$((i+1)); usleep 20000; done'
# says "ready", then writes once the test has its follower reading
GATED = f"echo ready; while [ ! -e /tmp/go ]; do usleep 20000; done; {WRITER}"


def log_files(portside, name: str) -> list[str]:
    cid = portside.inspect(name)["Id"]
    return sorted(p.name.removeprefix(cid) for p in (portside.root / "containers" / cid).glob(f"{cid}-json.log*"))


def numbers(text: str) -> list[int]:
    return [int(line.split()[1]) for line in text.splitlines() if line.startswith("line ")]


def test_max_size_and_max_file_keep_at_most_n_files_and_logs_follows_across_rotations(portside) -> None:
    portside("run", "-d", "--name", "chatty", "--log-opt", "max-size=2k", "--log-opt", "max-file=4", "busybox",
             "sh", "-c", GATED)
    follower = portside.popen("logs", "-f", "chatty")
    assert follower.stdout.readline() == "ready\n"
    portside("exec", "chatty", "touch", "/tmp/go")
    out, err = follower.communicate(timeout=60)  # it ends with the container
    assert follower.returncode == 0, err
    assert numbers(out) == list(range(LINES))  # nothing lost or repeated across the rotations

    files = log_files(portside, "chatty")
    assert files == ["-json.log", "-json.log.1", "-json.log.2", "-json.log.3"]  # 150 lines of ~70 bytes: rotated
    kept = numbers(portside("logs", "chatty").stdout)
    assert kept == list(range(kept[0], LINES)) and kept[0] > 0  # the newest, oldest file first, contiguous
    assert numbers(portside("logs", "--tail", "3", "chatty").stdout) == [LINES - 3, LINES - 2, LINES - 1]
    assert portside.inspect("chatty")["HostConfig"]["LogConfig"] == {
        "Type": "json-file", "Config": {"max-size": "2k", "max-file": "4"}}


def test_the_engines_default_and_one_file(portside) -> None:
    settings = json.loads((portside.root / "engine.json").read_text())
    (portside.root / "engine.json").write_text(json.dumps({**settings, "log_opts": {"max-size": "1k",
                                                                                     "max-file": "2"}}))
    portside("run", "--name", "defaulted", "busybox", "sh", "-c", "for i in $(seq 60); do echo line $i; done")
    assert portside.inspect("defaulted")["HostConfig"]["LogConfig"]["Config"] == {"max-size": "1k", "max-file": "2"}
    assert log_files(portside, "defaulted") == ["-json.log", "-json.log.1"]

    portside("run", "--name", "single", "--log-opt", "max-file=1", "--log-opt", "max-size=1k", "busybox", "sh", "-c",
             "for i in $(seq 60); do echo line $i; done")  # its own options over the engine's
    assert log_files(portside, "single") == ["-json.log"]
    kept = numbers(portside("logs", "single").stdout)
    assert kept[-1] == 60 and kept == list(range(kept[0], 61))


def test_bad_log_options_are_refused(portside) -> None:
    def error(*flags: str) -> str:
        proc = portside("run", "--rm", *flags, "busybox", "true", check=False)
        assert proc.returncode == 125, proc
        return proc.stderr

    assert error("--log-opt", "max-size=lots") == \
        "portside: invalid --log-opt max-size value 'lots': expected a size like 128m or 1g\n"
    assert error("--log-opt", "max-size=1m", "--log-opt", "max-file=0") == \
        "portside: invalid --log-opt max-file value '0': must be at least 1\n"
    assert error("--log-opt", "compress=true").startswith("portside: unknown log opt 'compress'")
    assert error("--log-opt", "max-size") == \
        "portside: invalid --log-opt 'max-size': expected KEY=VALUE, e.g. max-size=10m\n"
    assert error("--log-driver", "syslog") == "portside: invalid --log-driver 'syslog': only json-file is supported\n"
    assert error("--log-driver", "asdf") == "portside: logger: no log driver named 'asdf' is registered\n"


def test_max_file_without_max_size_is_kept(portside) -> None:
    """As dockerd: accepted and shown by inspect; with no size the log is never rotated, so it stays one file."""
    portside("run", "--name", "onefile", "--log-opt", "max-file=3", "busybox", "echo", "hi")
    try:
        assert portside.inspect("onefile")["HostConfig"]["LogConfig"] == {"Type": "json-file",
                                                                          "Config": {"max-file": "3"}}
        assert portside("logs", "onefile").stdout == "hi\n"
    finally:
        portside("rm", "-f", "onefile")
