"""The container lifecycle through the Docker API: Debian's docker CLI for what users type and read (the same
columns and words as against dockerd), docker-py for the JSON shapes and status codes clients branch on."""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import urllib.parse
from pathlib import Path

import docker.errors
import pytest
from support.wait import eventually

pytestmark = pytest.mark.integration

# the fields of dockerd 20.10's GET /containers/json entry
LIST_FIELDS = {"Id", "Names", "Image", "ImageID", "Command", "Created", "Ports", "Labels", "State", "Status",
               "HostConfig", "NetworkSettings", "Mounts"}


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("docker", timeout=60)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(api, method: str, path: str, body: dict | None = None) -> tuple[int, dict | list | None]:
    """One request as a client sends it; (status, decoded JSON body or None)."""
    conn = _UnixConnection(str(api.socket))
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, "/v1.41" + path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw.strip() else None
    finally:
        conn.close()


def _q(filters: dict) -> str:
    return urllib.parse.quote(json.dumps(filters))


def unique(prefix: str) -> str:
    return f"{prefix}-{os.urandom(3).hex()}"


def _ps(api, *filters: str) -> list[list[str]]:
    fmt = "{{.Names}}\t{{.Status}}\t{{.State}}\t{{.Command}}\t{{.Ports}}"
    out = api.docker("ps", "-a", "--no-trunc", "--format", fmt, *[a for f in filters for a in ("--filter", f)]).stdout
    return [line.split("\t") for line in out.splitlines()]


def test_create_start_stop_rm_with_the_docker_cli_reads_as_against_dockerd(docker_api) -> None:
    name = unique("life")
    cid = docker_api.docker("create", "--name", name, "--network", "none", "-e", "A=1", "-l", "tier=web",
                            "--memory", "64m", "--cpus", "0.5", "--pids-limit", "50", "--restart", "on-failure:3",
                            "--tmpfs", "/scratch:size=1m", "--stop-timeout", "1", "--expose", "9000", "busybox",
                            "sh", "-c", "mount | grep /scratch; exec sleep 60").stdout.strip()
    assert len(cid) == 64
    assert _ps(docker_api, f"name={name}") == [[name, "Created", "created", '"sh -c \'mount | grep /scratch; exec sleep 60\'"', ""]]
    header = docker_api.docker("ps", "-a", "--filter", f"name={name}").stdout.splitlines()[0]
    assert header.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    fmt = ("{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} "
           "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} "
           "{{.Config.StopTimeout}} {{json .HostConfig.Tmpfs}} {{json .Config.ExposedPorts}} {{.Config.Labels.tier}}")
    assert docker_api.docker("inspect", "-f", fmt, name).stdout.split() == [
        str(64 << 20), "500000000", "50", "on-failure:3", "1", '{"/scratch":"size=1m"}', '{"9000/tcp":{}}', "web"]

    assert docker_api.docker("start", name).stdout.strip() == name
    (row,) = _ps(docker_api, f"name={name}")
    assert row[1].startswith("Up ") and row[2] == "running"
    assert docker_api.docker("ps", "-q", "--no-trunc", "--filter", f"name={name}").stdout.split() == [cid]
    eventually(lambda: "/scratch type tmpfs" in docker_api.ps("logs", name).stdout, 10, what="the tmpfs mount")
    assert "nosuid,nodev,noexec" in docker_api.ps("logs", name).stdout

    docker_api.docker("stop", name)  # sleep ignores SIGTERM as pid 1: killed after its 1 s stop timeout
    (row,) = _ps(docker_api, f"name={name}")
    assert row[1].startswith("Exited (137) ") and row[1].endswith(" ago") and row[2] == "exited"
    assert docker_api.docker("rm", name).stdout.strip() == name
    gone = docker_api.docker("inspect", name, check=False)
    assert gone.returncode == 1 and f"No such object: {name}" in gone.stderr


def test_run_detached_publishes_exposed_ports_with_dash_capital_p(docker_api) -> None:
    name = unique("pub")
    docker_api.docker("run", "-d", "--name", name, "-P", "--expose", "8080", "-p", "127.0.0.1::9090", "busybox",
                      "sleep", "60")
    try:
        (row,) = _ps(docker_api, f"name={name}")
        ports = sorted(row[4].split(", "))
        assert len(ports) == 2 and ports[0].startswith("0.0.0.0:") and ports[0].endswith("->8080/tcp")
        assert ports[1].startswith("127.0.0.1:") and ports[1].endswith("->9090/tcp")
        info = docker_api.client().inspect_container(name)
        assert info["HostConfig"]["PublishAllPorts"] is True
        assert info["HostConfig"]["PortBindings"] == {"9090/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
        assert set(info["Config"]["ExposedPorts"]) == {"8080/tcp", "9090/tcp"}
        (entry,) = docker_api.client().containers(filters={"name": name})
        assert sorted((p["PrivatePort"], p["IP"]) for p in entry["Ports"]) == [(8080, "0.0.0.0"), (9090, "127.0.0.1")]
        assert all(p["PublicPort"] > 0 and p["Type"] == "tcp" for p in entry["Ports"])
    finally:
        docker_api.docker("rm", "-f", name)


def test_pause_unpause_and_what_a_paused_container_refuses(docker_api) -> None:
    name = unique("frozen")
    cid = docker_api.docker("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60").stdout.strip()
    try:
        docker_api.docker("pause", name)
        (row,) = _ps(docker_api, f"name={name}")
        assert row[1].startswith("Up ") and row[1].endswith(" (Paused)") and row[2] == "paused"
        state = docker_api.client().inspect_container(name)["State"]
        assert (state["Status"], state["Running"], state["Paused"]) == ("paused", True, True)
        freezer = Path(f"/sys/fs/cgroup/freezer/{docker_api.ps.cgroup_parent}/{cid}/freezer.state")
        if freezer.exists():
            assert freezer.read_text().strip() == "FROZEN"
        assert call(docker_api, "POST", f"/containers/{name}/pause") == (
            409, {"message": f"Container {cid} is already paused"})
        assert call(docker_api, "POST", f"/containers/{name}/start") == (
            409, {"message": "cannot start a paused container, try unpause instead"})
        refused = docker_api.docker("rm", name, check=False)
        assert refused.returncode == 1 and f"You cannot remove a paused container {cid}. Unpause and then stop" \
            in refused.stderr
        docker_api.docker("unpause", name)
        assert _ps(docker_api, f"name={name}")[0][2] == "running"
        assert call(docker_api, "POST", f"/containers/{name}/unpause") == (
            409, {"message": f"Container {cid} is not paused"})
        docker_api.docker("pause", name)
        docker_api.docker("kill", name)  # delivered once thawed, as dockerd does
        assert docker_api.client().wait(name, timeout=20) == {"StatusCode": 137, "Error": None}
        assert call(docker_api, "POST", f"/containers/{name}/pause") == (409, {"message": f"Container {cid} is not running"})
    finally:
        docker_api.docker("rm", "-f", name)


def test_rename_restart_and_kill_with_a_signal(docker_api) -> None:
    old, new, other = unique("old"), unique("new"), unique("taken")
    docker_api.docker("run", "-d", "--name", old, "--network", "none", "busybox", "sh", "-c",
                      "trap 'exit 7' USR1; trap 'exit 0' TERM; while :; do sleep 0.1; done")
    other_id = docker_api.docker("create", "--name", other, "--network", "none", "busybox", "true").stdout.strip()
    try:
        docker_api.docker("rename", old, new)
        assert docker_api.client().inspect_container(new)["Name"] == f"/{new}"
        assert docker_api.docker("inspect", old, check=False).returncode == 1
        taken = docker_api.docker("rename", new, other, check=False)
        assert taken.returncode == 1 and f'The container name "/{other}" is already in use by container ' \
            f'"{other_id}"' in taken.stderr
        same = call(docker_api, "POST", f"/containers/{new}/rename?name={new}")
        assert same[0] == 400 and "same name as its current name" in same[1]["message"]

        started = docker_api.client().inspect_container(new)["State"]["StartedAt"]
        docker_api.docker("restart", "-t", "5", new)
        info = docker_api.client().inspect_container(new)
        assert info["State"]["Running"] and info["State"]["StartedAt"] > started
        docker_api.docker("kill", "-s", "USR1", new)
        assert docker_api.docker("wait", new).stdout.strip() == "7"
        bad = call(docker_api, "POST", f"/containers/{new}/kill?signal=NOPE")
        assert bad == (400, {"message": "Invalid signal: NOPE"})
    finally:
        docker_api.docker("rm", "-f", new, other, check=False)


def test_the_new_verbs_are_in_the_event_stream(docker_api) -> None:
    import time

    name, new = unique("told"), unique("told-new")
    since = int(time.time()) - 1
    cid = docker_api.docker("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60").stdout.strip()
    try:
        for args in (("pause", name), ("unpause", name), ("rename", name, new), ("update", "--cpu-shares", "512",
                                                                                  new)):
            docker_api.docker(*args)
        out = docker_api.docker("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                                "--filter", f"container={cid}", "--format", "{{.Action}} {{json .Actor.Attributes}}"
                                ).stdout.splitlines()
        actions = [line.split(" ", 1)[0] for line in out]
        assert [a for a in actions if a in ("pause", "unpause", "rename", "update")] == [
            "pause", "unpause", "rename", "update"]
        renamed = json.loads(next(line for line in out if line.startswith("rename ")).split(" ", 1)[1])
        assert renamed["name"] == new and renamed["oldName"] == f"/{name}"
    finally:
        docker_api.docker("rm", "-f", cid)


def test_kill_without_a_signal_answers_once_the_container_is_down(docker_api) -> None:
    """As dockerd's: SIGKILL (the default) and then the wait for the exit, so an inspect right after the kill
    sees it; five rounds, since without the wait an inspect may come before the exit is recorded."""
    client = docker_api.client()
    for _ in range(5):
        name = unique("killed")
        client.create_container("busybox", ["sleep", "9999"], name=name,
                                host_config=client.create_host_config(network_mode="none"))
        try:
            client.start(name)
            client.kill(name)
            state = client.inspect_container(name)["State"]
            assert (state["Status"], state["Running"], state["ExitCode"]) == ("exited", False, 137)
        finally:
            client.remove_container(name, force=True)


def test_update_changes_the_running_cgroup_and_the_record(docker_api) -> None:
    name = unique("upd")
    cid = docker_api.docker("run", "-d", "--name", name, "--network", "none", "--memory", "64m", "busybox",
                            "sleep", "60").stdout.strip()
    try:
        docker_api.docker("update", "--memory", "96m", "--cpus", "0.5", "--pids-limit", "40", "--restart", "always",
                          name)
        host = docker_api.client().inspect_container(name)["HostConfig"]
        assert (host["Memory"], host["NanoCpus"], host["PidsLimit"], host["RestartPolicy"]["Name"]) == (
            96 << 20, 500_000_000, 40, "always")
        cgroups = Path("/sys/fs/cgroup")
        parent = docker_api.ps.cgroup_parent
        assert (cgroups / f"memory/{parent}/{cid}/memory.limit_in_bytes").read_text().strip() == str(96 << 20)
        assert (cgroups / f"pids/{parent}/{cid}/pids.max").read_text().strip() == "40"
        assert (cgroups / f"cpu/{parent}/{cid}/cpu.cfs_quota_us").read_text().strip() == "50000"
        refused = call(docker_api, "POST", f"/containers/{name}/update", {"CpusetCpus": "0"})
        assert refused[0] == 400 and refused[1]["message"].startswith("CpusetCpus:")
        small = call(docker_api, "POST", f"/containers/{name}/update", {"Memory": 1000})
        assert small[0] == 400 and small[1]["message"].startswith("HostConfig.Memory: the minimum memory limit")
        assert call(docker_api, "POST", f"/containers/{name}/update", {"CpuShares": 512}) == (200, {"Warnings": []})
    finally:
        docker_api.docker("rm", "-f", name)


def test_container_prune_removes_only_stopped_matching_containers(docker_api) -> None:
    tag = os.urandom(3).hex()
    done = [docker_api.docker("run", "-d", "--network", "none", "-l", f"prune={tag}", "busybox", "true").stdout.strip()
            for _ in range(2)]
    kept = docker_api.docker("create", "--network", "none", "-l", f"prune={tag}-other", "busybox", "true").stdout.strip()
    running = docker_api.docker("run", "-d", "--network", "none", "-l", f"prune={tag}", "busybox", "sleep",
                                "60").stdout.strip()
    try:
        for cid in done:
            docker_api.client().wait(cid, timeout=20)
        out = docker_api.docker("container", "prune", "-f", "--filter", f"label=prune={tag}").stdout
        lines = out.splitlines()
        assert lines[0] == "Deleted Containers:" and sorted(lines[1:3]) == sorted(done)
        assert lines[-1].startswith("Total reclaimed space: ")
        left = set(docker_api.docker("ps", "-aq", "--no-trunc").stdout.split())
        assert kept in left and running in left and not set(done) & left
        status, report = call(docker_api, "POST", "/containers/prune?filters=" + _q({"label": [f"prune={tag}"]}))
        assert status == 200 and report == {"ContainersDeleted": None, "SpaceReclaimed": 0}
        bad = call(docker_api, "POST", "/containers/prune?filters=" + _q({"status": ["exited"]}))
        assert bad[0] == 400 and "status" in bad[1]["message"]
    finally:
        docker_api.docker("rm", "-f", kept, running)


def test_create_and_inspect_shapes_through_docker_py(docker_api, tmp_path) -> None:
    client = docker_api.client()
    name = unique("py")
    host = client.create_host_config(binds={str(tmp_path): {"bind": "/data", "mode": "ro"}},
                                     mem_limit="32m",
                                     restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
                                     tmpfs={"/run": "size=2m"}, log_config={"Type": "json-file",
                                                                            "Config": {"max-size": "1m",
                                                                                       "max-file": "2"}},
                                     cap_drop=["NET_RAW"], extra_hosts={"db": "10.1.2.3"}, network_mode="none")
    created = client.create_container("busybox", ["cat", "/etc/hosts"], name=name, host_config=host,
                                      labels={"a": "b"}, environment={"K": "V"}, working_dir="/tmp",
                                      stop_signal="SIGINT", healthcheck={"Test": ["CMD", "true"],
                                                                         "Interval": 10**9})
    assert set(created) == {"Id", "Warnings"} and created["Warnings"] == []
    try:
        info = client.inspect_container(name)
        assert info["Id"] == created["Id"] and info["Name"] == f"/{name}" and info["Path"] == "cat"
        assert info["Mounts"] == [{"Type": "bind", "Source": str(tmp_path), "Destination": "/data", "Mode": "ro",
                                   "RW": False, "Propagation": "rprivate"}]
        assert info["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}}
        assert info["HostConfig"]["ExtraHosts"] == ["db:10.1.2.3"] and info["HostConfig"]["CapDrop"] == ["NET_RAW"]
        assert info["Config"]["StopSignal"] == "SIGINT" and info["Config"]["WorkingDir"] == "/tmp"
        assert "K=V" in info["Config"]["Env"] and info["Config"]["Labels"] == {"a": "b"}
        assert info["Config"]["Healthcheck"]["Test"] == ["CMD", "true"]
        assert info["State"]["Status"] == "created" and info["Driver"] and info["Platform"] == "linux"
        sized = call(docker_api, "GET", f"/containers/{name}/json?size=1")[1]
        assert sized["SizeRw"] == 0 and sized["SizeRootFs"] > 0

        client.start(name)
        assert client.wait(name, timeout=20) == {"StatusCode": 0, "Error": None}
        assert "10.1.2.3\tdb" in docker_api.ps("logs", name).stdout
        info = client.inspect_container(name)
        assert info["HostsPath"].endswith("/hosts") and info["LogPath"].endswith("-json.log")
        (entry,) = client.containers(all=True, filters={"name": name})
        assert set(entry) == LIST_FIELDS
        assert entry["Names"] == [f"/{name}"] and entry["Command"] == "cat /etc/hosts"
        assert entry["State"] == "exited" and entry["Status"].startswith("Exited (0) ")
        assert entry["HostConfig"] == {"NetworkMode": "none"} and entry["Labels"] == {"a": "b"}
        assert entry["ImageID"] == info["Image"] and entry["Image"] == "busybox"
        assert isinstance(entry["Created"], int) and entry["Mounts"][0]["Destination"] == "/data"
    finally:
        client.remove_container(name, force=True)


def test_bare_env_names_isolation_and_max_file_alone_are_taken_as_dockerd_takes_them(docker_api) -> None:
    """``Env`` entries without ``=`` stay in the record as given and unset the name in the process (HOSTNAME
    too); ``Isolation: default`` is echoed; ``max-file`` without ``max-size`` is kept (the log is never rotated)."""
    client = docker_api.client()
    name = unique("bare")
    host = client.create_host_config(isolation="default", network_mode="none",
                                     log_config={"Type": "", "Config": {"max-file": "3"}})
    client.create_container("busybox", ["env"], name=name, host_config=host,
                            environment=["Foo", "Other=one", "Blank=", "HOSTNAME"])
    try:
        info = client.inspect_container(name)
        assert {"Foo", "Other=one", "Blank=", "HOSTNAME"} <= set(info["Config"]["Env"])
        assert info["HostConfig"]["Isolation"] == "default"
        assert info["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "3"}}
        client.start(name)
        assert client.wait(name, timeout=20)["StatusCode"] == 0
        env = client.logs(name).decode().splitlines()
        assert "Other=one" in env and "Blank=" in env
        assert not [line for line in env if line.split("=")[0] in ("Foo", "HOSTNAME")], env
    finally:
        client.remove_container(name, force=True)


def test_list_filters_limit_and_size(docker_api) -> None:
    client = docker_api.client()
    tag = os.urandom(3).hex()
    first = client.create_container("busybox", ["true"], labels={"set": tag, "n": "1"},
                                    host_config=client.create_host_config(network_mode="none"))["Id"]
    second = client.create_container("busybox", ["sh", "-c", "echo x > /f; exit 3"], labels={"set": tag, "n": "2"},
                                     host_config=client.create_host_config(network_mode="none"))["Id"]
    try:
        client.start(second)
        client.wait(second, timeout=20)

        def ids(**kw) -> list[str]:
            return [c["Id"] for c in client.containers(**kw)]
        mine = {"label": f"set={tag}"}
        assert ids(all=True, filters=mine) == [second, first]  # newest first
        assert ids(filters=mine) == []  # neither runs
        assert ids(filters={**mine, "status": "exited"}) == [second]  # a status filter lists all
        assert ids(all=True, filters={**mine, "exited": "3"}) == [second]
        assert ids(all=True, filters={**mine, "label": [f"set={tag}", "n=1"]}) == [first]
        assert ids(all=True, filters={**mine, "id": first[:12]}) == [first]
        assert ids(all=True, filters={**mine, "before": second}) == [first]
        assert ids(all=True, filters={**mine, "since": first}) == [second]
        assert ids(all=True, filters={**mine, "ancestor": "busybox"}) == [second, first]
        assert ids(all=True, filters={**mine, "network": "none"}) == [second, first]
        assert ids(all=True, filters={**mine, "health": "none"}) == [second, first]
        assert len(client.containers(limit=1)) == 1
        (sized,) = client.containers(all=True, size=True, filters={**mine, "id": second})
        assert sized["SizeRw"] > 0 and sized["SizeRootFs"] > sized["SizeRw"]
        for bad in ({"status": ["sleepy"]}, {"colour": ["red"]}, {"exited": ["x"]}):
            status, body = call(docker_api, "GET", "/containers/json?filters=" + _q(bad))
            assert status == 400 and list(bad)[0] in body["message"], body
    finally:
        client.remove_container(first)
        client.remove_container(second)


def test_wait_conditions_and_docker_runs_wait_before_start(docker_api) -> None:
    client = docker_api.client()
    quick = client.create_container("busybox", ["sh", "-c", "exit 4"],
                                    host_config=client.create_host_config(network_mode="none"))["Id"]
    try:
        # docker run asks for next-exit before it starts the container; the run may end before the wait looks
        result: dict = {}
        waiter = threading.Thread(target=lambda: result.update(client.wait(quick, timeout=30, condition="next-exit")))
        waiter.start()
        client.start(quick)
        waiter.join(30)
        assert result == {"StatusCode": 4, "Error": None}
        assert client.wait(quick, condition="not-running") == {"StatusCode": 4, "Error": None}
        removed: dict = {}
        waiter = threading.Thread(target=lambda: removed.update(client.wait(quick, timeout=30, condition="removed")))
        waiter.start()
        client.remove_container(quick)
        waiter.join(30)
        assert removed == {"StatusCode": 4, "Error": None}
        # docker run --rm waits for the removal before the start: the exit code outlives the container's files
        for condition in ("removed", "next-exit"):
            doomed = client.create_container("busybox", ["sh", "-c", "sleep 0.2; exit 5"],
                                             host_config=client.create_host_config(network_mode="none",
                                                                                   auto_remove=True))["Id"]
            ended: dict = {}
            waiter = threading.Thread(target=lambda c=condition, d=doomed, out=ended: out.update(
                client.wait(d, timeout=30, condition=c)))
            waiter.start()
            client.start(doomed)
            waiter.join(30)
            assert ended == {"StatusCode": 5, "Error": None}, condition
        assert call(docker_api, "POST", "/containers/nosuch/wait")[0] == 404
        bad = call(docker_api, "POST", f"/containers/{quick}/wait?condition=soon")
        assert bad[0] == 400 and "condition" in bad[1]["message"]
        # docker run -d: the CLI waits, then hangs up once the container runs; the service stays quiet
        name = unique("detached")
        docker_api.docker("run", "-d", "--rm", "--name", name, "--network", "none", "busybox", "sleep", "0.2")
        eventually(lambda: docker_api.docker("inspect", name, check=False).returncode == 1, 20,
                   what="the --rm container to be gone")
    finally:
        client.remove_container(quick, force=True) if _exists(client, quick) else None


def _exists(client, ref: str) -> bool:
    try:
        client.inspect_container(ref)
        return True
    except docker.errors.NotFound:
        return False


def test_start_and_stop_say_not_modified_and_rm_refuses_a_running_one(docker_api) -> None:
    name = unique("codes")
    cid = docker_api.client().create_container("busybox", ["sleep", "60"], name=name, stop_signal="SIGKILL",
                                               volumes=["/scratch"], host_config=docker_api.client()
                                               .create_host_config(network_mode="none"))["Id"]
    try:
        (mount,) = docker_api.client().inspect_container(name)["Mounts"]
        volume = mount["Name"]  # Config.Volumes: an anonymous volume, named as docker names them
        assert mount["Type"] == "volume" and mount["Destination"] == "/scratch" and len(volume) == 64
        assert call(docker_api, "GET", f"/volumes/{volume}")[0] == 200
        assert call(docker_api, "POST", f"/containers/{name}/stop") == (304, None)
        assert call(docker_api, "POST", f"/containers/{name}/start") == (204, None)
        assert call(docker_api, "POST", f"/containers/{name}/start") == (304, None)
        assert call(docker_api, "DELETE", f"/containers/{name}") == (409, {
            "message": f"You cannot remove a running container {cid}. Stop the container before attempting removal "
                       "or force remove"})
        assert call(docker_api, "POST", f"/containers/{name}/stop?t=5") == (204, None)
        assert call(docker_api, "POST", f"/containers/{name}/stop") == (304, None)
        assert call(docker_api, "POST", f"/containers/{name}/kill") == (
            409, {"message": f"Cannot kill container: {name}: Container {cid} is not running"})
        assert call(docker_api, "DELETE", f"/containers/{name}?v=1") == (204, None)
        assert call(docker_api, "GET", f"/volumes/{volume}")[0] == 404  # v=1: its anonymous volumes go with it
    finally:
        docker_api.docker("rm", "-f", name, check=False)


def test_errors_have_dockers_codes_and_name_the_field(docker_api) -> None:
    client = docker_api.client()
    for verb in (client.inspect_container, client.start, client.stop, client.remove_container, client.pause):
        with pytest.raises(docker.errors.NotFound, match="No such container: nosuch"):
            verb("nosuch")
    with pytest.raises(docker.errors.ImageNotFound, match="No such image: no-such-image:latest"):
        client.create_container("no-such-image", ["true"])
    name = unique("dup")
    client.create_container("busybox", ["true"], name=name, host_config=client.create_host_config(network_mode="none"))
    try:
        with pytest.raises(docker.errors.APIError) as taken:
            client.create_container("busybox", ["true"], name=name)
        assert taken.value.status_code == 409 and f'The container name "/{name}" is already in use' in str(taken.value)
    finally:
        client.remove_container(name)
    refusals = [
        ({"HostConfig": {"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/x"}]}}, "HostConfig.Devices"),
        ({"HostConfig": {"LogConfig": {"Type": "syslog"}}}, "HostConfig.LogConfig.Type"),
        ({"HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"tag": "x"}}}}, "HostConfig.LogConfig.Config"),
        ({"HostConfig": {"Privileged": True}}, "HostConfig.Privileged"),
        ({"HostConfig": {"Memory": 1024}}, "HostConfig.Memory"),
        ({"HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}, "HostConfig.RestartPolicy.Name"),
        ({"HostConfig": {"NetworkMode": "container:other"}}, "HostConfig.NetworkMode"),
        ({"HostConfig": {"PidMode": "host"}}, "HostConfig.PidMode"),
        ({"HostConfig": {"Mounts": [{"Type": "npipe", "Target": "/x"}]}}, "HostConfig.Mounts[0].Type"),
        ({"HostConfig": {"Tmpfs": {"relative": ""}}}, "HostConfig.Tmpfs"),
        ({"Cmd": "not a list", "Env": "A=1"}, "Config.Env"),
        ({"Env": ["=1"]}, "Config.Env"),
        ({"HostConfig": {"Isolation": "hyperv"}}, "HostConfig.Isolation"),
        ({"HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"max-file": "0"}}}},
         "HostConfig.LogConfig.Config"),
        ({"StopSignal": "SIGNOPE"}, "Config.StopSignal"),
        ({"HostConfig": {"CapAdd": ["NOT_A_CAP"]}}, "HostConfig.CapAdd"),
        ({"HostConfig": {"ExtraHosts": ["nocolon"]}}, "HostConfig.ExtraHosts"),
        ({"ExposedPorts": {"99999/tcp": {}}}, "Config.ExposedPorts"),
        ({"Domainname": "example.com"}, "Config.Domainname"),
        ({"Image": ""}, "Config.Image"),
        ({"HostConfig": {"NetworkMode": "none", "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}},
         "HostConfig.PortBindings"),
    ]
    before = set(docker_api.docker("ps", "-aq", "--no-trunc").stdout.split())
    for extra, field in refusals:
        status, body = call(docker_api, "POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"], **extra})
        assert status == 400 and body["message"].startswith(field), (extra, body)
    assert set(docker_api.docker("ps", "-aq", "--no-trunc").stdout.split()) == before  # nothing half-made
    status, body = call(docker_api, "POST", "/containers/create", {"Image": "busybox", "HostConfig": {
        "LogConfig": {"Type": "asdf"}}})  # a driver docker does not know either: dockerd's words, which clients match
    assert (status, body) == (400, {"message": "logger: no log driver named 'asdf' is registered"})
    status, body = call(docker_api, "POST", "/containers/create?name=bad/name", {"Image": "busybox", "Cmd": ["true"]})
    assert status == 400 and "bad/name" in body["message"]
    status, body = call(docker_api, "POST", "/containers/create?platform=windows/amd64", {"Image": "busybox"})
    assert status == 400 and body["message"].startswith("platform:")


def test_networking_config_aliases_and_an_address_on_a_user_network(docker_api) -> None:
    network = unique("net")
    docker_api.ps("network", "create", network)
    name = unique("aliased")
    try:
        body = {"Image": "busybox", "Cmd": ["sleep", "60"], "HostConfig": {"NetworkMode": network},
                "NetworkingConfig": {"EndpointsConfig": {network: {"Aliases": ["db"],
                                                                   "IPAMConfig": {"IPv4Address": ""}}}}}
        status, created = call(docker_api, "POST", f"/containers/create?name={name}", body)
        assert status == 201, created
        docker_api.client().start(name)
        info = docker_api.client().inspect_container(name)
        endpoint = info["NetworkSettings"]["Networks"][network]
        assert endpoint["Aliases"] == ["db"] and endpoint["IPAddress"] and endpoint["NetworkID"]
        (entry,) = docker_api.client().containers(filters={"network": network})
        assert entry["Id"] == created["Id"] and entry["HostConfig"] == {"NetworkMode": network}
    finally:
        docker_api.docker("rm", "-f", name, check=False)
        docker_api.ps("network", "rm", network, check=False)
