"""The official ``kubernetes`` Python client against a real ``portside up``: semantics beyond kubectl's reach."""

import json
import threading
import time

import pytest
import urllib3
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from support.cluster import only

UP_FLAGS = only("garbage-collector")  # the API's own semantics: no controller writes to these objects


@pytest.fixture(scope="module")
def kube(cluster):
    api_client = config.new_client_from_config(config_file=cluster.kubeconfig)
    yield api_client
    api_client.close()


@pytest.fixture
def ns(cluster, request):
    name = request.node.name.replace("_", "-")[:50].strip("-").lower()
    return cluster.namespace(name)


def pod(name, labels=None, **meta):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}, **meta},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def test_metadata_defaults_and_generate_name(kube, ns):
    core = client.CoreV1Api(kube)
    made = core.create_namespaced_pod(ns, {**pod(""), "metadata": {"generateName": "web-"}})
    assert made.metadata.name.startswith("web-") and len(made.metadata.name) == 9
    assert made.metadata.uid and made.metadata.creation_timestamp and made.metadata.resource_version
    assert made.spec.restart_policy == "Always" and made.status.phase == "Pending"
    long = core.create_namespaced_pod(ns, {**pod(""), "metadata": {"generateName": "x" * 70 + "-"}})
    assert long.metadata.name.startswith("x" * 58) and len(long.metadata.name) == 63  # the prefix is cut to fit
    assert made.spec.containers[0].termination_message_policy == "File"


def test_stale_update_is_409_and_generation_bumps_on_spec_change(kube, ns):
    apps = client.AppsV1Api(kube)
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    first = apps.create_namespaced_deployment(ns, body)
    first.spec.replicas = 2
    second = apps.replace_namespaced_deployment("d", ns, first)
    assert second.metadata.generation == 2
    first.spec.replicas = 4  # still carries the old resourceVersion
    with pytest.raises(ApiException) as err:
        apps.replace_namespaced_deployment("d", ns, first)
    assert err.value.status == 409 and "the object has been modified" in err.value.body
    second.metadata.labels = {"only": "metadata"}
    assert apps.replace_namespaced_deployment("d", ns, second).metadata.generation == 2


def test_label_field_selectors_and_paging(kube, ns):
    core = client.CoreV1Api(kube)
    for i in range(7):
        core.create_namespaced_pod(ns, pod(f"p{i}", {"tier": "web" if i % 2 else "db", "n": str(i)}))
    names = lambda items: sorted(p.metadata.name for p in items)  # noqa: E731
    assert names(core.list_namespaced_pod(ns, label_selector="tier=web").items) == ["p1", "p3", "p5"]
    assert names(core.list_namespaced_pod(ns, label_selector="tier in (db),n notin (0,2)").items) == ["p4", "p6"]
    assert names(core.list_namespaced_pod(ns, field_selector="metadata.name=p2").items) == ["p2"]
    assert len(core.list_namespaced_pod(ns, field_selector="status.phase=Pending").items) == 7
    pages, token = [], None
    while True:
        page = core.list_namespaced_pod(ns, limit=3, _continue=token)
        pages.append(names(page.items))
        token = page.metadata._continue
        if not token:
            break
    assert [len(p) for p in pages] == [3, 3, 1] and sorted(sum(pages, [])) == [f"p{i}" for i in range(7)]
    with pytest.raises(ApiException) as err:
        core.list_namespaced_pod(ns, field_selector="spec.bogus=1")
    assert err.value.status == 400 and "spec.bogus" in err.value.body


def test_binding_sets_node_once(kube, ns):
    core = client.CoreV1Api(kube)
    core.create_namespaced_pod(ns, pod("b"))
    target = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "b"},
              "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}}
    core.create_namespaced_binding(ns, target, _preload_content=False)
    bound = core.read_namespaced_pod("b", ns)
    assert bound.spec.node_name == "node-1"
    assert any(c.type == "PodScheduled" and c.status == "True" for c in bound.status.conditions)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_binding(ns, {**target, "target": {"kind": "Node", "name": "node-2"}},
                                       _preload_content=False)
    assert err.value.status == 409 and "already assigned" in err.value.body
    assert core.list_namespaced_pod(ns, field_selector="spec.nodeName=node-1").items[0].metadata.name == "b"


def test_bound_pod_delete_is_graceful_then_final(kube, ns):
    core = client.CoreV1Api(kube)
    core.create_namespaced_pod(ns, pod("g"))
    core.create_namespaced_binding(ns, {"target": {"kind": "Node", "name": "n"}, "metadata": {"name": "g"}},
                                   _preload_content=False)
    core.delete_namespaced_pod("g", ns)
    terminating = core.read_namespaced_pod("g", ns)
    assert terminating.metadata.deletion_timestamp and terminating.metadata.deletion_grace_period_seconds == 30
    core.delete_namespaced_pod("g", ns, grace_period_seconds=0)
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("g", ns)
    assert err.value.status == 404


def test_status_and_scale_subresources(kube, ns):
    apps = client.AppsV1Api(kube)
    body = {"metadata": {"name": "s"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    apps.create_namespaced_replica_set(ns, body)
    apps.patch_namespaced_replica_set_status("s", ns, {"status": {"replicas": 2, "readyReplicas": 1}})
    rs = apps.read_namespaced_replica_set("s", ns)
    assert rs.status.ready_replicas == 1 and rs.metadata.generation == 1
    apps.patch_namespaced_replica_set("s", ns, {"status": {"replicas": 9}})  # status ignored on the main resource
    assert apps.read_namespaced_replica_set("s", ns).status.replicas == 2
    scale = apps.read_namespaced_replica_set_scale("s", ns)
    assert scale.spec.replicas == 2 and scale.status.selector == "a=b"
    apps.patch_namespaced_replica_set_scale("s", ns, {"spec": {"replicas": 6}})
    assert apps.read_namespaced_replica_set("s", ns).spec.replicas == 6


def test_service_cluster_ip_allocation_and_release(kube, ns):
    core = client.CoreV1Api(kube)
    svc = {"metadata": {"name": "a"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    made = core.create_namespaced_service(ns, svc)
    ip, node_port = made.spec.cluster_ip, made.spec.ports[0].node_port
    assert ip.startswith("10.") and 30000 <= node_port <= 32767 and made.spec.ports[0].protocol == "TCP"
    taken = {"metadata": {"name": "b"}, "spec": {"clusterIP": ip, "ports": [{"port": 80}]}}
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service(ns, taken)
    assert err.value.status == 422 and "spec.clusterIP" in err.value.body and "already allocated" in err.value.body
    with pytest.raises(ApiException):
        core.read_namespaced_service("b", ns)
    core.delete_namespaced_service("a", ns)
    assert core.create_namespaced_service(ns, taken).spec.cluster_ip == ip
    outside = {"metadata": {"name": "c"}, "spec": {"clusterIP": "192.168.1.1", "ports": [{"port": 80}]}}
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service(ns, outside)
    assert "not in the valid range" in err.value.body


def test_namespace_must_exist_and_deletecollection(kube, ns):
    core = client.CoreV1Api(kube)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("no-such-namespace", pod("x"))
    assert err.value.status == 404
    assert json.loads(err.value.body)["message"] == 'namespaces "no-such-namespace" not found'
    for i in range(3):
        core.create_namespaced_pod(ns, pod(f"d{i}", {"batch": "yes" if i < 2 else "no"}))
    core.delete_collection_namespaced_pod(ns, label_selector="batch=yes")
    assert [p.metadata.name for p in core.list_namespaced_pod(ns).items] == ["d2"]


def test_job_dependency_cycle_is_rejected(kube, ns):
    batch = client.BatchV1Api(kube)

    def job(name, deps):
        return {"metadata": {"name": name, "annotations": {"portside.io/depends-on": deps} if deps else {}},
                "spec": {"template": {"spec": {"restartPolicy": "Never",
                                               "containers": [{"name": "c", "image": "x"}]}}}}
    batch.create_namespaced_job(ns, job("a", "c"))
    batch.create_namespaced_job(ns, job("b", "a"))
    with pytest.raises(ApiException) as err:
        batch.create_namespaced_job(ns, job("c", "b"))
    assert err.value.status == 422 and "dependency cycle: c -> b -> a -> c" in err.value.body
    assert [j.metadata.name for j in batch.list_namespaced_job(ns).items] == ["a", "b"]


def test_watch_resumes_from_last_resource_version_without_gaps(kube, ns):
    core = client.CoreV1Api(kube)
    start = core.list_namespaced_pod(ns).metadata.resource_version
    stop = threading.Event()

    def writer():
        for i in range(60):
            core.create_namespaced_pod(ns, pod(f"w{i}"))
        stop.set()
    thread = threading.Thread(target=writer)
    thread.start()
    seen, rv, deadline = [], start, time.monotonic() + 60
    while len(seen) < 60 and time.monotonic() < deadline:  # reconnect every few events, from the last one seen
        w = watch.Watch()
        for n, event in enumerate(w.stream(core.list_namespaced_pod, ns, resource_version=rv, timeout_seconds=5)):
            seen.append(event["object"].metadata.name)
            rv = event["object"].metadata.resource_version
            if n == 6:
                w.stop()
    thread.join()
    assert sorted(seen) == sorted(f"w{i}" for i in range(60)) and len(seen) == 60


def test_no_token_is_401_and_health_is_anonymous(cluster):
    http = urllib3.PoolManager(ca_certs=cluster.ca)
    assert http.request("GET", cluster.url + "/healthz").status == 200
    assert http.request("GET", cluster.url + "/version").status == 200
    denied = http.request("GET", cluster.url + "/api/v1/pods")
    assert denied.status == 401 and json.loads(denied.data)["reason"] == "Unauthorized"
    wrong = http.request("GET", cluster.url + "/api/v1/pods", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401


def test_filtered_watch_sees_objects_enter_and_leave_the_selection(kube, ns):
    core = client.CoreV1Api(kube)
    start = core.list_namespaced_pod(ns).metadata.resource_version
    core.create_namespaced_pod(ns, pod("m", {"role": "other"}))
    core.patch_namespaced_pod("m", ns, {"metadata": {"labels": {"role": "web"}}})
    core.patch_namespaced_pod("m", ns, {"metadata": {"labels": {"role": "web", "x": "1"}}})
    core.patch_namespaced_pod("m", ns, {"metadata": {"labels": {"role": "db"}}})
    seen = []
    for event in watch.Watch().stream(core.list_namespaced_pod, ns, label_selector="role=web",
                                      resource_version=start, timeout_seconds=2):
        seen.append((event["type"], event["object"].metadata.labels.get("role")))
        if len(seen) == 3:
            break
    assert seen == [("ADDED", "web"), ("MODIFIED", "web"), ("DELETED", "db")]


def test_type_change_allocates_node_port_and_namespace_deletion_releases_addresses(kube, cluster):
    core = client.CoreV1Api(kube)
    ns = cluster.namespace("alloc-release")
    made = core.create_namespaced_service(ns, {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}})
    assert made.spec.ports[0].node_port is None
    patched = core.patch_namespaced_service("s", ns, {"spec": {"type": "NodePort"}})
    node_port, ip = patched.spec.ports[0].node_port, patched.spec.cluster_ip
    assert 30000 <= node_port <= 32767 and ip == made.spec.cluster_ip
    cluster.kubectl("delete", "namespace", ns)
    reuse = {"metadata": {"name": "reuse"}, "spec": {"type": "NodePort", "clusterIP": ip,
                                                     "ports": [{"port": 80, "nodePort": node_port}]}}
    again = core.create_namespaced_service("default", reuse)
    assert again.spec.cluster_ip == ip and again.spec.ports[0].node_port == node_port
    core.delete_namespaced_service("reuse", "default")


def test_unpinned_patches_retry_over_concurrent_writes_and_pinned_ones_conflict(kube, ns):
    """A controller's status writes must not make `kubectl label` fail: only a patch that pins a
    resourceVersion may get 409, as on Kubernetes."""
    apps = client.AppsV1Api(kube)
    body = {"metadata": {"name": "busy"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    made = apps.create_namespaced_deployment(ns, body)
    stop = threading.Event()

    failures: list[Exception] = []

    def write_status() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                apps.patch_namespaced_deployment_status("busy", ns, {"status": {"observedGeneration": n}})
            except ApiException as exc:  # unpinned, so never a conflict: any failure fails the test
                failures.append(exc)
                return

    writers = [threading.Thread(target=write_status) for _ in range(2)]  # writes in flight while labels patch
    for w in writers:
        w.start()
    try:
        for i in range(100):
            apps.patch_namespaced_deployment("busy", ns, {"metadata": {"labels": {"round": str(i)}}})
    finally:
        stop.set()
        for w in writers:
            w.join()
    assert not failures, failures
    assert apps.read_namespaced_deployment("busy", ns).metadata.labels == {"round": "99"}
    stale = {"metadata": {"resourceVersion": made.metadata.resource_version, "labels": {"late": "yes"}}}
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("busy", ns, stale)
    assert err.value.status == 409


def test_created_service_has_an_empty_load_balancer_status(kube, ns):
    core = client.CoreV1Api(kube)
    made = core.create_namespaced_service(ns, {"metadata": {"name": "lb"}, "spec": {"ports": [{"port": 80}]}})
    assert made.status is not None and made.status.load_balancer == client.V1LoadBalancerStatus()
    raw = core.read_namespaced_service("lb", ns, _preload_content=False)
    assert json.loads(raw.data)["status"] == {"loadBalancer": {}}


def test_not_found_body_is_the_text_kubernetes_sends(kube, ns):
    core = client.CoreV1Api(kube)
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("missing", ns)
    assert err.value.status == 404
    assert err.value.body == ('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                              '"message":"pods \\"missing\\" not found","reason":"NotFound",'
                              '"details":{"name":"missing","kind":"pods"},"code":404}\n')
