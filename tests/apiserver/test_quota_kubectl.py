"""ResourceQuota and LimitRange on a real ``portside up`` (API server and the resource quota controller), through
stock kubectl and the official Python client: tables and ``describe``, Kubernetes' refusals word for word,
LimitRange defaults on created pods, usage given back when objects go, and racing creates at a quota's limit."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from support.cluster import only
from support.wait import eventually

UP_FLAGS = only("resourcequota-controller")


@pytest.fixture(scope="module")
def kube(cluster):
    api_client = config.new_client_from_config(config_file=cluster.kubeconfig)
    yield api_client
    api_client.close()


@pytest.fixture
def ns(cluster, request):
    return cluster.namespace(request.node.name.replace("_", "-")[:50].strip("-").lower())


def pod_yaml(name, requests=None, limits=None, **spec):
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"containers": [{"name": "c", "image": "busybox", "resources": resources}], **spec}})


def status_of(cluster, ns, name):
    return json.loads(cluster.kubectl("get", "quota", name, "-n", ns, "-o", "json").stdout).get("status") or {}


def counted(cluster, ns, name, **want):
    """Wait until the quota's status.used shows ``want`` (names with dots given as keyword-safe strings)."""
    want = {k.replace("__", "."): v for k, v in want.items()}

    def check():
        used = status_of(cluster, ns, name).get("used") or {}
        return all(used.get(k) == v for k, v in want.items()) and used
    return eventually(check, timeout=20, what=f"quota {name} to count {want}")


def refusal(cluster, ns, *args, input=None):
    proc = cluster.kubectl(*args, "-n", ns, input=input, check=False)
    assert proc.returncode != 0, proc.stdout
    return proc.stderr.strip()


def test_quota_table_describe_refusals_and_usage_given_back(cluster, ns):
    cluster.kubectl("create", "quota", "compute", "-n", ns,
                    "--hard=requests.cpu=2,limits.cpu=3,pods=3,requests.memory=1Gi")
    counted(cluster, ns, "compute", pods="0")
    header, row = cluster.kubectl("get", "quota", "-n", ns).stdout.splitlines()
    assert header.split() == ["NAME", "AGE", "REQUEST", "LIMIT"]
    assert "pods: 0/3, requests.cpu: 0/2, requests.memory: 0/1Gi" in row and row.endswith("limits.cpu: 0/3")
    for name in ("a", "b"):
        cluster.kubectl("apply", "-n", ns, "-f", "-",
                        input=pod_yaml(name, {"cpu": "900m", "memory": "100Mi"}, {"cpu": "1"}))
    over = refusal(cluster, ns, "apply", "-f", "-", input=pod_yaml("c", {"cpu": "500m", "memory": "1Mi"}, {"cpu": "1"}))
    assert over == ('Error from server (Forbidden): error when creating "STDIN": pods "c" is forbidden: exceeded '
                    'quota: compute, requested: requests.cpu=500m, used: requests.cpu=1800m, limited: requests.cpu=2')
    bare = refusal(cluster, ns, "run", "d", "--image=busybox")
    assert bare == ('Error from server (Forbidden): pods "d" is forbidden: failed quota: compute: must specify '
                    'limits.cpu for: d; requests.cpu for: d; requests.memory for: d')
    described = cluster.kubectl("describe", "quota", "compute", "-n", ns).stdout.splitlines()
    table = [line.split() for line in described[next(i for i, x in enumerate(described) if x.startswith("Resource")):]]
    assert table == [["Resource", "Used", "Hard"], ["--------", "----", "----"], ["limits.cpu", "2", "3"],
                     ["pods", "2", "3"], ["requests.cpu", "1800m", "2"], ["requests.memory", "200Mi", "1Gi"]]
    cluster.kubectl("delete", "pod", "a", "-n", ns, "--grace-period=0", "--force")
    counted(cluster, ns, "compute", pods="1", requests__cpu="900m", limits__cpu="1", requests__memory="100Mi")
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=pod_yaml("c", {"cpu": "500m", "memory": "1Mi"}, {"cpu": "1"}))


def test_object_counts_services_and_generic_counts(cluster, ns):
    cluster.kubectl("create", "deployment", "first", "-n", ns, "--image=busybox")
    cluster.kubectl("create", "quota", "objects", "-n", ns,
                    "--hard=count/deployments.apps=2,services=3,services.nodeports=2,configmaps=1,count/secrets=1")
    counted(cluster, ns, "objects", **{"count/deployments.apps": "1", "services": "0", "configmaps": "0"})
    cluster.kubectl("create", "deployment", "second", "-n", ns, "--image=busybox")
    third = refusal(cluster, ns, "create", "deployment", "third", "--image=busybox")
    assert third.endswith('deployments.apps "third" is forbidden: exceeded quota: objects, requested: '
                          'count/deployments.apps=1, used: count/deployments.apps=2, limited: count/deployments.apps=2')
    cluster.kubectl("delete", "deployment", "first", "-n", ns)
    counted(cluster, ns, "objects", **{"count/deployments.apps": "1"})  # the controller gave it back
    cluster.kubectl("create", "deployment", "third", "-n", ns, "--image=busybox")
    cluster.kubectl("create", "service", "nodeport", "two", "-n", ns, "--tcp=80:80", "--tcp=81:81")
    ports = refusal(cluster, ns, "create", "service", "nodeport", "one", "--tcp=80:80")
    assert ports.endswith('services "one" is forbidden: exceeded quota: objects, requested: services.nodeports=1, '
                          'used: services.nodeports=2, limited: services.nodeports=2')
    cluster.kubectl("create", "service", "clusterip", "plain", "-n", ns, "--tcp=80:80")
    cluster.kubectl("create", "configmap", "one", "-n", ns)
    assert "exceeded quota: objects, requested: configmaps=1" in refusal(cluster, ns, "create", "configmap", "two")
    cluster.kubectl("create", "secret", "generic", "one", "-n", ns)
    assert "requested: count/secrets=1" in refusal(cluster, ns, "create", "secret", "generic", "two")
    counted(cluster, ns, "objects", services="2", services__nodeports="2", configmaps="1", **{"count/secrets": "1"})


def test_scoped_quotas_count_only_the_pods_they_select(cluster, ns):
    cluster.kubectl("create", "quota", "best-effort", "-n", ns, "--hard=pods=1", "--scopes=BestEffort")
    counted(cluster, ns, "best-effort", pods="0")
    cluster.kubectl("run", "free", "-n", ns, "--image=busybox")
    assert "exceeded quota: best-effort" in refusal(cluster, ns, "run", "free2", "--image=busybox")
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=pod_yaml("paid", {"cpu": "10m"}))  # not BestEffort
    assert status_of(cluster, ns, "best-effort")["used"] == {"pods": "1"}


def test_priority_class_scope_selector(cluster, ns):
    cluster.kubectl("create", "priorityclass", f"{ns}-high", "--value=1000")
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "high"},
        "spec": {"hard": {"pods": "1"}, "scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In", "values": [f"{ns}-high"]}]}}}))
    counted(cluster, ns, "high", pods="0")
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=pod_yaml("first", priorityClassName=f"{ns}-high"))
    second = refusal(cluster, ns, "apply", "-f", "-", input=pod_yaml("second", priorityClassName=f"{ns}-high"))
    assert second.endswith('pods "second" is forbidden: exceeded quota: high, requested: pods=1, used: pods=1, '
                           'limited: pods=1')
    cluster.kubectl("run", "ordinary", "-n", ns, "--image=busybox")  # no class: another scope
    assert status_of(cluster, ns, "high")["used"] == {"pods": "1"}


def test_racing_creates_at_the_limit_cannot_all_pass(cluster, kube, ns):
    core = client.CoreV1Api(kube)
    core.create_namespaced_resource_quota(ns, {"apiVersion": "v1", "kind": "ResourceQuota",
                                               "metadata": {"name": "four"}, "spec": {"hard": {"pods": "4"}}})
    counted(cluster, ns, "four", pods="0")

    def create(i):
        try:
            core.create_namespaced_pod(ns, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}"},
                                            "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
            return 201
        except ApiException as exc:
            assert "exceeded quota: four" in json.loads(exc.body)["message"], exc.body
            return exc.status

    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(create, range(12)))
    assert sorted(codes) == [201] * 4 + [403] * 8
    assert len(core.list_namespaced_pod(ns).items) == 4
    assert core.read_namespaced_resource_quota("four", ns).status.used == {"pods": "4"}


def claim_yaml(name, size):
    return json.dumps({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
                       "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}})


def test_claims_are_counted_and_bounded(cluster, ns):
    cluster.kubectl("create", "quota", "storage", "-n", ns, "--hard=persistentvolumeclaims=2,requests.storage=3Gi")
    counted(cluster, ns, "storage", persistentvolumeclaims="0", requests__storage="0")
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "claims"},
        "spec": {"limits": [{"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "2Gi"}}]}}))
    small = refusal(cluster, ns, "apply", "-f", "-", input=claim_yaml("small", "500Mi"))
    assert small.endswith('persistentvolumeclaims "small" is forbidden: minimum storage usage per '
                          'PersistentVolumeClaim is 1Gi, but request is 500Mi')
    big = refusal(cluster, ns, "apply", "-f", "-", input=claim_yaml("big", "5Gi"))
    assert big.endswith('persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim '
                        'is 2Gi, but request is 5Gi')
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=claim_yaml("a", "2Gi"))
    over = refusal(cluster, ns, "apply", "-f", "-", input=claim_yaml("b", "2Gi"))
    assert over.endswith('persistentvolumeclaims "b" is forbidden: exceeded quota: storage, requested: '
                         'requests.storage=2Gi, used: requests.storage=2Gi, limited: requests.storage=3Gi')
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=claim_yaml("c", "1Gi"))
    assert status_of(cluster, ns, "storage")["used"] == {"persistentvolumeclaims": "2", "requests.storage": "3Gi"}


LIMITS = json.dumps({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits"}, "spec": {"limits": [
    {"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"}, "defaultRequest": {"cpu": "200m"},
     "min": {"cpu": "100m"}, "max": {"cpu": "2", "memory": "1Gi"}, "maxLimitRequestRatio": {"cpu": "4"}},
    {"type": "Pod", "max": {"cpu": "3"}}]}})


def test_limitrange_defaults_and_bounds(cluster, ns):
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=LIMITS)
    header, row = cluster.kubectl("get", "limits", "-n", ns).stdout.splitlines()
    assert header.split() == ["NAME", "CREATED", "AT"] and row.split()[0] == "limits"
    described = cluster.kubectl("describe", "limitrange", "limits", "-n", ns).stdout
    assert [line.split() for line in described.splitlines() if line.startswith(("Container", "Pod"))] == [
        ["Container", "cpu", "100m", "2", "200m", "500m", "4"], ["Container", "memory", "-", "1Gi", "256Mi", "256Mi", "-"],
        ["Pod", "cpu", "-", "3", "-", "-", "-"]]
    cluster.kubectl("run", "plain", "-n", ns, "--image=busybox")
    pod = json.loads(cluster.kubectl("get", "pod", "plain", "-n", ns, "-o", "json").stdout)
    assert pod["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "500m", "memory": "256Mi"},
                                                         "requests": {"cpu": "200m", "memory": "256Mi"}}
    assert pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container plain; cpu, memory limit for container plain")
    assert pod["status"]["qosClass"] == "Burstable"
    small = refusal(cluster, ns, "apply", "-f", "-", input=pod_yaml("small", {"cpu": "50m"}, {"cpu": "100m"}))
    assert small == ('Error from server (Forbidden): error when creating "STDIN": pods "small" is forbidden: minimum '
                     'cpu usage per Container is 100m, but request is 50m')
    big = refusal(cluster, ns, "apply", "-f", "-", input=pod_yaml("big", limits={"memory": "2Gi"}))
    assert big.endswith('pods "big" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi')
    both = refusal(cluster, ns, "apply", "-f", "-", input=pod_yaml("both", {"cpu": "100m"}, {"cpu": "1"}))
    assert both.endswith('pods "both" is forbidden: cpu max limit to request ratio per Container is 4, but provided '
                         'ratio is 10.000000')
    over_default = refusal(cluster, ns, "apply", "-f", "-", input=pod_yaml("greedy", {"cpu": "1"}))
    assert over_default.endswith('The Pod "greedy" is invalid: spec.containers[0].resources.requests: Invalid value: '
                                 '"1": must be less than or equal to cpu limit of 500m')  # the defaulted limit


def test_limitrange_defaults_come_before_quota(cluster, ns):
    """A pod that states nothing takes the LimitRange's defaults and is then charged them."""
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=LIMITS)
    cluster.kubectl("create", "quota", "compute", "-n", ns, "--hard=limits.cpu=1,requests.cpu=1")
    counted(cluster, ns, "compute", limits__cpu="0")
    cluster.kubectl("run", "one", "-n", ns, "--image=busybox")
    cluster.kubectl("run", "two", "-n", ns, "--image=busybox")
    assert refusal(cluster, ns, "run", "three", "--image=busybox").endswith(
        'pods "three" is forbidden: exceeded quota: compute, requested: limits.cpu=500m, used: limits.cpu=1, '
        'limited: limits.cpu=1')
