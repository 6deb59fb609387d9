"""Exec through the Docker API: docker-py's exec_create/exec_start/exec_inspect and the docker CLI's exec (piped
stdin, -it under a terminal, -d), exit codes (126 for a command that cannot start, as dockerd's), docker's conflicts,
and instances that go with their container."""

from __future__ import annotations

import json
import os

import pytest
from streamwire import by_stream, frames, request, service_fds, settle_fds
from support.wait import eventually

pytestmark = pytest.mark.integration

INSPECT_KEYS = {"ID", "Running", "ExitCode", "ProcessConfig", "OpenStdin", "OpenStderr", "OpenStdout", "CanRemove",
                "ContainerID", "DetachKeys", "Pid"}


@pytest.fixture(scope="module")
def box(docker_api):
    """A running container to exec in."""
    name = f"ex-{os.urandom(3).hex()}"
    docker_api.ps("run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "600")
    yield name
    docker_api.ps("rm", "-f", name)


def test_exec_create_start_inspect_with_docker_py(docker_api, box) -> None:
    client = docker_api.client()
    cid = docker_api.ps.inspect(box)["Id"]
    exec_id = client.exec_create(box, ["sh", "-c", "echo out; echo err >&2; exit 3"], workdir="/tmp",
                                 environment=["GREETING=hi"])["Id"]
    before = client.exec_inspect(exec_id)
    assert set(before) == INSPECT_KEYS
    assert (before["Running"], before["ExitCode"], before["Pid"], before["ContainerID"]) == (False, None, 0, cid)
    assert before["ProcessConfig"] == {"tty": False, "entrypoint": "sh", "arguments": ["-c", "echo out; echo err >&2;"
                                                                                       " exit 3"],
                                       "privileged": False}
    assert client.exec_start(exec_id, demux=True) == (b"out\n", b"err\n")
    after = client.exec_inspect(exec_id)
    assert (after["Running"], after["ExitCode"]) == (False, 3) and after["Pid"] > 0
    exec_id = client.exec_create(box, ["sh", "-c", "echo $GREETING in $(pwd)"], workdir="/tmp",
                                 environment=["GREETING=hi"], user="nobody")["Id"]
    assert client.exec_start(exec_id) == b"hi in /tmp\n"
    assert client.exec_inspect(exec_id)["ProcessConfig"]["user"] == "nobody"


def test_the_starts_tty_frames_the_stream_and_fields_are_read_in_any_case(docker_api, box) -> None:
    client = docker_api.client()
    exec_id = client.exec_create(box, ["printf", "on a terminal"], tty=True)["Id"]
    _, headers, body = request(docker_api, "POST", f"/v1.47/exec/{exec_id}/start", {"Tty": False}, upgrade=True)
    assert headers["content-type"] == "application/vnd.docker.multiplexed-stream"
    assert frames(body) == [(1, b"on a terminal")]  # dockerd's framing: the start's Tty, not the exec's
    exec_id = client.exec_create(box, ["printf", "raw"], tty=True)["Id"]
    _, headers, body = request(docker_api, "POST", f"/v1.47/exec/{exec_id}/start", {"tty": True}, upgrade=True)
    assert (headers["content-type"], body) == ("application/vnd.docker.raw-stream", b"raw")
    exec_id = request(docker_api, "POST", f"/containers/{box}/exec",
                      {"cmd": ["true"], "detachKeys": "ctrl-x,x", "tty": True})[2]
    assert client.exec_inspect(json.loads(exec_id)["Id"])["DetachKeys"] == "ctrl-x,x"


def test_exec_start_over_the_wire_carries_stdin_and_its_end(docker_api, box) -> None:
    client = docker_api.client()
    exec_id = client.exec_create(box, ["sh", "-c", "cat; echo end >&2"], stdin=True)["Id"]
    status, headers, body = request(docker_api, "POST", f"/v1.41/exec/{exec_id}/start", {"Detach": False},
                                    upgrade=True, send=b"one\ntwo\n", half_close=True)
    assert (status, headers["content-type"]) == (101, "application/vnd.docker.raw-stream")
    assert by_stream(body) == {1: b"one\ntwo\n", 2: b"end\n"}
    assert client.exec_inspect(exec_id)["ExitCode"] == 0
    status, _, body = request(docker_api, "POST", f"/v1.41/exec/{exec_id}/start", {"Detach": False},
                              upgrade=True)
    assert status == 101 and by_stream(body)[1] == f"Error: Exec command {exec_id} has already run\r\n".encode()
    status, _, body = request(docker_api, "POST", f"/exec/{exec_id}/start", {"Detach": True})
    assert status == 409 and b"has already run" in body


def test_docker_exec_exit_codes_and_piped_stdin(docker_api, box) -> None:
    assert docker_api.docker("exec", box, "sh", "-c", "exit 7", check=False).returncode == 7
    missing = docker_api.docker("exec", box, "no-such-command", check=False)
    assert missing.returncode == 126 and "no-such-command" in missing.stderr, missing  # dockerd 20.10's code
    assert docker_api.docker("exec", box, "sh", "-c", "no-such-command", check=False).returncode == 127  # sh's
    not_executable = docker_api.docker("exec", box, "/etc/passwd", check=False)
    assert not_executable.returncode == 126 and "permission denied" in not_executable.stderr, not_executable
    stranger = docker_api.docker("exec", "-u", "no-such-user", box, "true", check=False)
    assert stranger.returncode == 126 and "no-such-user" in stranger.stdout + stranger.stderr, stranger
    piped = docker_api.docker("exec", "-i", box, "sh", "-c", "tr a-z A-Z; echo done", input="quiet\n")
    assert piped.stdout == "QUIET\ndone\n"


def test_docker_exec_it_is_a_shell_on_a_terminal_that_follows_resizes(docker_api, box) -> None:
    from streamwire import resized_shell

    shown, code = resized_shell(["/usr/bin/docker", "-H", docker_api.url, "exec", "-it", box, "sh"], (24, 80),
                                (33, 99), 5)
    assert code == 5 and "\r\n24 80\r\n" in shown and shown.rstrip().endswith("33 99"), shown
    assert "/dev/pts/" in shown


def test_detached_exec_runs_on_and_its_end_is_recorded(docker_api, box) -> None:
    assert docker_api.docker("exec", "-d", box, "sh", "-c", "echo detached > /tmp/d").stdout == ""
    eventually(lambda: docker_api.ps("exec", box, "cat", "/tmp/d", check=False).stdout == "detached\n",
               timeout=20, what="the detached exec's file")
    client = docker_api.client()
    exec_id = client.exec_create(box, ["sh", "-c", "sleep 0.3; exit 9"])["Id"]
    assert client.exec_start(exec_id, detach=True) == ""  # docker-py gives the body as text
    assert client.exec_inspect(exec_id)["Running"] is True
    eventually(lambda: client.exec_inspect(exec_id)["ExitCode"] == 9, timeout=20, what="the exit code")
    assert client.exec_inspect(exec_id)["Running"] is False
    on_terminal = client.exec_create(box, ["sh", "-c", "tty > /tmp/tty"], tty=True)["Id"]
    client.exec_start(on_terminal, detach=True)
    eventually(lambda: client.exec_inspect(on_terminal)["ExitCode"] == 0, timeout=20, what="the tty exec's end")
    assert docker_api.ps("exec", box, "cat", "/tmp/tty").stdout.startswith("/dev/pts/")
    missing = client.exec_create(box, ["no-such-command"])["Id"]
    status, _, body = request(docker_api, "POST", f"/exec/{missing}/start", {"Detach": True})
    assert status == 500 and b"no-such-command" in body
    assert client.exec_inspect(missing)["ExitCode"] == 126


def test_the_portside_cli_shares_the_detached_exec(docker_api, box) -> None:
    assert docker_api.ps("exec", "-d", box, "sh", "-c", "sleep 0.2; tty > /tmp/cli || true").stdout == ""
    assert docker_api.ps("exec", "-d", "-t", box, "sh", "-c", "tty > /tmp/cli-t").returncode == 0
    missing = docker_api.ps("exec", "-d", box, "no-such-command", check=False)
    assert missing.returncode == 127 and "no-such-command" in missing.stderr
    def written() -> bool:
        lines = docker_api.ps("exec", box, "cat", "/tmp/cli", "/tmp/cli-t", check=False).stdout.splitlines()
        return len(lines) == 2 and lines[0] == "not a tty" and lines[1].startswith("/dev/pts/")
    eventually(written, timeout=20, what="both detached commands' files")


def test_exec_errors_are_dockers(docker_api, box) -> None:
    status, _, body = request(docker_api, "POST", f"/containers/{box}/exec", {"AttachStdout": True})
    assert (status, body) == (400, b'{"message": "No exec command specified"}\n')
    status, _, body = request(docker_api, "POST", f"/containers/{box}/exec", {"Cmd": ["true"], "Tty": "yes"})
    assert status == 400 and b"Tty" in body
    status, _, body = request(docker_api, "POST", f"/containers/{box}/exec", {"Cmd": [1]})
    assert status == 400 and b"Cmd" in body
    status, _, body = request(docker_api, "POST", f"/containers/{box}/exec", {"Cmd": ["id"], "Privileged": True})
    assert status == 400 and b"Privileged" in body
    status, _, body = request(docker_api, "GET", "/exec/" + "0" * 64 + "/json")
    assert (status, body) == (404, b'{"message": "No such exec instance: ' + b"0" * 64 + b'"}\n')
    assert request(docker_api, "POST", "/exec/nope/resize?h=1&w=1")[0] == 404
    assert request(docker_api, "POST", f"/containers/{box}-none/exec", {"Cmd": ["true"]})[0] == 404


def test_exec_instances_go_with_their_container(docker_api) -> None:
    name = f"ex-gone-{os.urandom(3).hex()}"
    docker_api.ps("run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "600")
    client = docker_api.client()
    try:
        exec_id = client.exec_create(name, ["true"])["Id"]
        docker_api.ps("stop", "-t", "0", name)
        status, _, body = request(docker_api, "POST", f"/exec/{exec_id}/start", {"Detach": True})
        assert status == 409 and b"is not running" in body
        status, _, body = request(docker_api, "POST", f"/containers/{name}/exec", {"Cmd": ["true"]})
        assert status == 409 and b"is not running" in body
    finally:
        docker_api.ps("rm", "-f", name)
    assert request(docker_api, "GET", f"/exec/{exec_id}/json")[0] == 404


def test_exec_sessions_leave_nothing_behind(docker_api, box) -> None:
    baseline = service_fds(docker_api)
    client = docker_api.client()
    for _ in range(3):
        # the pause: runc clears the container terminal's LF to CRLF mapping just after the start, and output
        # written before that is mapped twice (x\r\r\n): a race in runc exec --tty, kubectl exec's too
        exec_id = client.exec_create(box, ["sh", "-c", "sleep 0.1; echo x"], stdin=True, tty=True)["Id"]
        assert client.exec_start(exec_id, tty=True) == b"x\r\n"
    gone = client.exec_create(box, ["sleep", "0.5"], stdin=True)["Id"]
    sock = client.exec_start(gone, socket=True)
    sock.close()  # the client goes; the command runs on to its end, and then nothing of it is left open
    eventually(lambda: client.exec_inspect(gone)["ExitCode"] == 0, timeout=20, what="the abandoned exec's end")
    client.close()  # its pooled keep-alive connections are not the service's to count
    assert settle_fds(docker_api, baseline) <= baseline
    runcs = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p).startswith("runc\0--root\0"
                                                                                      f"{docker_api.ps.root}")]
    assert runcs == []


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return f.read()
    except OSError:
        return ""
