"""LimitRange without a server (``portside.api.limitrange``): the defaults a LimitRange is stored with, the
defaults it gives containers, and the bounds it holds pods and claims to, in Kubernetes' words."""

import copy

import pytest

from portside import api
from portside.api import limitrange
from portside.api.limitrange import aggregate, apply_defaults, claim_violations, pod_violations


def lr(*items, name="limits"):
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": {"limits": list(items)}}


def container(name="c", requests=None, limits=None, **extra):
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
    return {"name": name, "image": "busybox", "resources": resources, **extra}


def pod(*containers, init=()):
    return {"metadata": {"name": "p", "namespace": "ns"},
            "spec": {"containers": list(containers), "initContainers": list(init)}}


def test_stored_container_items_default_limit_from_max_and_request_from_limit_then_min():
    item = {"type": "Container", "max": {"cpu": "2", "memory": "1Gi"}, "min": {"memory": "64Mi", "cpu": "100m"},
            "default": {"cpu": "500m"}}
    limitrange.default_item(item)
    assert item["default"] == {"cpu": "500m", "memory": "1Gi"}
    assert item["defaultRequest"] == {"cpu": "500m", "memory": "1Gi"}
    item = {"type": "Container", "min": {"cpu": "100m"}}
    limitrange.default_item(item)
    assert item == {"type": "Container", "min": {"cpu": "100m"}, "defaultRequest": {"cpu": "100m"}}


def test_other_items_are_stored_as_written():
    item = {"type": "Pod", "max": {"cpu": "2"}}
    limitrange.default_item(item)
    assert item == {"type": "Pod", "max": {"cpu": "2"}}


def test_the_api_server_defaults_a_limitrange_on_create():
    stored = api.prepare_create(api.lookup("", "v1", "limitranges"), {
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l", "namespace": "ns"},
        "spec": {"limits": [{"type": "Container", "max": {"memory": "1Gi"}}]}})
    assert stored["spec"]["limits"][0]["default"] == {"memory": "1Gi"}
    assert stored["spec"]["limits"][0]["defaultRequest"] == {"memory": "1Gi"}


def test_containers_without_requests_or_limits_take_the_defaults_and_the_pod_says_so():
    ranges = [lr({"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"}, "defaultRequest": {"cpu": "200m"}})]
    p = pod(container("app"), container("own", requests={"cpu": "1"}, limits={"cpu": "2", "memory": "1Gi"}),
            init=[container("setup")])
    assert apply_defaults(p, ranges)
    app, own = p["spec"]["containers"]
    assert app["resources"] == {"requests": {"cpu": "200m"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
    assert own["resources"] == {"requests": {"cpu": "1"}, "limits": {"cpu": "2", "memory": "1Gi"}}
    assert p["spec"]["initContainers"][0]["resources"]["limits"] == {"cpu": "500m", "memory": "256Mi"}
    assert p["metadata"]["annotations"][limitrange.ANNOTATION] == (
        "LimitRanger plugin set: cpu request for container app; cpu, memory limit for container app; "
        "cpu request for init container setup; cpu, memory limit for init container setup")


def test_nothing_to_default_changes_nothing():
    p = pod(container(requests={"cpu": "1"}, limits={"cpu": "1"}))
    before = copy.deepcopy(p)
    assert not apply_defaults(p, [lr({"type": "Container", "default": {"cpu": "500m"}})])
    assert not apply_defaults(p, [lr({"type": "Pod", "max": {"cpu": "2"}})])
    assert p == before


@pytest.mark.parametrize(("item", "c", "expected"), [
    ({"type": "Container", "min": {"cpu": "100m"}}, container(requests={"cpu": "50m"}),
     ["minimum cpu usage per Container is 100m, but request is 50m"]),
    ({"type": "Container", "min": {"cpu": "100m"}}, container(),
     ["minimum cpu usage per Container is 100m.  No request is specified"]),
    ({"type": "Container", "min": {"memory": "1Gi"}}, container(requests={"memory": "1Gi"}, limits={"memory": "512Mi"}),
     ["minimum memory usage per Container is 1Gi, but limit is 512Mi"]),
    ({"type": "Container", "max": {"memory": "1Gi"}}, container(limits={"memory": "2Gi"}),
     ["maximum memory usage per Container is 1Gi, but limit is 2Gi"]),
    ({"type": "Container", "max": {"memory": "1Gi"}}, container(requests={"memory": "100Mi"}),
     ["maximum memory usage per Container is 1Gi.  No limit is specified"]),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}, container(requests={"cpu": "100m"}, limits={"cpu": "1"}),
     ["cpu max limit to request ratio per Container is 2, but provided ratio is 10.000000"]),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}, container(limits={"cpu": "1"}),
     ["cpu max limit to request ratio per Container is 2, but no request is specified or request is 0"]),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}, container(requests={"cpu": "1"}),
     ["cpu max limit to request ratio per Container is 2, but no limit is specified or limit is 0"]),
    ({"type": "Container", "min": {"cpu": "100m"}, "max": {"cpu": "1"}, "maxLimitRequestRatio": {"cpu": "4"}},
     container(requests={"cpu": "200m"}, limits={"cpu": "800m"}), []),
])
def test_container_bounds(item, c, expected):
    assert pod_violations(pod(c), [lr(item)]) == expected


def test_init_containers_are_bounded_too_and_each_container_is_named_once():
    ranges = [lr({"type": "Container", "max": {"cpu": "1"}})]
    p = pod(container("a", limits={"cpu": "2"}), init=[container("i", limits={"cpu": "3"})])
    assert pod_violations(p, ranges) == ["maximum cpu usage per Container is 1, but limit is 2",
                                         "maximum cpu usage per Container is 1, but limit is 3"]


def test_pod_bounds_apply_to_the_sum_of_its_containers():
    ranges = [lr({"type": "Pod", "max": {"cpu": "1"}, "min": {"memory": "100Mi"}})]
    p = pod(container("a", requests={"cpu": "600m", "memory": "32Mi"}, limits={"cpu": "600m"}),
            container("b", requests={"cpu": "600m", "memory": "32Mi"}, limits={"cpu": "600m"}))
    assert pod_violations(p, ranges) == ["minimum memory usage per Pod is 100Mi, but request is 64Mi",
                                         "maximum cpu usage per Pod is 1, but limit is 1200m"]


def test_claim_bounds():
    ranges = [lr({"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}})]
    claim = {"spec": {"resources": {"requests": {"storage": "20Gi"}}}}
    assert claim_violations(claim, ranges) == ["maximum storage usage per PersistentVolumeClaim is 10Gi, but request "
                                               "is 20Gi"]
    claim = {"spec": {"resources": {"requests": {"storage": "500Mi"}}}}
    assert claim_violations(claim, ranges) == ["minimum storage usage per PersistentVolumeClaim is 1Gi, but request "
                                               "is 500Mi"]
    assert claim_violations({"spec": {}}, ranges) == [
        "minimum storage usage per PersistentVolumeClaim is 1Gi.  No request is specified",
        "maximum storage usage per PersistentVolumeClaim is 10Gi.  No request is specified"]


def test_aggregate_as_kubernetes_prints_several_errors():
    assert aggregate(["a"]) == "a"
    assert aggregate(["a", "b", "a"]) == "[a, b]"
    assert aggregate(["a", "a"]) == "a"
