"""Reading commands against live containers: logs -f, stats, exec -i, inspect --format, ps."""

import json

from support.wait import eventually


def test_logs_follow_ends_when_the_container_does(portside) -> None:
    portside("run", "-d", "--name", "talker", "--network", "none", "busybox", "sh", "-c",
             "for i in 1 2 3; do echo tick $i; sleep 0.3; done; echo err >&2")
    follow = portside("logs", "-f", "talker", timeout=30)
    assert follow.stdout == "tick 1\ntick 2\ntick 3\n" and follow.stderr == "err\n"


def test_stats_no_stream_reads_the_cgroup(portside) -> None:
    portside("run", "-d", "--name", "sleeper", "--network", "none", "--memory", "32m", "busybox", "sleep", "60")
    lines = portside("stats", "--no-stream", "sleeper").stdout.splitlines()
    assert lines[0].split()[:3] == ["CONTAINER", "ID", "NAME"]
    fields = lines[1].split()
    assert fields[1] == "sleeper" and "32MiB" in lines[1] and fields[-1] == "1"


def test_exec_interactive_reads_stdin_and_keeps_the_container_env(portside) -> None:
    portside("run", "-d", "--name", "shell", "--network", "none", "-e", "WHO=world", "busybox", "sleep", "60")
    proc = portside("exec", "-i", "shell", "sh", "-c", 'read line; echo "$line $WHO"', input="hello\n")
    assert proc.stdout == "hello world\n"
    assert portside("exec", "-e", "WHO=you", "-w", "/tmp", "shell", "sh", "-c", "echo $WHO $(pwd)").stdout == \
        "you /tmp\n"


def test_inspect_format_and_ps_listing(portside) -> None:
    portside("create", "--name", "later", "--network", "none", "busybox", "true")
    assert portside("inspect", "-f", "{{.State.Status}} {{.State.Running}} {{.Name}}", "later").stdout == \
        "created false /later\n"
    assert portside("ps").stdout.count("\n") == 1  # header only: created is not running
    rows = [json.loads(line) for line in portside("ps", "-a", "--format", "json").stdout.splitlines()]
    assert [(r["Names"], r["State"], r["Status"]) for r in rows] == [("later", "created", "Created")]
    portside("start", "later")
    portside("wait", "later")
    eventually(lambda: "Exited (0)" in portside("ps", "-a").stdout, 5, what="ps to list it as exited")
