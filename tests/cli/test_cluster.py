"""``portside up`` / ``portside down``: detach, stop, resume, one server per data directory, clear errors."""

import json
import socket
import subprocess
import sys
import urllib.request

import pytest
from support.cluster import Cluster
from support.net import free_port
from support.wait import eventually

from portside.cli.up import alive


def portside(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "portside", *args], capture_output=True, text=True, timeout=timeout)


def test_detached_up_then_down_then_resume(tmp_path):
    data, port = tmp_path / "data", free_port()
    up = portside("up", "-d", "--data-dir", str(data), "--port", str(port))
    try:
        assert up.returncode == 0, up.stderr
        assert up.stdout == (f"portside: API ready at https://127.0.0.1:{port} (kubeconfig: {data}/kubeconfig.yaml)\n"
                             f"portside: to join a node: portside agent --server https://127.0.0.1:{port} --token "
                             f"\"$(cat {data}/node-token)\"\n")
        pid = int((data / "portside.pid").read_text())
        c = Cluster(data, port)
        c.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                                        "metadata": {"name": "kept"}, "data": {"k": "v"}}))
        c.kubectl("apply", "-f", "examples/seed/service.yaml")
        ip = c.kubectl("get", "svc", "my-app", "-o", "jsonpath={.spec.clusterIP}").stdout
        again = portside("up", "--data-dir", str(data), "--port", str(free_port()))
        assert again.returncode == 1 and f"another portside up is running for {data} (pid {pid})" in again.stderr
    finally:
        down = portside("down", "--data-dir", str(data))
    assert down.returncode == 0 and f"stopped (pid {pid})" in down.stdout
    assert not (data / "portside.pid").exists() and not alive(pid)
    resumed = Cluster(data).start()
    try:
        got = json.loads(resumed.kubectl("get", "configmap", "kept", "-o", "json").stdout)
        assert got["data"] == {"k": "v"}
        taken = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "other"},
                 "spec": {"clusterIP": ip, "ports": [{"port": 80}]}}
        refused = resumed.kubectl("apply", "-f", "-", input=json.dumps(taken), check=False)
        assert refused.returncode != 0 and "provided IP is already allocated" in refused.stderr
    finally:
        assert resumed.stop() == 0


def test_down_without_a_server_says_so(tmp_path):
    proc = portside("down", "--data-dir", str(tmp_path))
    assert proc.returncode == 1 and f"no portside up is running for {tmp_path}" in proc.stderr


def test_down_purge_without_a_cluster_touches_nothing(tmp_path):
    """Idempotent and careful: no cluster, no engine state, and a directory no ``up`` used is not deleted."""
    mine, root = tmp_path / "mine", tmp_path / "engine"
    mine.mkdir()
    (mine / "keep").write_text("x")
    proc = portside("--root", str(root), "down", "--purge", "--data-dir", str(mine))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"portside: left {mine} as it is: no portside up used it (no portside.lock)\n"
    assert (mine / "keep").exists() and not root.exists()
    gone = portside("--root", str(root), "down", "--purge", "--data-dir", str(tmp_path / "gone"))
    assert gone.returncode == 0 and gone.stdout == \
        f"portside: nothing of {tmp_path / 'gone'} left on this node (engine root {root})\n"
    assert "--purge" in portside("down", "--help").stdout


def test_bad_port_flag_is_named(tmp_path):
    proc = portside("up", "--data-dir", str(tmp_path / "d"), "--port", "70000")
    assert proc.returncode == 2 and "--port: expected a port number 1-65535, got '70000'" in proc.stderr
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("flag, value, said", [
    ("--horizontal-pod-autoscaler-sync-period", "often", "expected seconds or a duration such as 15s or 5m, got 'often'"),
    ("--horizontal-pod-autoscaler-sync-period", "0s", "--horizontal-pod-autoscaler-sync-period: expected more than 0"),
    ("--horizontal-pod-autoscaler-downscale-stabilization", "5 m", "got '5 m'"),
    ("--horizontal-pod-autoscaler-tolerance", "-0.1", "--horizontal-pod-autoscaler-tolerance: expected a "
                                                      "non-negative number, got '-0.1'"),
])
def test_bad_autoscaler_flags_are_named(tmp_path, flag, value, said):
    proc = portside("up", "--data-dir", str(tmp_path / "d"), flag, value)
    assert proc.returncode == 2 and said in proc.stderr, proc.stderr
    assert not (tmp_path / "d").exists()


def test_unknown_component_to_disable_is_named(tmp_path):
    proc = portside("up", "--data-dir", str(tmp_path / "d"), "--disable", "proxy,kubelet")
    assert proc.returncode == 2 and "--disable: unknown component 'kubelet' (expected one of " in proc.stderr
    assert "workload-controllers" in proc.stderr and not (tmp_path / "d").exists()


def test_disabled_components_do_not_run(tmp_path):
    c = Cluster(tmp_path / "d", extra=("--disable", "workload-controllers")).start()
    try:
        deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {
            "replicas": 1, "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}
        c.kubectl("create", "-f", "-", input=json.dumps(deploy))
        with_controllers = Cluster(tmp_path / "e").start()
        try:
            with_controllers.kubectl("create", "-f", "-", input=json.dumps(deploy))
            eventually(lambda: with_controllers.kubectl("get", "rs", "-o", "name").stdout.strip(), what="a ReplicaSet")
        finally:
            with_controllers.stop()
        assert c.kubectl("get", "rs", "-o", "name").stdout.strip() == ""
    finally:
        c.stop()


def test_bad_store_and_unusable_data_dir_are_named(tmp_path):
    proc = portside("up", "--data-dir", str(tmp_path / "d"), "--store", "zk://x")
    assert proc.returncode == 2 and "--store: unknown scheme 'zk'" in proc.stderr and not (tmp_path / "d").exists()
    (tmp_path / "file").write_text("")
    proc = portside("up", "--data-dir", str(tmp_path / "file" / "d"))
    assert proc.returncode == 1 and f"cannot use data directory {tmp_path}/file/d: Not a directory" in proc.stderr


def test_port_in_use_fails_cleanly(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        proc = portside("up", "--data-dir", str(tmp_path / "d"), "--port", str(port))
    assert proc.returncode == 1 and "address already in use" in proc.stderr
    assert not (tmp_path / "d" / "portside.pid").exists()


def test_insecure_http_on_loopback(tmp_path):
    c = Cluster(tmp_path / "data", extra=("--insecure-http",)).start()
    try:
        assert c.ready_line.startswith(f"portside: API ready at http://127.0.0.1:{c.port} ")
        with urllib.request.urlopen(f"http://127.0.0.1:{c.port}/healthz") as resp:
            assert resp.read() == b"ok"
        assert "default" in c.kubectl("get", "ns").stdout
    finally:
        c.stop()
    refused = portside("up", "--data-dir", str(tmp_path / "x"), "--insecure-http", "--address", "0.0.0.0")
    assert refused.returncode == 1 and "loopback only" in refused.stderr


def test_running_pid_while_up_holds_its_lock_without_a_pid_file(tmp_path):
    """An ``up`` writes its pid file after taking the lock and removes it before letting go: ``down`` polling in
    between must read no pid, not fail on the missing file."""
    import fcntl

    from portside.cli import up as up_module

    (tmp_path / up_module.LOCK_FILE).touch()
    with open(tmp_path / up_module.LOCK_FILE) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert up_module.running_pid(str(tmp_path)) is None
        (tmp_path / up_module.PID_FILE).write_text("4242\n")
        assert up_module.running_pid(str(tmp_path)) == 4242
