"""The issue's kubectl acceptance list, driven through the stock kubectl against a real ``portside up``."""

import json
import subprocess
import threading

import yaml
from support.wait import eventually

SEED = "examples/seed/"


def get_json(cluster, *args):
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def test_seed_apply_get_describe_reapply_scale_label_annotate(cluster):
    ns = cluster.namespace("seed")
    out = cluster.kubectl("apply", "-n", ns, "-f", SEED).stdout
    assert "deployment.apps/my-app created" in out and "service/my-app created" in out
    table = cluster.kubectl("get", "-n", ns, "deployments").stdout
    assert table.split()[:5] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] and "my-app" in table
    svc = cluster.kubectl("get", "-n", ns, "svc", "my-app").stdout
    assert "LoadBalancer" in svc and "80:3" in svc
    dep = yaml.safe_load(cluster.kubectl("get", "-n", ns, "deploy", "my-app", "-o", "yaml").stdout)
    assert dep["spec"]["replicas"] == 3 and dep["metadata"]["generation"] == 1
    limits = dep["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"cpu": "100m", "memory": "128Mi"}
    assert dep["spec"]["strategy"]["type"] == "RollingUpdate"
    assert "my-app" in cluster.kubectl("describe", "-n", ns, "deployment", "my-app").stdout

    changed = open(SEED + "deployment.yaml").read().replace("memory: 128Mi", "memory: 256Mi")
    assert "configured" in cluster.kubectl("apply", "-n", ns, "-f", "-", input=changed).stdout
    dep2 = get_json(cluster, "-n", ns, "deploy", "my-app")
    assert dep2["metadata"]["generation"] == 2
    assert dep2["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "256Mi"
    assert dep2["spec"]["replicas"] == 3 and dep2["metadata"]["uid"] == dep["metadata"]["uid"]
    assert "unchanged" in cluster.kubectl("apply", "-n", ns, "-f", "-", input=changed).stdout

    cluster.kubectl("scale", "-n", ns, "deployment/my-app", "--replicas=5")
    cluster.kubectl("label", "-n", ns, "deployment", "my-app", "tier=web")
    cluster.kubectl("annotate", "-n", ns, "deployment", "my-app", "owner=team-a")
    dep3 = get_json(cluster, "-n", ns, "deploy", "my-app")
    assert dep3["spec"]["replicas"] == 5 and dep3["metadata"]["labels"]["tier"] == "web"
    assert dep3["metadata"]["annotations"]["owner"] == "team-a"
    assert dep3["metadata"]["generation"] == 3
    assert get_json(cluster, "-n", ns, "deploy", "-l", "tier=web")["items"][0]["metadata"]["name"] == "my-app"


def _owned(cluster, ns):
    """The seed Deployment, with the ReplicaSet and three Pods its controllers create and own."""
    cluster.kubectl("apply", "-n", ns, "-f", SEED + "deployment.yaml")
    eventually(lambda: len(_names(cluster, ns, "rs")) == 1 and len(_names(cluster, ns, "pods")) == 3,
             what="the deployment's replicaset and pods")
    return _names(cluster, ns, "rs")[0], _names(cluster, ns, "pods")


def _names(cluster, ns, kind):
    return sorted(o["metadata"]["name"] for o in get_json(cluster, "-n", ns, kind)["items"])


def test_delete_cascades_in_background(cluster):
    ns = cluster.namespace("cascade-bg")
    _owned(cluster, ns)
    cluster.kubectl("delete", "-n", ns, "deployment", "my-app")
    eventually(lambda: not _names(cluster, ns, "rs") and not _names(cluster, ns, "pods"), what="dependents gone")


def test_delete_foreground_waits_for_dependents(cluster):
    ns = cluster.namespace("cascade-fg")
    _owned(cluster, ns)
    cluster.kubectl("delete", "-n", ns, "deployment", "my-app", "--cascade=foreground", "--timeout=20s")
    assert _names(cluster, ns, "pods") == [] and _names(cluster, ns, "rs") == []
    assert _names(cluster, ns, "deploy") == []


def test_delete_orphan_keeps_dependents_without_owner(cluster):
    ns = cluster.namespace("cascade-orphan")
    rs_name, pods = _owned(cluster, ns)
    cluster.kubectl("delete", "-n", ns, "deployment", "my-app", "--cascade=orphan")
    eventually(lambda: not _names(cluster, ns, "deploy"), what="deployment gone")
    rs = get_json(cluster, "-n", ns, "rs", rs_name)
    assert not rs["metadata"].get("ownerReferences")
    assert _names(cluster, ns, "pods") == pods


def test_invalid_manifest_names_the_field_and_stores_nothing(cluster):
    ns = cluster.namespace("invalid")
    bad = open(SEED + "deployment.yaml").read().replace("memory: 128Mi", "memory: 12x")
    proc = cluster.kubectl("apply", "-n", ns, "-f", "-", input=bad, check=False)
    assert proc.returncode != 0
    assert 'spec.template.spec.containers[0].resources.limits.memory: Invalid value: "12x"' in proc.stderr
    assert _names(cluster, ns, "deploy") == []


def test_get_pods_watch_sees_events(cluster):
    ns = cluster.namespace("watching")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "watched"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    eventually(lambda: cluster.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(pod), check=False)
               .returncode == 0, what="pod created")
    watcher = subprocess.Popen(cluster.kubectl_argv() + ["get", "pods", "-n", ns, "-w", "--output-watch-events"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(20, watcher.kill)  # a watch that never reports ends the test, not the suite
    timer.start()
    try:
        lines = [watcher.stdout.readline()]  # kubectl has listed: it watches from that revision, missing nothing
        cluster.kubectl("label", "-n", ns, "pod", "watched", "seen=yes")
        cluster.kubectl("delete", "-n", ns, "pod", "watched")
        while not any(line.startswith("DELETED") for line in lines) and watcher.poll() is None:
            lines.append(watcher.stdout.readline())
    finally:
        timer.cancel()
        watcher.kill()
        watcher.wait()
    events = [line.split()[0] for line in lines if "watched" in line]
    assert events[0] == "ADDED" and "MODIFIED" in events and events[-1] == "DELETED"


def test_read_only_kubeconfig_reads_but_cannot_write(cluster):
    readonly = str(cluster.data_dir / "kubeconfig-readonly.yaml")
    assert "default" in cluster.kubectl("get", "namespaces", kubeconfig=readonly).stdout
    proc = cluster.kubectl("create", "namespace", "nope", kubeconfig=readonly, check=False)
    assert proc.returncode != 0 and "Forbidden" in proc.stderr


def test_api_resources_and_explain_work(cluster):
    resources = cluster.kubectl("api-resources").stdout
    for name in ("deployments", "replicasets", "jobs", "priorityclasses", "leases", "configmaps"):
        assert name in resources
    assert "replicas" in cluster.kubectl("explain", "deployment.spec").stdout


def test_kubectl_create_generators_send_protobuf_and_are_understood(cluster):
    cluster.kubectl("create", "namespace", "generated")
    ns = ("-n", "generated")
    cluster.kubectl("create", "configmap", "c", "--from-literal=a=b", *ns)
    cluster.kubectl("create", "secret", "generic", "s", "--from-literal=x=y", *ns)
    cluster.kubectl("create", "deployment", "web", "--image=my-app:latest", "--replicas=2", "--port=5000", *ns)
    cluster.kubectl("run", "solo", "--image=busybox", "--labels=a=b", "--env=K=V", *ns, "--", "sleep", "1")
    assert get_json(cluster, *ns, "cm", "c")["data"] == {"a": "b"}
    assert get_json(cluster, *ns, "secret", "s")["data"] == {"x": "eQ=="}
    dep = get_json(cluster, *ns, "deploy", "web")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert dep["spec"]["replicas"] == 2 and dep["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert container["image"] == "my-app:latest" and container["ports"] == [{"containerPort": 5000,
                                                                             "protocol": "TCP"}]
    solo = get_json(cluster, *ns, "pod", "solo")
    assert solo["metadata"]["labels"] == {"a": "b"} and solo["spec"]["containers"][0]["args"] == ["sleep", "1"]
    assert solo["spec"]["containers"][0]["env"] == [{"name": "K", "value": "V"}]


def test_server_side_apply_creates_then_updates_and_diff_sees_changes(cluster):
    ns = cluster.namespace("server-side")
    out = cluster.kubectl("apply", "--server-side", "-n", ns, "-f", SEED).stdout
    assert "deployment.apps/my-app serverside-applied" in out
    more = open(SEED + "deployment.yaml").read().replace("replicas: 3", "replicas: 4")
    diff = ("diff", "--server-side", "-n", ns, "-f", "-")
    assert cluster.kubectl(*diff, input=more, check=False).returncode == 1
    cluster.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=more)
    assert get_json(cluster, "-n", ns, "deploy", "my-app")["spec"]["replicas"] == 4
    assert cluster.kubectl(*diff, input=more, check=False).returncode == 0


def test_auth_can_i_answers_per_token(cluster):
    readonly = str(cluster.data_dir / "kubeconfig-readonly.yaml")
    assert cluster.kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    assert cluster.kubectl("auth", "can-i", "list", "pods", kubeconfig=readonly).stdout.strip() == "yes"
    denied = cluster.kubectl("auth", "can-i", "delete", "pods", kubeconfig=readonly, check=False)
    assert denied.returncode == 1 and denied.stdout.strip() == "no"  # RBAC gives no reason for a refusal


def test_unknown_fields_warn_or_refuse_by_field_validation(cluster):
    ns = cluster.namespace("unknown-fields")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}, "bogus": 1}
    warned = cluster.kubectl("apply", "-n", ns, "--validate=warn", "-f", "-", input=json.dumps(cm))
    assert 'Warning: unknown field "bogus"' in warned.stderr, warned.stderr
    assert get_json(cluster, "-n", ns, "configmap", "c")["data"] == {"a": "1"}
    cm["metadata"]["name"] = "d"
    refused = cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(cm), check=False)
    assert refused.returncode != 0 and 'unknown field "bogus"' in refused.stderr, refused.stderr
    assert cluster.kubectl("get", "-n", ns, "configmap", "d", check=False).returncode != 0
