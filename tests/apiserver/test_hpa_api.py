"""HorizontalPodAutoscalers through the API server, in both versions: stock kubectl (``autoscale`` posts an
autoscaling/v1 object as protobuf; ``get`` reads the preferred v2 and prints Kubernetes' columns) and the official
Python client's AutoscalingV1Api and AutoscalingV2Api on one object, its status subresource and a v1 watch."""

from __future__ import annotations

import json
import threading

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from support.builders import deployment
from support.cluster import only

UP_FLAGS = only()  # the API alone: nothing else writes to these objects


@pytest.fixture(scope="module")
def kube(cluster):
    api_client = config.new_client_from_config(config_file=cluster.kubeconfig)
    yield api_client
    api_client.close()


@pytest.fixture
def ns(cluster, request):
    return cluster.namespace(request.node.name.replace("_", "-")[:50].strip("-").lower())


def autoscaler(name: str = "web", **spec) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "my-app"},
                     "maxReplicas": 4, **spec}}


def test_kubectl_autoscale_creates_a_v1_autoscaler_that_kubectl_reads_as_v2(cluster, ns):
    made = {**deployment(), "metadata": {"name": "my-app", "namespace": ns}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(made))
    out = cluster.kubectl("autoscale", "deploy/my-app", "-n", ns, "--cpu-percent=50", "--min=1", "--max=5")
    assert out.stdout.strip() == "horizontalpodautoscaler.autoscaling/my-app autoscaled"

    header, row = cluster.kubectl("get", "hpa", "-n", ns).stdout.splitlines()
    assert header.split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert row.split()[:7] == ["my-app", "Deployment/my-app", "cpu:", "<unknown>/50%", "1", "5", "0"]
    got = json.loads(cluster.kubectl("get", "hpa", "my-app", "-n", ns, "-o", "json").stdout)
    assert got["apiVersion"] == "autoscaling/v2"
    assert got["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 50}}}]
    v1 = json.loads(cluster.kubectl("get", "horizontalpodautoscalers.v1.autoscaling", "my-app", "-n", ns, "-o",
                                    "json").stdout)
    assert v1["apiVersion"] == "autoscaling/v1" and v1["spec"]["targetCPUUtilizationPercentage"] == 50

    assert {"autoscaling/v1", "autoscaling/v2"} <= set(cluster.kubectl("api-versions").stdout.split())
    group = json.loads(cluster.kubectl("get", "--raw", "/apis/autoscaling").stdout)
    assert group["preferredVersion"]["version"] == "v2"
    assert "horizontalpodautoscaler.autoscaling/my-app" in cluster.kubectl("get", "all", "-n", ns, "-o", "name").stdout

    bad = cluster.kubectl("apply", "-n", ns, "-f", "-", check=False,
                          input=json.dumps(autoscaler("bad", minReplicas=3, maxReplicas=2)))
    assert bad.returncode != 0
    assert ('The HorizontalPodAutoscaler "bad" is invalid: spec.maxReplicas: Invalid value: 2: must be '
            "greater than or equal to `minReplicas`") in bad.stderr


def test_one_object_in_both_versions_through_the_python_client(kube, ns):
    v1, v2 = client.AutoscalingV1Api(kube), client.AutoscalingV2Api(kube)
    memory = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                             "averageValue": "100Mi"}}}
    cpu = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
    v2.create_namespaced_horizontal_pod_autoscaler(ns, autoscaler(metrics=[cpu, memory], behavior={
        "scaleDown": {"stabilizationWindowSeconds": 30}}))

    old = v1.read_namespaced_horizontal_pod_autoscaler("web", ns)
    assert old.spec.target_cpu_utilization_percentage == 70 and old.spec.min_replicas == 1
    assert json.loads(old.metadata.annotations["autoscaling.alpha.kubernetes.io/metrics"]) == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}}]
    old.spec.max_replicas = 9
    v1.replace_namespaced_horizontal_pod_autoscaler("web", ns, old)

    new = v2.read_namespaced_horizontal_pod_autoscaler("web", ns)
    assert new.spec.max_replicas == 9 and new.metadata.annotations is None
    assert [m.resource.name for m in new.spec.metrics] == ["memory", "cpu"]  # the v1 round trip puts cpu last
    assert new.spec.behavior.scale_down.stabilization_window_seconds == 30  # a v1 write keeps what it cannot say
    assert new.spec.behavior.scale_up.policies[0].type == "Pods"  # defaults filled in

    new.status = client.V2HorizontalPodAutoscalerStatus(current_replicas=2, desired_replicas=3, current_metrics=[
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 90,
                                                                     "averageValue": "90m"}}}])
    v2.replace_namespaced_horizontal_pod_autoscaler_status("web", ns, new)
    status = v1.read_namespaced_horizontal_pod_autoscaler_status("web", ns).status
    assert (status.current_replicas, status.desired_replicas, status.current_cpu_utilization_percentage) == (2, 3, 90)
    patched = v2.patch_namespaced_horizontal_pod_autoscaler("web", ns, {"spec": {"minReplicas": 2}})
    assert patched.status.desired_replicas == 3  # a spec write keeps the status
    with pytest.raises(ApiException) as err:
        v2.patch_namespaced_horizontal_pod_autoscaler("web", ns, {"spec": {"metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}]}})
    assert err.value.status == 422 and "spec.metrics[0].resource.target.averageUtilization: Required value" in \
        err.value.body


def test_a_v1_watch_sees_v1_objects(kube, ns):
    v1 = client.AutoscalingV1Api(kube)
    seen: list = []
    stream = watch.Watch()

    # from the list's revision: the events after it come whenever the watch connects (a watch without one would
    # begin with the object as it is by then, ADDED already patched, when the thread connects late)
    revision = v1.list_namespaced_horizontal_pod_autoscaler(ns).metadata.resource_version

    def follow() -> None:
        for event in stream.stream(v1.list_namespaced_horizontal_pod_autoscaler, ns, timeout_seconds=20,
                                   resource_version=revision):
            seen.append((event["type"], event["object"].api_version, event["object"].spec.max_replicas))
            if len(seen) == 2:
                stream.stop()

    listener = threading.Thread(target=follow)
    listener.start()
    client.AutoscalingV2Api(kube).create_namespaced_horizontal_pod_autoscaler(ns, autoscaler())
    client.AutoscalingV2Api(kube).patch_namespaced_horizontal_pod_autoscaler("web", ns, {"spec": {"maxReplicas": 6}})
    listener.join(timeout=25)
    assert seen == [("ADDED", "autoscaling/v1", 4), ("MODIFIED", "autoscaling/v1", 6)]
    listed = v1.list_namespaced_horizontal_pod_autoscaler(ns)
    assert listed.api_version == "autoscaling/v1" and listed.items[0].spec.max_replicas == 6
