"""Container records: atomic writes, unique names, docker's lookup order, the typed record built from a config,
and the on-disk shape that records written before the types existed still have."""

import json
import os
import threading
from dataclasses import dataclass, field

import pytest

from portside.engine.bundle import process_env
from portside.engine.config import ContainerConfig, log_limits
from portside.engine.create import build_record
from portside.engine.inspect import inspect
from portside.engine.model import ContainerRecord, ContainerState, PortBinding, VolumeMount
from portside.engine.records import Records, remove_tree, write_atomic
from portside.runtime.errors import ContainerNotFound, InvalidArgument, NameInUse


@dataclass(frozen=True)
class FakeImage:
    """Just the fields of ``portside.image.Image`` that a record copies (the real store is tested elsewhere)."""

    id: str = "sha256:" + "ab" * 32
    config: dict = field(default_factory=lambda: {"Cmd": ["sh"], "Env": ["PATH=/bin", "LANG=C"],
                                                  "WorkingDir": "/app", "User": "nobody"})


def _record(tmp_path, **kw) -> ContainerRecord:
    return build_record("c" * 64, "web", "2024-01-01T00:00:00Z", ContainerConfig(image="img", **kw), FakeImage(),
                        tmp_path / "volumes")


def test_names_are_unique_and_lookup_follows_docker(tmp_path) -> None:
    records = Records(tmp_path)
    for cid in ("abc123" + "0" * 58, "abd456" + "0" * 58):
        records.paths(cid).dir.mkdir(parents=True)
        write_atomic(records.paths(cid).record, {"Id": cid})
    records.claim_name("web", "abc123" + "0" * 58)
    with pytest.raises(NameInUse, match="'web' is already in use by container abc123000000$"):
        records.claim_name("web", "abd456" + "0" * 58)
    assert records.find("web") == "abc123" + "0" * 58
    assert records.find("abd") == "abd456" + "0" * 58
    with pytest.raises(InvalidArgument, match="ambiguous"):
        records.find("ab")
    with pytest.raises(ContainerNotFound, match="no such container: zzz"):
        records.find("zzz")
    records.release_name("web", "abd456" + "0" * 58)  # not the owner: nothing happens
    assert records.find("web").startswith("abc")


def test_update_state_and_remove_tree(tmp_path) -> None:
    records = Records(tmp_path)
    paths = records.paths("x" * 64)
    paths.dir.mkdir(parents=True)
    records.update_state("x" * 64, lambda s: s.replace(status="exited", exit_code=3))
    assert records.update_state("x" * 64, lambda s: s.replace(pid=5)) == ContainerState("exited", 5, 3)
    assert records.state("x" * 64) == ContainerState("exited", 5, 3)
    assert not [p for p in os.listdir(paths.dir) if p.endswith(".tmp")]
    (paths.dir / "a" / "b").mkdir(parents=True)
    (paths.dir / "a" / "b" / "f").write_text("x")
    os.symlink("/etc", paths.dir / "a" / "link")
    remove_tree(paths.dir)
    assert not paths.dir.exists() and os.path.isdir("/etc")


def test_remove_tree_while_a_record_is_rewritten(tmp_path) -> None:
    """A container removed while one of its records is rewritten (an exec's state): each rewrite leaves a
    temporary file for an instant, which the removal may list and then find gone, or find in a directory it just
    emptied. Two hundred rounds of this make the interleavings happen; the tree must go every time."""
    failures = []
    for round in range(200):
        execs = tmp_path / f"c{round}" / "execs"
        execs.mkdir(parents=True)
        for i in range(30):
            (execs / f"{i}.json").write_text("{}")

        def rewrite(execs=execs) -> None:
            for n in range(20):
                try:
                    write_atomic(execs / "e.json", {"n": n}, durable=False)
                except FileNotFoundError:  # the directory is gone: so is the exec
                    return

        writer = threading.Thread(target=rewrite)
        writer.start()
        try:
            remove_tree(execs.parent)
        except OSError as exc:
            failures.append(exc)
        writer.join()
        assert not execs.parent.exists() or failures
    assert failures == []


def test_record_merges_image_defaults_with_flags(tmp_path) -> None:
    rec = _record(tmp_path, env=["LANG=fr"], memory=64 << 20, cpus=0.5, pids_limit=20, volumes=["data:/data"])
    assert (rec.path, rec.args) == ("sh", [])
    assert rec.config.env[-2:] == ["PATH=/bin", "LANG=fr"]
    assert (rec.config.working_dir, rec.config.user) == ("/app", "nobody")
    assert rec.host.nano_cpus == 500_000_000 and rec.host.pids_limit == 20
    assert rec.mounts == (VolumeMount("volume", "data", str(tmp_path / "volumes/data/_data"), "/data", True),)


def test_bare_env_names_isolation_and_log_options_as_dockerd(tmp_path) -> None:
    """A bare ``KEY`` stays in the record, hides the image's ``KEY=...`` and sets nothing in the process (it
    unsets HOSTNAME too); ``default`` isolation is kept as spelled; ``max-file`` alone is a log never rotated."""
    rec = _record(tmp_path, env=["LANG", "X=1", "HOSTNAME"], isolation="default")
    assert "LANG" in rec.config.env and "LANG=C" not in rec.config.env and rec.host.isolation == "default"
    env = process_env(rec.config.env, "box", tty=True)
    assert "TERM=xterm" in env and "X=1" in env and "PATH=/bin" in env
    assert not [e for e in env if e.split("=")[0] in ("LANG", "HOSTNAME")]
    assert process_env(["A=1", "HOSTNAME=mine"], "box", tty=False) == ["HOSTNAME=mine", "A=1"]
    assert inspect(rec, ContainerState())["HostConfig"]["Isolation"] == "default"
    with pytest.raises(InvalidArgument, match="invalid isolation 'hyperv' on linux"):
        ContainerConfig(image="img", isolation="hyperv")
    assert log_limits("json-file", {"max-file": "3"}) == (0, 3)
    with pytest.raises(InvalidArgument, match="^logger: no log driver named 'asdf' is registered$"):
        log_limits("asdf", {})


def test_entrypoint_rules(tmp_path) -> None:
    rec = _record(tmp_path, entrypoint=["/bin/echo"], cmd=None)
    assert (rec.path, rec.args) == ("/bin/echo", [])  # --entrypoint drops the image's Cmd, as docker
    rec = _record(tmp_path, entrypoint=[""], cmd=["ls", "-l"])
    assert (rec.path, rec.args) == ("ls", ["-l"])


@pytest.mark.parametrize("kw,words", [
    ({"restart": "always", "autoremove": True}, "--restart and --rm"),
    ({"network": "none", "publish": ["80:80"]}, "-p cannot be used with --network none"),
    ({"workdir": "relative"}, "-w"),
    ({"security_opt": ["label=disable"]}, "--security-opt"),
    ({"cap_add": ["NOT_A_CAP"]}, "unknown capability"),
    ({"entrypoint": [""], "cmd": None}, "no command specified"),
])
def test_refusals(tmp_path, kw: dict, words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        _record(tmp_path, **kw)


# container.json and state.json as the engine wrote them before the record was typed (docker's inspect names)
OLD_RECORD = {
    "Id": "d" * 64, "Name": "web", "Created": "2026-11-01T10:00:00.000000000Z", "Image": "sha256:" + "ab" * 32,
    "Path": "httpd", "Args": ["-f", "-p", "80"],
    "Config": {"Image": "busybox", "Cmd": ["httpd", "-f", "-p", "80"], "Entrypoint": None, "Env": ["PATH=/bin"],
               "WorkingDir": "", "User": "", "Hostname": "dddddddddddd", "Labels": {"a": "b"},
               "StopSignal": "SIGTERM"},
    "HostConfig": {"Memory": 134217728, "NanoCpus": 500000000, "CpuShares": 0, "PidsLimit": 0,
                   "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}, "NetworkMode": "bridge",
                   "PortBindings": [{"HostIp": "", "HostPort": 8080, "ContainerPort": 80, "Protocol": "tcp"}],
                   "Binds": ["data:/data"], "CapAdd": [], "CapDrop": ["NET_RAW"], "Privileged": False,
                   "SecurityOpt": [], "ReadonlyRootfs": False, "AutoRemove": False},
    "Security": {"seccomp": "default", "no_new_privileges": False},
    "Mounts": [{"Type": "volume", "Name": "data", "Source": "/var/lib/portside/volumes/data/_data",
                "Destination": "/data", "RW": True}],
}
OLD_STATE = {"Status": "running", "ExitCode": 0, "RestartCount": 1, "MonitorPid": 4242, "MonitorStart": "777",
             "Pid": 4321, "OOMKilled": False, "Error": "", "StartedAt": "2026-11-01T10:00:01.000000000Z",
             "Network": {"IPAddress": "10.88.0.5", "Gateway": "10.88.0.1", "IPPrefixLen": 16,
                         "MacAddress": "02:42:0a:58:00:05",
                         "Ports": [{"HostIp": "", "HostPort": 8080, "ContainerPort": 80, "Protocol": "tcp"}]}}


def test_records_written_before_the_types_load_and_keep_their_shape(tmp_path) -> None:
    records = Records(tmp_path)
    paths = records.paths("d" * 64)
    paths.dir.mkdir(parents=True)
    paths.record.write_text(json.dumps(OLD_RECORD))
    paths.state.write_text(json.dumps({"Status": "created", "ExitCode": 0, "RestartCount": 0}))
    record = records.record("d" * 64)
    assert record.host.restart.name == "on-failure" and record.host.restart.max_retries == 3
    assert record.host.port_bindings == (PortBinding("", 8080, 80, "tcp"),) and record.host.cap_drop == ("NET_RAW",)
    assert record.to_json() == OLD_RECORD  # the disk format is unchanged: older engines read what we write
    assert records.state("d" * 64) == ContainerState()
    paths.state.write_text(json.dumps(OLD_STATE))
    state = records.update_state("d" * 64, lambda s: s.replace(restart_count=s.restart_count + 1))
    assert (state.monitor_pid, state.network.ip, state.network.ports[0].host_port) == (4242, "10.88.0.5", 8080)
    assert json.loads(paths.state.read_text()) == {**OLD_STATE, "RestartCount": 2, "FinishedAt": "0001-01-01T00:00:00Z"}


def test_inspect_renders_docker_json_from_the_typed_record() -> None:
    info = inspect(ContainerRecord.from_json(OLD_RECORD), ContainerState.from_json(OLD_STATE))
    assert info["Name"] == "/web"
    old = OLD_RECORD["Config"]
    assert info["Config"] == {
        "Hostname": old["Hostname"], "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
        "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": old["Env"],
        "Cmd": old["Cmd"], "Image": "busybox", "Volumes": None, "WorkingDir": "", "Entrypoint": None,
        "OnBuild": None, "Labels": {"a": "b"}}  # dockerd's order and fields; StopSignal only when named
    host = info["HostConfig"]
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}  # dockerd's map, not ours
    assert (host["Binds"], host["CapDrop"], host["CapAdd"], host["SecurityOpt"]) == (["data:/data"], ["NET_RAW"],
                                                                                     None, None)
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (134217728, 500000000, None)
    assert host["LogConfig"] == {"Type": "json-file", "Config": {}}
    assert info["Mounts"] == [{"Type": "volume", "Name": "data", "Source": "/var/lib/portside/volumes/data/_data",
                               "Destination": "/data", "Driver": "local", "Mode": "z", "RW": True,
                               "Propagation": ""}]
    assert info["State"] == {"Status": "running", "Running": True, "Paused": False, "Restarting": False,
                             "OOMKilled": False, "Dead": False, "Pid": 4321, "ExitCode": 0, "Error": "",
                             "StartedAt": "2026-11-01T10:00:01.000000000Z", "FinishedAt": "0001-01-01T00:00:00Z"}
    address = {"IPAddress": "10.88.0.5", "Gateway": "10.88.0.1", "IPPrefixLen": 16, "MacAddress": "02:42:0a:58:00:05"}
    settings = info["NetworkSettings"]
    assert {k: settings[k] for k in address} == address
    assert settings["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}
    assert settings["Networks"] == {"bridge": {
        "IPAMConfig": None, "Links": None, "Aliases": None, "NetworkID": "", "EndpointID": "", **address,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DriverOpts": None,
        "DNSNames": None}}
    stopped = inspect(ContainerRecord.from_json(OLD_RECORD), ContainerState("exited", exit_code=137))
    assert stopped["State"]["Pid"] == 0 and stopped["NetworkSettings"]["Ports"] == {}
    paused = inspect(ContainerRecord.from_json(OLD_RECORD), ContainerState.from_json({**OLD_STATE,
                                                                                      "Status": "paused"}))
    assert (paused["State"]["Running"], paused["State"]["Paused"], paused["State"]["Pid"]) == (True, True, 4321)


def test_inspect_has_every_field_dockerd_gives() -> None:
    """The top-level, HostConfig and NetworkSettings field sets of dockerd 20.10's inspect of a created
    container (DNSNames: API 1.44's)."""
    info = inspect(ContainerRecord.from_json(OLD_RECORD), ContainerState())
    assert list(info) == ["Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath",
                          "HostsPath", "LogPath", "Name", "RestartCount", "Driver", "Platform", "MountLabel",
                          "ProcessLabel", "AppArmorProfile", "ExecIDs", "HostConfig", "GraphDriver", "Mounts",
                          "Config", "NetworkSettings"]
    assert set(info["HostConfig"]) == set(DOCKERD_HOST_CONFIG)
    assert set(info["NetworkSettings"]) == {
        "Bridge", "SandboxID", "HairpinMode", "LinkLocalIPv6Address", "LinkLocalIPv6PrefixLen", "Ports",
        "SandboxKey", "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID", "Gateway",
        "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPAddress", "IPPrefixLen", "IPv6Gateway", "MacAddress",
        "Networks"}


DOCKERD_HOST_CONFIG = (
    "Binds", "ContainerIDFile", "LogConfig", "NetworkMode", "PortBindings", "RestartPolicy", "AutoRemove",
    "VolumeDriver", "VolumesFrom", "CapAdd", "CapDrop", "CgroupnsMode", "Dns", "DnsOptions", "DnsSearch",
    "ExtraHosts", "GroupAdd", "IpcMode", "Cgroup", "Links", "OomScoreAdj", "PidMode", "Privileged",
    "PublishAllPorts", "ReadonlyRootfs", "SecurityOpt", "UTSMode", "UsernsMode", "ShmSize", "Runtime",
    "ConsoleSize", "Isolation", "CpuShares", "Memory", "NanoCpus", "CgroupParent", "BlkioWeight",
    "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps",
    "CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "Devices",
    "DeviceCgroupRules", "DeviceRequests", "KernelMemory", "KernelMemoryTCP", "MemoryReservation", "MemorySwap",
    "MemorySwappiness", "OomKillDisable", "PidsLimit", "Ulimits", "CpuCount", "CpuPercent", "IOMaximumIOps",
    "IOMaximumBandwidth", "MaskedPaths", "ReadonlyPaths")


def test_a_replaced_file_is_read_whole_with_no_temporary_left(tmp_path) -> None:
    """Over an existing file the write swaps the two names (no rename(2) over it, whose ext4 write-back would
    wait on the disk) and removes the old one; a reader holding the old file still reads it whole."""
    from portside.runtime import libc

    path = tmp_path / "state.json"
    write_atomic(path, {"Status": "created"})  # a new file: a plain rename
    with open(path, "rb") as held:
        write_atomic(path, {"Status": "running", "Pid": 42})
        assert json.loads(held.read()) == {"Status": "created"}
    assert json.loads(path.read_text()) == {"Status": "running", "Pid": 42}
    write_atomic(path, {"Status": "exited"}, durable=False)
    assert json.loads(path.read_text()) == {"Status": "exited"} and os.listdir(tmp_path) == ["state.json"]
    (tmp_path / "other").write_text("other")
    assert libc.exchange(str(tmp_path / "other"), str(path))  # the kernel and filesystem here swap names
    assert path.read_text() == "other" and json.loads((tmp_path / "other").read_text()) == {"Status": "exited"}
    (tmp_path / "other").unlink()
    assert libc.exchange(str(tmp_path / "missing"), str(path)) is False  # nothing to swap: nothing changes
    assert libc.exchange(str(path), str(tmp_path / "missing")) is False and os.listdir(tmp_path) == ["state.json"]


def test_networks_health_and_log_options_round_trip_in_dockers_shape() -> None:
    record = ContainerRecord.from_json({
        **OLD_RECORD,
        "Config": {**OLD_RECORD["Config"], "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 10**9}},
        "HostConfig": {**OLD_RECORD["HostConfig"], "NetworkMode": "front",
                       "LogConfig": {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}},
        "NetworkingConfig": {"EndpointsConfig": {
            "front": {"NetworkID": "f" * 64, "Aliases": ["www"], "IPAMConfig": None},
            "back": {"NetworkID": "b" * 64, "Aliases": [], "IPAMConfig": {"IPv4Address": "10.89.1.9"}}}}})
    assert record.host.user_network and [e.network for e in record.networks] == ["front", "back"]
    assert record.endpoint("b" * 64).ipv4 == "10.89.1.9" and record.config.healthcheck.argv == ["/bin/sh", "-c", "true"]
    assert ContainerRecord.from_json(record.to_json()) == record
    state = ContainerState.from_json({**OLD_STATE, "Endpoints": [
        {"Network": "front", "NetworkID": "f" * 64, "IPAddress": "10.89.0.2", "Gateway": "10.89.0.1",
         "IPPrefixLen": 24, "MacAddress": "02:50:0a:59:00:02", "Aliases": ["www"], "DNSNames": ["web", "www"],
         "Interface": "eth0"}],
        "Health": {"Status": "healthy", "FailingStreak": 0, "Log": [
            {"Start": "s", "End": "e", "ExitCode": 0, "Output": "ok"}]}})
    assert ContainerState.from_json(state.to_json()) == state
    info = inspect(record, state)
    assert info["State"]["Health"]["Status"] == "healthy"
    assert info["NetworkSettings"]["IPAddress"] == ""  # docker's: the default bridge's alone
    assert info["NetworkSettings"]["Networks"]["front"]["DNSNames"] == ["web", "www"]
    assert info["NetworkSettings"]["Networks"]["back"]["IPAddress"] == ""  # configured, not attached yet


def test_threads_of_one_process_may_write_the_same_file_at_once(tmp_path) -> None:
    """As the Docker API's threads do with the first copy of the seccomp profile cache: every write lands whole,
    none fails for another's temporary file."""
    from portside.engine.records import write_atomic

    path, failures = tmp_path / "shared.json", []

    def writer(n: int) -> None:
        try:
            for i in range(200):
                write_atomic(path, {"writer": n, "i": i}, durable=False)
        except OSError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert json.loads(path.read_text())["i"] == 199
    assert [p.name for p in tmp_path.iterdir()] == ["shared.json"]
