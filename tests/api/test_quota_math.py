"""ResourceQuota's arithmetic (``portside.api.quota``): what objects take, which quotas apply, what admission
charges and refuses, and what the controller counts - with Kubernetes' messages and quantity formats."""

import pytest

from portside.api import quota
from portside.api.quota import PODS, SERVICES, Refused, calculate_used, charge, kinds_for, matching_resources, usage
from portside.api.quota.lists import add, parse_list, pretty, subtract_nonnegative, to_wire
from portside.api.quota.usage import matches_scopes

CLAIMS = ("", "persistentvolumeclaims")


def container(name="c", requests=None, limits=None, **extra):
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
    return {"name": name, "image": "busybox", "resources": resources, **extra}


def pod(*containers, init=(), phase="Pending", name="p", **spec):
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": {"containers": list(containers),
                                                                    "initContainers": list(init), **spec},
            "status": {"phase": phase}}


def rq(hard, used=None, name="compute", scopes=None, selector=None):
    spec = {"hard": hard}
    if scopes:
        spec["scopes"] = scopes
    if selector:
        spec["scopeSelector"] = {"matchExpressions": selector}
    status = {"hard": hard, "used": used if used is not None else {k: "0" for k in hard}}
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": spec, "status": status}


def wire(rl):
    return to_wire(rl)


# -- resource lists --------------------------------------------------------------------------------------------

def test_sums_keep_kubernetes_formats():
    assert wire(add(add(parse_list({"m": "0"}), parse_list({"m": "512Mi"})), parse_list({"m": "512Mi"}))) == \
        {"m": "1Gi"}
    assert wire(add(add(parse_list({"c": "0"}), parse_list({"c": "500m"})), parse_list({"c": "1500m"}))) == {"c": "2"}
    assert wire(add(parse_list({"c": "1"}), parse_list({"c": "800m"}))) == {"c": "1800m"}
    assert wire(add(parse_list({"m": "1Gi"}), parse_list({"m": "1.5Gi"}))) == {"m": "2560Mi"}


def test_subtracting_never_goes_below_zero_and_keeps_every_name():
    assert wire(subtract_nonnegative(parse_list({"a": "3", "b": "1"}), parse_list({"a": "1", "b": "2", "c": "5"}))) \
        == {"a": "2", "b": "0", "c": "0"}


def test_pretty_sorts_by_name():
    assert pretty(parse_list({"requests.memory": "1Gi", "limits.cpu": "2", "pods": "3"})) == \
        "limits.cpu=2,pods=3,requests.memory=1Gi"


# -- what pods take ----------------------------------------------------------------------------------------------

def test_pod_compute_usage_under_every_name():
    taken = wire(usage(PODS, pod(container(requests={"cpu": "250m", "memory": "64Mi", "ephemeral-storage": "1Gi"},
                                           limits={"cpu": "500m", "memory": "128Mi"})), 0))
    assert taken == {"count/pods": "1", "pods": "1", "cpu": "250m", "requests.cpu": "250m", "memory": "64Mi",
                     "requests.memory": "64Mi", "limits.cpu": "500m", "limits.memory": "128Mi",
                     "ephemeral-storage": "1Gi", "requests.ephemeral-storage": "1Gi"}


def test_pod_totals_sum_containers_raise_to_init_containers_and_add_sidecars_and_overhead():
    p = pod(container("a", {"cpu": "100m"}), container("b", {"cpu": "200m"}),
            init=[container("setup", {"cpu": "500m"}),
                  container("proxy", {"cpu": "50m"}, restartPolicy="Always"),
                  container("late", {"cpu": "400m"})],
            overhead={"cpu": "10m"})
    # containers 300m + sidecar 50m = 350m; setup 500m alone; late 400m + sidecar 50m = 450m -> 500m, +10m overhead
    assert wire(quota.pod_requests(p))["cpu"] == "510m"
    p = pod(container("a", {"cpu": "1"}), init=[container("setup", {"cpu": "500m"})])
    assert wire(quota.pod_requests(p))["cpu"] == "1"


def test_pod_limits_take_overhead_only_where_something_is_limited():
    p = pod(container(limits={"cpu": "1"}), overhead={"cpu": "100m", "memory": "10Mi"})
    assert wire(quota.pod_limits(p)) == {"cpu": "1100m"}


def test_extended_and_hugepages_requests():
    taken = wire(usage(PODS, pod(container(requests={"example.com/gpu": "2", "hugepages-2Mi": "4Mi"},
                                           limits={"example.com/gpu": "2", "hugepages-2Mi": "4Mi"})), 0))
    assert taken["requests.example.com/gpu"] == "2"
    assert taken["hugepages-2Mi"] == taken["requests.hugepages-2Mi"] == "4Mi"


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_finished_pods_take_only_their_object_count(phase):
    assert wire(usage(PODS, pod(container(requests={"cpu": "1"}), phase=phase), 0)) == {"count/pods": "1"}


def test_pods_stuck_in_deletion_stop_counting_after_twice_their_grace():
    p = pod(container(requests={"cpu": "1"}))
    p["metadata"].update(deletionTimestamp="2026-01-01T00:00:30Z", deletionGracePeriodSeconds=30)
    deleted_at = 1767225630  # 2026-01-01T00:00:30Z
    assert "pods" in usage(PODS, p, deleted_at + 29)
    assert "pods" not in usage(PODS, p, deleted_at + 31)


# -- what Services, claims and other kinds take ----------------------------------------------------------------

@pytest.mark.parametrize(("spec", "node_ports", "balancers"), [
    ({"type": "ClusterIP", "ports": [{"port": 80}]}, "0", "0"),
    ({"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}, "2", "0"),
    ({"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 81}]}, "2", "1"),
    ({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False,
      "ports": [{"port": 80, "nodePort": 30080}, {"port": 81}]}, "1", "1"),
])
def test_service_usage(spec, node_ports, balancers):
    assert wire(usage(SERVICES, {"spec": spec}, 0)) == {"count/services": "1", "services": "1",
                                                        "services.nodeports": node_ports,
                                                        "services.loadbalancers": balancers}


def test_claim_usage_takes_the_larger_of_request_and_allocation_also_per_storage_class():
    claim = {"spec": {"storageClassName": "gold", "resources": {"requests": {"storage": "1Gi"}}},
             "status": {"allocatedResources": {"storage": "2Gi"}}}
    assert wire(usage(CLAIMS, claim, 0)) == {
        "count/persistentvolumeclaims": "1", "persistentvolumeclaims": "1", "requests.storage": "2Gi",
        "gold.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
        "gold.storageclass.storage.k8s.io/requests.storage": "2Gi"}


def test_other_kinds_count_once_also_by_legacy_name():
    assert wire(usage(("apps", "deployments"), {}, 0)) == {"count/deployments.apps": "1"}
    assert wire(usage(("", "configmaps"), {}, 0)) == {"count/configmaps": "1", "configmaps": "1"}
    assert wire(usage(("", "secrets"), {}, 0)) == {"count/secrets": "1", "secrets": "1"}


def test_matching_resources_and_the_kinds_a_quota_tracks():
    names = ["requests.cpu", "pods", "count/pods", "services.nodeports", "requests.storage", "configmaps",
             "count/deployments.apps", "gold.storageclass.storage.k8s.io/requests.storage", "requests.example.com/gpu"]
    assert matching_resources(PODS, names) == ["requests.cpu", "pods", "count/pods", "requests.example.com/gpu"]
    assert matching_resources(SERVICES, names) == ["services.nodeports"]
    assert matching_resources(CLAIMS, names) == ["requests.storage", "gold.storageclass.storage.k8s.io/requests.storage"]
    assert matching_resources(("apps", "deployments"), names) == ["count/deployments.apps"]
    assert kinds_for(names) == {PODS, SERVICES, CLAIMS, ("", "configmaps"), ("apps", "deployments")}


# -- scopes ------------------------------------------------------------------------------------------------------

BEST_EFFORT = pod(container())
BURSTABLE = pod(container(requests={"cpu": "100m"}))
TERMINATING = pod(container(), activeDeadlineSeconds=60)


@pytest.mark.parametrize(("scope", "matched"), [
    ("BestEffort", [BEST_EFFORT, TERMINATING]), ("NotBestEffort", [BURSTABLE]),
    ("Terminating", [TERMINATING]), ("NotTerminating", [BEST_EFFORT, BURSTABLE]),
])
def test_scopes_select_pods(scope, matched):
    q = rq({"pods": "10"}, scopes=[scope])
    assert [p for p in (BEST_EFFORT, BURSTABLE, TERMINATING) if _selects(q, p)] == matched


def _selects(q, p):
    return matches_scopes(q, PODS, p)


@pytest.mark.parametrize(("operator", "values", "expected"), [
    ("In", ["high"], [True, False, False]), ("NotIn", ["high"], [False, True, True]),
    ("Exists", [], [True, True, False]), ("DoesNotExist", [], [False, False, True]),
])
def test_priority_class_scope_selector(operator, values, expected):
    q = rq({"pods": "10"}, selector=[{"scopeName": "PriorityClass", "operator": operator, "values": values}])
    pods = [pod(container(), priorityClassName="high"), pod(container(), priorityClassName="low"), pod(container())]
    assert [_selects(q, p) for p in pods] == expected


def test_cross_namespace_affinity_scope():
    q = rq({"pods": "10"}, selector=[{"scopeName": "CrossNamespacePodAffinity", "operator": "Exists"}])
    term = {"topologyKey": "kubernetes.io/hostname", "labelSelector": {}, "namespaces": ["other"]}
    crossing = pod(container(), affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}})
    assert _selects(q, crossing) and not _selects(q, BEST_EFFORT)


def test_a_scoped_quota_never_matches_other_kinds():
    q = rq({"count/configmaps": "1"}, scopes=["NotTerminating"])
    assert charge([q], ("", "configmaps"), {"metadata": {"name": "c"}}) == []


# -- admission -------------------------------------------------------------------------------------------------

def test_charge_raises_used_by_what_the_pod_takes():
    q = rq({"requests.cpu": "2", "pods": "3"}, {"requests.cpu": "1", "pods": "1"})
    [charged] = charge([q], PODS, pod(container(requests={"cpu": "500m"}, limits={"cpu": "500m"})))
    assert charged.quota is q and charged.used == {"requests.cpu": "1500m", "pods": "2"}


def test_exceeded_quota_message():
    q = rq({"requests.cpu": "2", "pods": "10"}, {"requests.cpu": "1800m", "pods": "2"})
    with pytest.raises(Refused) as refused:
        charge([q], PODS, pod(container(requests={"cpu": "500m"})))
    assert str(refused.value) == ("exceeded quota: compute, requested: requests.cpu=500m, used: requests.cpu=1800m, "
                                  "limited: requests.cpu=2")


def test_exceeded_names_every_resource_over():
    q = rq({"requests.memory": "1Gi", "pods": "2"}, {"requests.memory": "900Mi", "pods": "2"})
    with pytest.raises(Refused) as refused:
        charge([q], PODS, pod(container(requests={"memory": "200Mi"})))
    assert str(refused.value) == ("exceeded quota: compute, requested: pods=1,requests.memory=200Mi, used: pods=2,"
                                  "requests.memory=900Mi, limited: pods=2,requests.memory=1Gi")


def test_a_quota_on_limits_needs_every_container_to_set_them():
    q = rq({"limits.cpu": "4", "requests.memory": "1Gi"})
    p = pod(container("a", requests={"memory": "64Mi"}), container("b", limits={"cpu": "1"}),
            init=[container("init", requests={"memory": "1Mi"}, limits={"cpu": "1"})])
    with pytest.raises(Refused) as refused:
        charge([q], PODS, p)
    assert str(refused.value) == "failed quota: compute: must specify limits.cpu for: a; requests.memory for: b"


def test_a_quota_not_counted_yet_refuses_what_it_caps():
    q = rq({"pods": "3"}, used={})
    with pytest.raises(Refused) as refused:
        charge([q], PODS, pod(container()))
    assert str(refused.value) == "status unknown for quota: compute, resources: pods"


def test_a_quota_without_status_is_not_enforced_yet():
    q = rq({"pods": "0"})
    q["status"] = {}
    assert charge([q], PODS, pod(container())) == []


def test_quotas_that_do_not_cap_the_kind_are_left_alone():
    q = rq({"services": "0"})
    assert charge([q], PODS, pod(container())) == []


def test_updates_are_charged_only_what_they_add():
    q = rq({"services.nodeports": "3", "services": "5"}, {"services.nodeports": "1", "services": "2"})
    old = {"spec": {"type": "ClusterIP", "ports": [{"port": 80}, {"port": 81}]}}
    new = {"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}}
    [charged] = charge([q], SERVICES, new, old)
    assert charged.used == {"services.nodeports": "3", "services": "2"}
    assert charge([q], SERVICES, old, new) == []  # back to ClusterIP: nothing charged (the controller returns it)


def test_several_quotas_are_all_charged_and_one_refusal_refuses():
    small, big = rq({"pods": "1"}, name="small"), rq({"pods": "10"}, name="big")
    assert [c.quota["metadata"]["name"] for c in charge([small, big], PODS, pod(container()))] == ["small", "big"]
    small["status"]["used"] = {"pods": "1"}
    with pytest.raises(Refused, match="exceeded quota: small"):
        charge([small, big], PODS, pod(container()))


def test_which_writes_are_charged():
    assert quota.handles(PODS, updating=False) and not quota.handles(PODS, updating=True)
    assert quota.handles(SERVICES, updating=True) and quota.handles(CLAIMS, updating=True)
    assert not quota.handles(("", "events"), updating=False)
    assert quota.handles(("apps", "deployments"), updating=False)


# -- the controller's count --------------------------------------------------------------------------------------

def test_calculate_used_counts_every_capped_name_from_zero():
    q = rq({"requests.memory": "2Gi", "pods": "5", "count/configmaps": "3", "example.com/unknown": "1"},
           used={"example.com/unknown": "1"})
    pods = [pod(container(requests={"memory": "512Mi"})), pod(container(requests={"memory": "512Mi"})),
            pod(container(requests={"memory": "1Gi"}), phase="Succeeded")]
    used = calculate_used(q, {PODS: pods, ("", "configmaps"): []}, 0)
    assert used == {"requests.memory": "1Gi", "pods": "2", "count/configmaps": "0", "example.com/unknown": "1"}


def test_calculate_used_follows_scopes():
    q = rq({"pods": "5", "requests.cpu": "4"}, scopes=["NotBestEffort"])
    used = calculate_used(q, {PODS: [BEST_EFFORT, BURSTABLE, BURSTABLE]}, 0)
    assert used == {"pods": "2", "requests.cpu": "200m"}


def test_calculate_used_drops_names_the_quota_no_longer_caps():
    q = rq({"pods": "5"}, used={"pods": "1", "services": "3"})
    assert calculate_used(q, {PODS: []}, 0) == {"pods": "0"}
