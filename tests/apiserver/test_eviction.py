"""PodDisruptionBudgets and the ``pods/eviction`` subresource on a real API server, through the official Python
client and stock kubectl. No controller runs: each test writes the budget's status itself (as the disruption
controller would), so what the eviction decides is pinned to the numbers the test chose."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from support.cluster import only

UP_FLAGS = only()
VIOLATES = "Cannot evict pod as it would violate the pod's disruption budget."


@pytest.fixture(scope="module")
def kube(cluster):
    api_client = config.new_client_from_config(config_file=cluster.kubeconfig)
    yield api_client
    api_client.close()


@pytest.fixture
def ns(cluster, request):
    return cluster.namespace(request.node.name.replace("_", "-")[:50].strip("-").lower())


def make_pod(kube, ns, name, ready=True, phase="Running", app="web", node="node-a"):
    core = client.CoreV1Api(kube)
    core.create_namespaced_pod(ns, {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": name, "labels": {"app": app}}, "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
                                                        "containers": [{"name": "c", "image": "busybox"}]}})
    core.patch_namespaced_pod_status(name, ns, {"status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}})


def make_budget(kube, ns, name="web", allowed=1, healthy=3, desired=2, app="web", **spec):
    policy = client.PolicyV1Api(kube)
    made = policy.create_namespaced_pod_disruption_budget(ns, {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": app}}, "minAvailable": desired, **spec}})
    made.status = client.V1PodDisruptionBudgetStatus(
        observed_generation=made.metadata.generation, disruptions_allowed=allowed, current_healthy=healthy,
        desired_healthy=desired, expected_pods=healthy)
    return policy.replace_namespaced_pod_disruption_budget_status(name, ns, made)


def evict(kube, ns, name, **delete_options):
    body = client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=ns),
                             delete_options=client.V1DeleteOptions(**delete_options) if delete_options else None)
    return client.CoreV1Api(kube).create_namespaced_pod_eviction(name, ns, body)


def refusal(kube, ns, name) -> ApiException:
    with pytest.raises(ApiException) as err:
        evict(kube, ns, name)
    return err.value


def pod_names(kube, ns):
    return sorted(p.metadata.name for p in client.CoreV1Api(kube).list_namespaced_pod(ns).items
                  if not p.metadata.deletion_timestamp)


def status_of(kube, ns, name="web"):
    return client.PolicyV1Api(kube).read_namespaced_pod_disruption_budget(name, ns).status


def test_budget_create_get_table_and_validation(cluster, kube, ns):
    policy = client.PolicyV1Api(kube)
    made = policy.create_namespaced_pod_disruption_budget(ns, {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "maxUnavailable": "25%"}})
    assert made.spec.max_unavailable == "25%" and made.status.disruptions_allowed == 0
    assert made.status.expected_pods == 0 and made.status.current_healthy == 0
    cluster.kubectl("create", "pdb", "db", "-n", ns, "--selector=app=db", "--min-available=0")
    assert policy.read_namespaced_pod_disruption_budget("db", ns).spec.min_available == 0
    table = cluster.kubectl("get", "pdb", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    assert [line.split()[:4] for line in table[1:]] == [["db", "0", "N/A", "0"], ["web", "N/A", "25%", "0"]]
    both = cluster.kubectl("create", "pdb", "bad", "-n", ns, "--selector=app=x", "--min-available=150%",
                           check=False)
    assert both.returncode == 1
    assert ('PodDisruptionBudget.policy "bad" is invalid: spec.minAvailable: Invalid value: "150%": must not be '
            'greater than 100%') in both.stderr
    with pytest.raises(ApiException) as err:
        policy.create_namespaced_pod_disruption_budget(ns, {
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "two"},
            "spec": {"selector": {}, "minAvailable": 1, "maxUnavailable": 1}})
    body = json.loads(err.value.body)
    assert err.value.status == 422 and body["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "field": "spec.minAvailable",
         "message": "Invalid value: 1: minAvailable and maxUnavailable cannot be both set"}]


def test_eviction_takes_one_allowance_then_answers_429(kube, ns):
    for name in ("a", "b", "c"):
        make_pod(kube, ns, name)
    make_budget(kube, ns, allowed=1)
    evict(kube, ns, "a")  # answered with a Success Status, which this client reads as an Eviction
    assert pod_names(kube, ns) == ["b", "c"]
    taken = status_of(kube, ns)
    assert taken.disruptions_allowed == 0 and list(taken.disrupted_pods) == ["a"]
    assert [(c.type, c.status, c.reason) for c in taken.conditions] == [("DisruptionAllowed", "False",
                                                                          "InsufficientPods")]
    refused = refusal(kube, ns, "b")
    assert refused.status == 429
    assert json.loads(refused.body) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": VIOLATES,
        "reason": "TooManyRequests", "details": {"causes": [{"reason": "DisruptionBudget", "message":
                                                             "The disruption budget web needs 2 healthy pods and "
                                                             "has 3 currently"}]}, "code": 429}
    assert pod_names(kube, ns) == ["b", "c"]


def test_concurrent_evictions_never_exceed_the_budget(kube, ns):
    names = [f"p{i}" for i in range(8)]
    for name in names:
        make_pod(kube, ns, name)
    make_budget(kube, ns, allowed=2, healthy=8, desired=6)

    def attempt(name):
        try:
            evict(kube, ns, name)
            return 201
        except ApiException as exc:
            return exc.status

    with ThreadPoolExecutor(len(names)) as pool:
        codes = list(pool.map(attempt, names))
    assert sorted(codes) == [201, 201] + [429] * 6
    assert len(pod_names(kube, ns)) == 6
    status = status_of(kube, ns)
    assert status.disruptions_allowed == 0 and len(status.disrupted_pods) == 2


def test_pods_that_disrupt_nothing_go_without_the_budget(kube, ns):
    make_pod(kube, ns, "pending", phase="Pending", ready=False)
    make_pod(kube, ns, "done", phase="Succeeded", ready=False)
    make_pod(kube, ns, "unready", ready=False)
    make_pod(kube, ns, "ready")
    make_budget(kube, ns, allowed=0, healthy=2, desired=2)
    evict(kube, ns, "pending")
    evict(kube, ns, "done")
    evict(kube, ns, "unready")  # IfHealthyBudget: the budget is met without it
    assert pod_names(kube, ns) == ["ready"]
    assert status_of(kube, ns).disruptions_allowed == 0 and not status_of(kube, ns).disrupted_pods


def test_unready_pod_under_an_unmet_budget_needs_always_allow(kube, ns):
    make_pod(kube, ns, "sick", ready=False)
    make_pod(kube, ns, "other", ready=False, app="db")
    make_budget(kube, ns, allowed=0, healthy=1, desired=2)
    assert refusal(kube, ns, "sick").status == 429
    make_budget(kube, ns, "db", allowed=0, healthy=0, desired=1, app="db", unhealthyPodEvictionPolicy="AlwaysAllow")
    evict(kube, ns, "other")
    assert pod_names(kube, ns) == ["sick"]


def test_two_budgets_are_a_500_and_a_stale_budget_a_429(kube, ns):
    make_pod(kube, ns, "a")
    make_budget(kube, ns, "one", allowed=1)
    make_budget(kube, ns, "two", allowed=1)
    refused = refusal(kube, ns, "a")
    assert refused.status == 500
    assert json.loads(refused.body) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        "code": 500}
    client.PolicyV1Api(kube).delete_namespaced_pod_disruption_budget("two", ns)
    client.PolicyV1Api(kube).patch_namespaced_pod_disruption_budget("one", ns, {"spec": {"minAvailable": 1}})
    refused = refusal(kube, ns, "a")  # the spec moved on: the status is not about this generation
    assert refused.status == 429 and "is still being processed by the server" in refused.body


def test_delete_options_dry_run_and_older_clients(cluster, kube, ns):
    make_pod(kube, ns, "a", node="node-a")
    client.CoreV1Api(kube).patch_namespaced_pod(
        "a", ns, {"metadata": {"finalizers": ["portside.io/test-hold"]}})
    make_budget(kube, ns, allowed=1, healthy=1, desired=0)
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "a"}}
    dry = cluster.kubectl("create", "--raw", f"/api/v1/namespaces/{ns}/pods/a/eviction?dryRun=All", "-f", "-",
                          input=json.dumps(body))
    assert json.loads(dry.stdout)["status"] == "Success"
    assert pod_names(kube, ns) == ["a"] and status_of(kube, ns).disruptions_allowed == 1
    assert [c.type for c in client.CoreV1Api(kube).read_namespaced_pod("a", ns).status.conditions] == ["Ready"]
    beta = {**body, "apiVersion": "policy/v1beta1", "deleteOptions": {"gracePeriodSeconds": 7}}
    cluster.kubectl("create", "--raw", f"/api/v1/namespaces/{ns}/pods/a/eviction", "-f", "-",
                    input=json.dumps(beta))
    held = client.CoreV1Api(kube).read_namespaced_pod("a", ns)
    assert held.metadata.deletion_timestamp is not None and status_of(kube, ns).disruptions_allowed == 0
    target = next(c for c in held.status.conditions if c.type == "DisruptionTarget")
    assert (target.status, target.reason, target.message) == ("True", "EvictionByEvictionAPI",
                                                              "Eviction API: evicting")
    wrong = cluster.kubectl("create", "--raw", f"/api/v1/namespaces/{ns}/pods/a/eviction", "-f", "-",
                            input=json.dumps({**body, "metadata": {"name": "b"}}), check=False)
    assert "name in URL does not match name in Eviction object" in wrong.stderr
    client.CoreV1Api(kube).patch_namespaced_pod("a", ns, {"metadata": {"finalizers": None}})
    missing = refusal(kube, ns, "nope")
    assert missing.status == 404 and json.loads(missing.body)["message"] == 'pods "nope" not found'


def test_discovery_names_the_eviction_subresource(cluster):
    resources = json.loads(cluster.kubectl("get", "--raw", "/api/v1").stdout)["resources"]
    eviction = next(r for r in resources if r["name"] == "pods/eviction")
    assert (eviction["group"], eviction["version"], eviction["kind"], eviction["verbs"]) == (
        "policy", "v1", "Eviction", ["create"])
    names = cluster.kubectl("api-resources", "--api-group=policy", "-o", "name").stdout.split()
    assert names == ["poddisruptionbudgets.policy"]
