"""logs, attach and resize through the Docker API: docker's bytes exactly (multiplexed frames without a terminal,
raw with one), hijacked connections that carry stdin with its end, and nothing left open when a stream ends."""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest
from streamwire import by_stream, frame, frames, request, service_fds, settle_fds, start_service
from support.wait import eventually

pytestmark = pytest.mark.integration


def _name(tag: str) -> str:
    return f"st-{tag}-{os.urandom(3).hex()}"


def _exited(api, name: str) -> None:
    eventually(lambda: api.ps.inspect(name)["State"]["Status"] == "exited", timeout=30, what=f"{name} exited")


def _gate(name: str) -> str:
    """A shell line that waits for /tmp/go, so that a test attaches before the output it checks."""
    return f"while [ ! -f /tmp/go ]; do sleep 0.05; done; {name}"


def _create_engine(api, name: str, argv: list[str], **kw) -> str:
    """A container made through the engine itself (what the Docker API's create makes): with StdinOnce, which
    ``docker run -i`` sets and neither docker-py's create nor a detached portside command can."""
    from portside.engine import ContainerConfig, Engine

    return Engine(api.ps.root).create(ContainerConfig(image="busybox", cmd=argv, name=name, network="none", **kw))


@pytest.fixture
def finished(docker_api):
    """A stopped container that wrote to stdout and stderr in turn."""
    name = _name("logs")
    docker_api.ps("run", "-d", "--network", "none", "--name", name, "busybox", "sh", "-c",
                  "echo out1; sleep 0.05; echo err1 >&2; sleep 0.05; echo out2")
    _exited(docker_api, name)
    yield name
    docker_api.ps("rm", "-f", name)


def test_logs_are_dockers_frames_per_line_and_streams_can_be_picked(docker_api, finished) -> None:
    status, headers, body = request(docker_api, "GET", f"/v1.41/containers/{finished}/logs?stdout=1&stderr=1")
    assert status == 200 and headers["content-type"] == "application/vnd.docker.raw-stream"
    assert body == frame(1, b"out1\n") + frame(2, b"err1\n") + frame(1, b"out2\n")
    _, headers, body = request(docker_api, "GET", f"/v1.47/containers/{finished}/logs?stderr=true")
    assert headers["content-type"] == "application/vnd.docker.multiplexed-stream" and body == frame(2, b"err1\n")
    client = docker_api.client()
    assert client.logs(finished) == b"out1\nerr1\nout2\n"
    assert client.logs(finished, stderr=False, tail=1) == b"out2\n"
    out = docker_api.docker("logs", "--tail", "2", "--timestamps", finished)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out2\n", out.stdout), out
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z err1\n", out.stderr), out


def test_logs_since_and_until_take_unix_seconds_with_fractions(docker_api, finished) -> None:
    stamps = [line.split()[0] for line in docker_api.client().logs(finished, timestamps=True).decode().splitlines()]
    from portside.runtime.logfile import time_ns

    second = time_ns(stamps[1])
    since = f"{second // 10**9}.{second % 10**9:09d}"
    _, _, body = request(docker_api, "GET", f"/containers/{finished}/logs?stdout=1&stderr=1&since={since}")
    assert body == frame(2, b"err1\n") + frame(1, b"out2\n")
    _, _, body = request(docker_api, "GET", f"/containers/{finished}/logs?stdout=1&stderr=1&until={since}")
    assert body == frame(1, b"out1\n") + frame(2, b"err1\n")
    out = docker_api.docker("logs", "--since", since, finished)
    assert (out.stdout, out.stderr) == ("out2\n", "err1\n")


def test_logs_refuse_bad_parameters_naming_them(docker_api, finished) -> None:
    status, headers, body = request(docker_api, "GET", f"/containers/{finished}/logs")
    assert (status, headers["content-type"]) == (400, "application/json")
    assert body == b'{"message": "Bad parameters: you must choose at least one stream"}\n'
    status, _, body = request(docker_api, "GET", f"/containers/{finished}/logs?stdout=1&since=yesterday")
    assert status == 400 and b"since" in body and b"yesterday" in body
    status, _, body = request(docker_api, "GET", f"/containers/{finished}/logs?stdout=1&tail=some")
    assert status == 400 and b"tail" in body
    status, _, body = request(docker_api, "GET", "/containers/no-such-one/logs?stdout=1")
    assert status == 404 and b"no-such-one" in body


def test_a_terminals_log_is_raw(docker_api) -> None:
    name = _name("tty")
    docker_api.ps("run", "-d", "-t", "--network", "none", "--name", name, "busybox", "sh", "-c", "echo hi")
    try:
        _exited(docker_api, name)
        _, _, body = request(docker_api, "GET", f"/containers/{name}/logs?stdout=1&stderr=1")
        assert body == b"hi\r\n"
        assert docker_api.client().logs(name) == b"hi\r\n"
    finally:
        docker_api.ps("rm", "-f", name)


def test_logs_follow_ends_when_the_container_stops(docker_api) -> None:
    name = _name("follow")
    docker_api.ps("run", "-d", "--network", "none", "--name", name, "busybox", "sh", "-c",
                  "echo zero; echo first; " + _gate("for i in 1 2 3; do echo line$i; sleep 0.2; done"))
    try:
        eventually(lambda: docker_api.client().logs(name) == b"zero\nfirst\n", timeout=20, what="the first lines")
        follower = subprocess.Popen(["/usr/bin/docker", "logs", "-f", "--timestamps", "--tail", "1", name],
                                    env=docker_api.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = follower.stdout.readline()  # it follows from here on
        stream = docker_api.client().logs(name, stream=True, follow=True)
        docker_api.ps("exec", name, "touch", "/tmp/go")
        assert b"".join(stream) == b"zero\nfirst\nline1\nline2\nline3\n"  # it ends: the container stopped
        out, err = follower.communicate(timeout=30)
        stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z "
        assert follower.returncode == 0, err
        assert re.fullmatch(f"{stamp}first\n{stamp}line1\n{stamp}line2\n{stamp}line3\n", (first + out).decode())
    finally:
        docker_api.ps("rm", "-f", name)


def test_a_followed_log_ends_with_its_containers_removal(docker_api) -> None:
    name = _name("removed-log")
    docker_api.ps("run", "-d", "--network", "none", "--name", name, "busybox", "sh", "-c", "echo up; sleep 600")
    eventually(lambda: docker_api.client().logs(name) == b"up\n", timeout=20, what="the first line")
    stream = docker_api.client().logs(name, stream=True, follow=True)
    assert next(stream) == b"up\n"
    docker_api.ps("rm", "-f", name)
    assert list(stream) == []


def test_a_follower_that_goes_away_leaves_nothing_open(docker_api) -> None:
    name = _name("quiet")
    docker_api.ps("run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "600")
    try:
        before = service_fds(docker_api)
        followers = [subprocess.Popen(["/usr/bin/docker", "logs", "-f", name], env=docker_api.env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(3)]
        eventually(lambda: service_fds(docker_api) > before, timeout=20, what="the followers connected")
        for follower in followers:
            follower.kill()
            follower.wait()
        assert settle_fds(docker_api, before) <= before
    finally:
        docker_api.ps("rm", "-f", name)


# -- attach ----------------------------------------------------------------------------------------------------


def test_attach_to_a_running_container_streams_its_output_until_it_ends(docker_api) -> None:
    name = _name("attach")
    docker_api.ps("run", "-d", "--network", "none", "--name", name, "busybox", "sh", "-c",
                  "echo before; " + _gate("echo out; echo err >&2; exit 3"))
    try:
        eventually(lambda: docker_api.client().logs(name) == b"before\n", timeout=20, what="the first line")
        # a socket of our own: docker-py's attach_socket loses what came with the head in one read
        answer = _in_thread(request, docker_api, "POST",
                            f"/containers/{name}/attach?stdout=1&stderr=1&stream=1&logs=1", upgrade=True)
        eventually(lambda: _attachments(docker_api, name) == 1, timeout=20, what="the attachment")
        docker_api.ps("exec", name, "touch", "/tmp/go")
        status, _, received = answer.result(30)
        assert status == 101 and by_stream(received) == {1: b"before\nout\n", 2: b"err\n"}
        assert docker_api.ps("wait", name).stdout == "3\n"
    finally:
        docker_api.ps("rm", "-f", name)


def _in_thread(fn, *args, **kw):
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(fn, *args, **kw)
    finally:
        pool.shutdown(wait=False)


def _attachments(api, name: str) -> int:
    """The clients the container's monitor serves (its sockets, less the listener)."""
    import subprocess as sp

    pid = api.ps.inspect(name)["State"]["Pid"]
    monitors = [p for p in sp.run(["pgrep", "-x", "portside-mon"], capture_output=True, text=True).stdout.split()
                if str(pid) in sp.run(["pgrep", "-P", p], capture_output=True, text=True).stdout.split()]
    if not monitors:
        return 0
    sockets = [os.readlink(f"/proc/{monitors[0]}/fd/{fd}") for fd in os.listdir(f"/proc/{monitors[0]}/fd")]
    return sum(1 for target in sockets if target.startswith("socket:")) - 1


def _read_all(sock) -> bytes:
    raw = getattr(sock, "_sock", sock)
    raw.settimeout(30)
    data = b""
    while chunk := raw.recv(65536):
        data += chunk
    sock.close()
    return data


def test_attach_before_start_sees_the_first_byte_and_the_upgrade_is_dockers(docker_api) -> None:
    """docker run's order: attach (hijacked), then start; here the start comes from the portside CLI."""
    name = _name("first")
    docker_api.ps("create", "--network", "none", "--name", name, "busybox", "sh", "-c",
                  "echo first; echo second >&2; exit 5")
    try:
        import socket

        for version, media in (("1.41", "application/vnd.docker.raw-stream"),
                               ("1.47", "application/vnd.docker.multiplexed-stream")):
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(30)
            sock.connect(str(docker_api.socket))
            sock.sendall(f"POST /v{version}/containers/{name}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\n"
                         "Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1)
            assert head == (f"HTTP/1.1 101 UPGRADED\r\nContent-Type: {media}\r\nConnection: Upgrade\r\n"
                            "Upgrade: tcp\r\n\r\n").encode()
            sock.shutdown(socket.SHUT_WR)  # docker's CLI half-closes when it has no input: the output goes on
            docker_api.ps("start", name)
            received = _read_all(sock)
            assert by_stream(received) == {1: b"first\n", 2: b"second\n"}, received
            assert docker_api.ps("wait", name).stdout == "5\n"
    finally:
        docker_api.ps("rm", "-f", name)


def test_attached_stdin_reaches_the_container_and_its_end_is_eof(docker_api) -> None:
    name = _name("stdin")
    _create_engine(docker_api, name, ["sh", "-c", "cat; echo end"], open_stdin=True, stdin_once=True)
    try:
        client = docker_api.client()
        sock = client.attach_socket(name, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        docker_api.ps("start", name)
        raw = sock._sock
        raw.sendall(b"hello\nworld\n")
        raw.shutdown(1)  # half-close: the container reads end-of-file, and its output still comes back
        received = _read_all(sock)
        assert by_stream(received) == {1: b"hello\nworld\nend\n", 2: b""}
        assert docker_api.ps("wait", name).stdout == "0\n"
    finally:
        docker_api.ps("rm", "-f", name)


def test_attach_without_the_upgrade_is_a_200_stream(docker_api) -> None:
    name = _name("plain")
    docker_api.ps("create", "--network", "none", "--name", name, "busybox", "echo", "plain")
    try:
        import threading

        result = {}
        reader = threading.Thread(target=lambda: result.update(answer=request(
            docker_api, "POST", f"/containers/{name}/attach?stream=1&stdout=1")))
        reader.start()
        eventually(lambda: any(p.name.startswith("attach-next-") for p in _container_dir(docker_api, name).iterdir()),
                   timeout=20, what="the attachment waits for the start")
        docker_api.ps("start", name)
        reader.join(30)
        status, headers, body = result["answer"]
        assert (status, headers["content-type"], body) == (200, "application/vnd.docker.raw-stream",
                                                           frame(1, b"plain\n"))
    finally:
        docker_api.ps("rm", "-f", name)


def _container_dir(api, name: str):
    return api.ps.root / "containers" / api.ps.inspect(name)["Id"]


def test_attach_over_a_websocket(docker_api) -> None:
    """/attach/ws: the input from the client's messages, the output raw (never multiplexed) in binary messages."""
    import asyncio

    import aiohttp

    name = _name("ws")
    _create_engine(docker_api, name, ["sh", "-c", "read line; echo got $line; sleep 0.1; echo err >&2"],
                   open_stdin=True)

    async def session() -> list[tuple[aiohttp.WSMsgType, bytes]]:
        async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(docker_api.socket))) as http:
            url = f"http://docker/v1.41/containers/{name}/attach/ws?stream=1&stdin=1&stdout=1&stderr=1"
            async with http.ws_connect(url) as ws:
                await asyncio.to_thread(docker_api.ps, "start", name)
                await ws.send_bytes(b"hello\n")
                return [(msg.type, msg.data) async for msg in ws]

    try:
        received = asyncio.run(session())
        assert {kind for kind, _ in received} == {aiohttp.WSMsgType.BINARY}
        assert b"".join(data for _, data in received) == b"got hello\nerr\n"
    finally:
        docker_api.ps("rm", "-f", name)


def test_docker_attach_and_detach_keys_on_a_terminal(docker_api) -> None:
    from terminal import Terminal

    name = _name("tty-attach")
    docker_api.ps("run", "-d", "-i", "-t", "--network", "none", "--name", name, "busybox", "sh")
    try:
        term = Terminal(["/usr/bin/docker", "attach", name], env=docker_api.env)
        try:
            term.type("\r")
            term.until("# ")
            term.type("echo $((6*7))\r")
            term.until("42")
            term.type("\x10\x11")  # Ctrl-P Ctrl-Q: detached, the shell runs on
            assert term.close() == 1  # the docker CLI's "read escape sequence", against dockerd too
        finally:
            term.proc.kill()
        assert docker_api.ps.inspect(name)["State"]["Status"] == "running"
    finally:
        docker_api.ps("rm", "-f", name)


def test_resize_sets_the_containers_terminal(docker_api) -> None:
    name = _name("resize")
    docker_api.ps("run", "-d", "-t", "--network", "none", "--name", name, "busybox", "sleep", "600")
    try:
        docker_api.client().resize(name, height=33, width=101)
        assert docker_api.ps("exec", name, "stty", "-F", "/dev/console", "size").stdout == "33 101\n"
        status, _, body = request(docker_api, "POST", f"/containers/{name}/resize?h=10")
        assert status == 400 and b"w" in body and b"width" in body
        docker_api.ps("stop", "-t", "0", name)
        status, _, body = request(docker_api, "POST", f"/containers/{name}/resize?h=10&w=10")
        assert status == 409 and b"is not running" in body
    finally:
        docker_api.ps("rm", "-f", name)


# -- docker run: create, attach (hijacked), wait, start ------------------------------------------------------


def test_docker_run_shows_the_output_and_exits_with_the_containers_code(docker_api) -> None:
    name = _name("run")
    try:
        proc = docker_api.docker("run", "--name", name, "--network", "none", "busybox", "sh", "-c",
                                 "echo out; echo err >&2; exit 4", check=False)
        assert (proc.returncode, proc.stdout, proc.stderr) == (4, "out\n", "err\n")
    finally:
        docker_api.ps("rm", "-f", name, check=False)


def test_docker_run_i_passes_piped_stdin_and_its_end(docker_api) -> None:
    name = _name("run-i")
    try:
        proc = docker_api.docker("run", "-i", "--name", name, "--network", "none", "busybox", "sh", "-c",
                                 "cat; echo end", input="piped\n", check=False)
        assert (proc.returncode, proc.stdout) == (0, "piped\nend\n"), proc.stderr
    finally:
        docker_api.ps("rm", "-f", name, check=False)


def test_docker_start_a_shows_the_output_from_the_first_byte(docker_api) -> None:
    name = _name("start-a")
    docker_api.ps("create", "--network", "none", "--name", name, "busybox", "sh", "-c", "echo once; exit 2")
    try:
        proc = docker_api.docker("start", "-a", name, check=False)
        assert (proc.returncode, proc.stdout) == (2, "once\n"), proc.stderr
    finally:
        docker_api.ps("rm", "-f", name)


def test_docker_run_it_is_an_interactive_shell(docker_api) -> None:
    from streamwire import resized_shell

    name = _name("run-it")
    try:
        shown, code = resized_shell(["/usr/bin/docker", "-H", docker_api.url, "run", "-it", "--name", name,
                                     "--network", "none", "busybox", "sh"], (24, 80), (30, 90), 6)
        assert code == 6 and "/dev/pts/0\r\n24 80" in shown and shown.rstrip().endswith("30 90"), shown
    finally:
        docker_api.ps("rm", "-f", name, check=False)


def test_an_attachment_waiting_for_a_start_ends_with_the_container(docker_api) -> None:
    name = _name("removed")
    docker_api.ps("create", "--network", "none", "--name", name, "busybox", "true")
    answer = _in_thread(request, docker_api, "POST", f"/containers/{name}/attach?stream=1&stdout=1", upgrade=True)
    try:
        eventually(lambda: any(p.name.startswith("attach-next-") for p in _container_dir(docker_api, name).iterdir()),
                   timeout=20, what="the attachment waits for the start")
    finally:
        docker_api.ps("rm", "-f", name)
    assert answer.result(30)[0::2] == (101, b"")


def test_stopping_the_service_ends_its_streams(docker_api, tmp_path) -> None:
    """A ``logs -f`` and an attachment of a container that runs on: SIGTERM ends them, and the service, at once."""
    import shutil
    from pathlib import Path

    name = _name("stop")
    docker_api.ps("run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "600")
    run_dir = Path(f"/run/portside-test-{os.urandom(3).hex()}")
    try:
        other = start_service(docker_api.ps, run_dir)
        streams = [_in_thread(request, other, "GET", f"/containers/{name}/logs?stdout=1&follow=1"),
                   _in_thread(request, other, "POST", f"/containers/{name}/attach?stream=1&stdout=1", upgrade=True)]
        eventually(lambda: _attachments(docker_api, name) == 1, timeout=20, what="the attachment")
        began = time.monotonic()
        other.stop()
        assert time.monotonic() - began < 5
        assert [s.result(10)[0] for s in streams] == [200, 101]
        assert "Traceback" not in other.log.read_text(errors="replace"), other.log_tail()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        docker_api.ps("rm", "-f", name)


def test_streams_leave_no_descriptor_behind(docker_api) -> None:
    """Run last in this module: every stream above has ended, so the service holds what it held at rest."""
    baseline = service_fds(docker_api)
    name = _name("leak")
    docker_api.ps("run", "-d", "--network", "none", "--name", name, "busybox", "sh", "-c", "echo x")
    try:
        _exited(docker_api, name)
        for _ in range(5):
            request(docker_api, "GET", f"/containers/{name}/logs?stdout=1")
        assert settle_fds(docker_api, baseline) <= baseline
        assert frames(request(docker_api, "GET", f"/containers/{name}/logs?stdout=1")[2]) == [(1, b"x\n")]
    finally:
        docker_api.ps("rm", "-f", name)
