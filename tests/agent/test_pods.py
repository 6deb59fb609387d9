"""Pods on real runc containers through a real ``portside up`` and stock kubectl: restarts, probes, OOM, logs,
exec, init containers and volumes, graceful deletion, adoption across an agent restart."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time

from support.wait import eventually

from tests.agent.conftest import container_status, ready


def pod(name: str, script: str, **container) -> dict:
    spec = container.pop("spec", {})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"terminationGracePeriodSeconds": 2, **spec,
                     "containers": [{"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                     "command": ["sh", "-c", script], **container}]}}


def exec_probe(path: str, **timing) -> dict:
    return {"exec": {"command": ["test", "-e", path]}, "periodSeconds": 1, "failureThreshold": 1,
            "timeoutSeconds": 5, **timing}


def event_reasons(node, pod_name: str) -> list[str]:
    got = node.kubectl("get", "events", "--field-selector", f"involvedObject.name={pod_name}", "-o", "json")
    return [e["reason"] for e in json.loads(got.stdout)["items"]]


def engine_pid(node, status: dict) -> int:
    cid = status["containerID"].removeprefix("portside://")
    return json.loads(node.engine("inspect", cid).stdout)[0]["State"]["Pid"]


def test_a_killed_container_restarts_within_two_seconds(node):
    node.apply(pod("crash", "sleep 3600"))
    p = node.wait_pod("crash", ready, what="Ready")
    os.kill(engine_pid(node, container_status(p)), signal.SIGKILL)
    killed = time.monotonic()
    p = node.wait_pod("crash", lambda p: container_status(p)["restartCount"] == 1 and ready(p), 5, "restart")
    assert time.monotonic() - killed < 2.0
    last = container_status(p)["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (137, "Error")


def test_liveness_failure_restarts_and_readiness_flips_ready(node):
    node.apply(pod("probed", "touch /tmp/alive /tmp/ready; sleep 3600",
                   livenessProbe=exec_probe("/tmp/alive"), readinessProbe=exec_probe("/tmp/ready")))
    node.wait_pod("probed", ready, what="Ready")
    node.kubectl("exec", "probed", "--", "rm", "/tmp/ready")
    node.wait_pod("probed", lambda p: not ready(p), 3, "not Ready after readiness failure")
    node.kubectl("exec", "probed", "--", "touch", "/tmp/ready")
    node.wait_pod("probed", ready, 3, "Ready again")
    node.kubectl("exec", "probed", "--", "rm", "/tmp/alive")
    p = node.wait_pod("probed", lambda p: container_status(p)["restartCount"] == 1, 5, "liveness restart")
    assert container_status(p)["lastState"]["terminated"]["exitCode"] in (137, 143)
    eventually(lambda: {"Unhealthy", "Killing"} <= set(event_reasons(node, "probed")), 5, 0.1, "probe events")


def test_oom_shows_oomkilled(node):
    node.apply(pod("hog", "head -c 200m /dev/zero | tail", resources={"limits": {"memory": "32Mi"}}))
    p = node.wait_pod("hog", lambda p: (container_status(p).get("lastState") or {}).get("terminated"), 10,
                      "an ended run")
    assert container_status(p)["lastState"]["terminated"]["reason"] == "OOMKilled"


def test_crash_loop_back_off_and_never_policy(node):
    node.apply(pod("loop", "echo once; exit 3"))
    p = node.wait_pod("loop", lambda p: container_status(p)["state"].get("waiting", {}).get("reason") ==
                      "CrashLoopBackOff", 10, "CrashLoopBackOff")
    assert container_status(p)["lastState"]["terminated"]["exitCode"] == 3
    reasons = eventually(lambda: {"Started", "BackOff"} <= (r := set(event_reasons(node, "loop"))) and r, 5, 0.1,
                       "Started and BackOff events")
    assert "Killing" not in reasons
    got = json.loads(node.kubectl("get", "events", "--field-selector", "involvedObject.name=loop", "-o",
                                  "json").stdout)["items"]
    back_off = [e for e in got if e["reason"] == "BackOff"]
    assert len(back_off) == 1  # a repeated Warning is one Event whose count grows, as kubectl describe shows it
    assert back_off[0]["involvedObject"]["fieldPath"] == "spec.containers{main}"
    assert back_off[0]["source"]["component"] == "kubelet" and back_off[0]["source"]["host"]
    node.apply(pod("once", "exit 4", spec={"restartPolicy": "Never"}))
    p = node.wait_pod("once", lambda p: p["status"].get("phase") == "Failed", 10, "Failed")
    assert container_status(p)["state"]["terminated"]["exitCode"] == 4 and container_status(p)["restartCount"] == 0


def test_logs_follow_previous_and_container_choice(node):
    manifest = pod("talk", "echo run $(cat /data/runs 2>/dev/null); echo x >> /data/runs; sleep 1; "
                   "echo done; exit 1", volumeMounts=[{"name": "data", "mountPath": "/data"}])
    manifest["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    manifest["spec"]["containers"].append({"name": "side", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                           "command": ["sh", "-c", "echo side; sleep 3600"]})
    node.apply(manifest)
    node.wait_pod("talk", lambda p: container_status(p, "main")["restartCount"] >= 1, 10, "a restart")
    assert node.kubectl("logs", "talk", "-c", "side").stdout == "side\n"
    previous = node.kubectl("logs", "talk", "-c", "main", "--previous").stdout
    assert previous.startswith("run") and previous.endswith("done\n")
    follow = node.kubectl("logs", "-f", "talk", "-c", "main", timeout=15).stdout
    assert follow.startswith("run x") and follow.endswith("done\n")  # the emptyDir outlived the first run
    assert "side" in node.kubectl("logs", "talk", "-c", "side", "--timestamps").stdout


def test_exec_streams_and_exit_code(node):
    node.apply(pod("shell", "sleep 3600"))
    node.wait_pod("shell", ready, what="Ready")
    out = node.kubectl("exec", "shell", "--", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert (out.returncode, out.stdout, out.stderr.splitlines()[0]) == (3, "out\n", "err")
    piped = node.kubectl("exec", "-i", "shell", "--", "tr", "a-z", "A-Z", input="hello\n")
    assert piped.stdout == "HELLO\n"


def test_init_containers_env_and_config_volumes(node):
    node.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf"},
                "data": {"color": "blue", "app.ini": "[app]\n"}})
    node.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"pw": "s3"}})
    manifest = pod("init", "cat /work/step; ls /conf; cat /secret/pw; echo; echo $COLOR $POD_IP; sleep 3600",
                   env=[{"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "conf", "key": "color"}}},
                        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                   volumeMounts=[{"name": "work", "mountPath": "/work"}, {"name": "conf", "mountPath": "/conf"},
                                 {"name": "creds", "mountPath": "/secret", "readOnly": True}])
    manifest["spec"]["initContainers"] = [
        {"name": f"step{i}", "image": "busybox", "imagePullPolicy": "IfNotPresent",
         "command": ["sh", "-c", f"echo step{i} >> /work/step"], "volumeMounts": [{"name": "work",
                                                                                  "mountPath": "/work"}]}
        for i in (1, 2)]
    manifest["spec"]["volumes"] = [{"name": "work", "emptyDir": {}}, {"name": "conf", "configMap": {"name": "conf"}},
                                   {"name": "creds", "secret": {"secretName": "creds"}}]
    node.apply(manifest)
    p = node.wait_pod("init", ready, what="Ready")
    logs = eventually(lambda: (out := node.kubectl("logs", "init").stdout).count("\n") >= 5 and out, 5)
    assert logs == f"step1\nstep2\napp.ini\ncolor\ns3\nblue {p['status']['podIP']}\n"
    assert [s["state"]["terminated"]["reason"] for s in p["status"]["initContainerStatuses"]] == ["Completed"] * 2


def test_missing_config_map_waits_with_a_reason(node):
    node.apply(pod("lacking", "sleep 1", env=[{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent",
                                                                                                  "key": "k"}}}]))
    p = node.wait_pod("lacking", lambda p: container_status(p)["state"].get("waiting", {}).get("reason") ==
                      "CreateContainerConfigError", 5, "CreateContainerConfigError")
    assert 'configmap "absent" not found' in container_status(p)["state"]["waiting"]["message"]
    node.apply(pod("noimage", "true", image="nothing-here:1"))
    p = node.wait_pod("noimage", lambda p: container_status(p)["state"].get("waiting", {}).get("reason") in
                      ("ErrImagePull", "ImagePullBackOff"), 5, "ErrImagePull")


def test_delete_runs_pre_stop_then_stops_within_grace_and_cleans_up(node):
    manifest = pod("graceful", "trap 'echo term >> /data/log; exit 0' TERM; while true; do sleep 0.1; done",
                   lifecycle={"preStop": {"exec": {"command": ["sh", "-c", "echo prestop >> /data/log"]}}},
                   volumeMounts=[{"name": "data", "mountPath": "/data"}])
    host_dir = node.root.parent / "host"
    manifest["spec"]["volumes"] = [{"name": "data", "hostPath": {"path": str(host_dir),
                                                                 "type": "DirectoryOrCreate"}}]
    node.apply(manifest)
    node.wait_pod("graceful", ready, what="Ready")
    started = time.monotonic()
    node.kubectl("delete", "pod", "graceful", "--wait=true", timeout=20)
    assert time.monotonic() - started < 5
    assert (host_dir / "log").read_text() == "prestop\nterm\n"
    assert node.engine("ps", "-aq").stdout.strip() == ""


def test_restarting_the_agent_adopts_running_containers(node):
    served = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -v -p 8080 -h /www"
    node.apply(pod("steady", served, readinessProbe={"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}))
    before = container_status(node.wait_pod("steady", ready, what="Ready"))
    node.restart()
    p = node.wait_pod("steady", ready, what="Ready after the restart")
    after = container_status(p)
    assert (after["containerID"], after["restartCount"], after["state"]) == (
        before["containerID"], 0, before["state"])
    # the adopted run's probes reach the pod's address (httpd logs each request): it stays Ready for a reason
    probed = len(node.kubectl("logs", "steady").stdout.splitlines())
    eventually(lambda: len(node.kubectl("logs", "steady").stdout.splitlines()) >= probed + 2, 10, 0.5,
               "probes of the adopted run reaching the pod")
    os.kill(engine_pid(node, after), signal.SIGKILL)  # the adopted run is watched like any other
    node.wait_pod("steady", lambda p: container_status(p)["restartCount"] == 1, 5, "restart of an adopted run")


def test_startup_probe_holds_readiness_until_it_passes(node):
    node.apply(pod("slow", "sleep 1; touch /tmp/started; sleep 3600",
                   startupProbe=exec_probe("/tmp/started", failureThreshold=30)))
    p = node.wait_pod("slow", lambda p: container_status(p)["state"].get("running"), what="running")
    assert not container_status(p)["started"] and not ready(p)
    p = node.wait_pod("slow", ready, 10, "Ready once started")
    assert container_status(p)["started"] and container_status(p)["restartCount"] == 0



def test_exec_it_as_kubectl_sends_it_from_a_terminal(node):
    node.apply(pod("tty", "sleep 3600"))
    node.wait_pod("tty", ready, what="Ready")
    argv = node.cluster.kubectl_argv() + ["exec", "-it", "tty", "--", "sh", "-c", "echo out; echo err >&2; exit 2"]
    # kubectl asks for tty=true only when its own stdin is a terminal: script(1) gives it one
    got = subprocess.run(["script", "-qec", shlex.join(argv), "/dev/null"], capture_output=True, text=True,
                         timeout=30, stdin=subprocess.DEVNULL)
    assert got.returncode == 2 and "out" in got.stdout and "err" in got.stdout, got.stdout + got.stderr


def test_sigkill_after_the_grace_period_when_sigterm_is_ignored(node):
    node.apply(pod("stubborn", "trap '' TERM; while true; do sleep 0.1; done", spec={
        "terminationGracePeriodSeconds": 1}))
    node.wait_pod("stubborn", ready, what="Ready")
    started = time.monotonic()
    node.kubectl("delete", "pod", "stubborn", "--wait=true", timeout=20)
    assert 1 <= time.monotonic() - started < 4
    assert node.engine("ps", "-aq").stdout.strip() == ""


def test_a_job_runs_to_completion_on_real_pods(node):
    node.apply({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
                "spec": {"completions": 2, "parallelism": 2, "backoffLimit": 0, "template": {"spec": {
                    "restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox",
                                                              "imagePullPolicy": "IfNotPresent",
                                                              "command": ["sh", "-c", "echo did it"]}]}}}})
    node.kubectl("wait", "--for=condition=complete", "job/once", "--timeout=30s", timeout=40)
    pods = node.pods("job-name=once")
    assert [p["status"]["phase"] for p in pods] == ["Succeeded", "Succeeded"]
    assert node.kubectl("logs", pods[0]["metadata"]["name"]).stdout == "did it\n"


def test_log_tail_and_limit(node):
    node.apply(pod("lines", "seq 1 5; sleep 3600"))
    node.wait_pod("lines", ready, what="Ready")
    eventually(lambda: node.kubectl("logs", "lines").stdout == "1\n2\n3\n4\n5\n", 5, 0.1, "five lines")
    assert node.kubectl("logs", "lines", "--tail=2").stdout == "4\n5\n"
    assert node.kubectl("logs", "lines", "--limit-bytes=3").stdout == "1\n2"
    bad = node.kubectl("logs", "nothere", check=False)
    assert bad.returncode != 0 and "not found" in bad.stderr


def test_kubectl_exec_it_gets_a_terminal_that_follows_its_size(node):
    from terminal import resized_shell

    node.apply(pod("term", "sleep 3600"))
    node.wait_pod("term", ready, what="Ready")
    # on the resize, kubectl sends the new size; the agent sets it and tells runc
    argv = node.cluster.kubectl_argv() + ["exec", "-it", "term", "--", "sh"]
    shown, code = resized_shell(argv, (30, 90), (44, 120), 5)
    assert "44 120" in shown and "/dev/pts/0" in shown and "30 90" in shown
    assert code == 5
