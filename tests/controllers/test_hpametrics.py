"""An autoscaler's metrics list on data: PodMetrics read into usage, each metric's proposal and status entry,
and how failures combine, as Kubernetes' computeReplicasForMetrics combines them."""

from __future__ import annotations

import pytest

from portside.api.models import MetricSpec, Pod, PodMetrics
from portside.controllers.hpametrics import duration, evaluate, pod_usage
from portside.controllers.replicacalc import MetricError, PodMetric

NOW = 1_000_000.0  # 1970-01-12T13:46:40Z
STAMP = "1970-01-12T13:46:39Z"


def pod(name: str, cpu: str = "100m", memory: str = "64Mi") -> Pod:
    return Pod.from_dict({"metadata": {"name": name, "namespace": "ns"}, "spec": {"containers": [
        {"name": "app", "image": "x", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
        "status": {"phase": "Running", "startTime": "1970-01-12T13:00:00Z", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "1970-01-12T13:00:00Z"}]}})


def sample(name: str, window: str = "10s", **containers: dict[str, str]) -> PodMetrics:
    return PodMetrics.from_dict({"metadata": {"name": name, "namespace": "ns"}, "timestamp": STAMP, "window": window,
                                 "containers": [{"name": c, "usage": u} for c, u in containers.items()]})


def resource(name: str, **target) -> MetricSpec:
    return MetricSpec.from_dict({"type": "Resource", "resource": {"name": name, "target": target}})


def test_durations_as_go_writes_them():
    assert [duration(d) for d in ("10s", "1.5s", "1m30s", "250ms", "", None)] == [10, 1.5, 90, 0.25, 0, 0]


def test_pod_usage_sums_containers_and_skips_pods_missing_a_value():
    samples = [sample("a", app={"cpu": "150m", "memory": "10Mi"}, log={"cpu": "50m", "memory": "1Mi"}),
               sample("b", app={"cpu": "20m"}, log={"memory": "1Mi"}),  # log has no cpu: b has no cpu sample
               sample("c")]  # no containers yet
    assert pod_usage(samples, "cpu") == {"a": PodMetric(200, NOW - 1, 10.0)}
    assert pod_usage(samples, "cpu", "app") == {"a": PodMetric(150, NOW - 1, 10.0), "b": PodMetric(20, NOW - 1, 10.0)}
    assert pod_usage(samples, "memory")["a"].value == 11 * 2**20 * 1000


def test_utilization_metric_proposes_and_reports_the_status():
    samples = [sample("a", app={"cpu": "200m"}), sample("b", app={"cpu": "100m"})]
    got = evaluate([resource("cpu", type="Utilization", averageUtilization=50)], 2, [pod("a"), pod("b")], samples,
                   "ns", now=NOW, tolerance=0.1)
    # 300m of 200m requested is 150 % against 50 %: 3 x 2 = 6
    assert (got.replicas, got.name, got.failures) == (6, "cpu resource utilization (percentage of request)", [])
    assert got.statuses[0].to_dict() == {"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageValue": "150m", "averageUtilization": 150}}}


def test_average_value_metric_reports_a_canonical_quantity():
    samples = [sample("a", app={"memory": "96Mi"}), sample("b", app={"memory": "32Mi"})]
    got = evaluate([resource("memory", type="AverageValue", averageValue="32Mi")], 2, [pod("a"), pod("b")], samples,
                   "ns", now=NOW, tolerance=0.1)
    assert (got.replicas, got.name) == (4, "memory resource")  # 64Mi on average against 32Mi
    assert got.statuses[0].resource.current.to_dict() == {"averageValue": "67108864"}


def test_container_metric_reads_its_container():
    metric = MetricSpec.from_dict({"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app", "target": {"type": "Utilization", "averageUtilization": 100}}})
    samples = [sample("a", app={"cpu": "200m"}, log={"cpu": "900m"})]
    got = evaluate([metric], 1, [pod("a")], samples, "ns", now=NOW, tolerance=0.1)
    assert (got.replicas, got.name) == (2, "cpu container resource utilization (percentage of request)")
    assert got.statuses[0].to_dict() == {"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app", "current": {"averageValue": "200m", "averageUtilization": 200}}}


def test_the_highest_proposal_wins():
    samples = [sample("a", app={"cpu": "50m", "memory": "128Mi"})]
    got = evaluate([resource("cpu", type="Utilization", averageUtilization=50),
                    resource("memory", type="Utilization", averageUtilization=50)], 1, [pod("a")], samples, "ns",
                   now=NOW, tolerance=0.1)
    assert (got.replicas, got.name) == (4, "memory resource utilization (percentage of request)")  # 200 % of 64Mi


def test_no_samples_fail_every_resource_metric():
    got = evaluate([resource("cpu", type="Utilization", averageUtilization=50)], 2, [pod("a")],
                   MetricError("no metrics returned from resource metrics API"), "ns", now=NOW, tolerance=0.1)
    assert got.replicas == -1 and [s.to_dict() for s in got.statuses] == [{"type": ""}]
    [failure] = got.failures
    assert (failure.reason, failure.message) == (
        "FailedGetResourceMetric",
        "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource "
        "metrics API")
    assert got.error == ("invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric "
                         "value: " + failure.message)


@pytest.mark.parametrize("usage,want", [("300m", 6), ("10m", -1)])
def test_a_failed_metric_allows_a_scale_up_never_a_scale_down(usage, want):
    custom = MetricSpec.from_dict({"type": "Pods", "pods": {"metric": {"name": "requests"},
                                                            "target": {"type": "AverageValue", "averageValue": "10"}}})
    got = evaluate([custom, resource("cpu", type="Utilization", averageUtilization=100)], 2, [pod("a"), pod("b")],
                   [sample("a", app={"cpu": usage}), sample("b", app={"cpu": usage})], "ns", now=NOW, tolerance=0.1)
    assert got.replicas == want  # 300 % of two pods asks for 6; 10 % would ask for 1, which the failure forbids
    assert got.failures[0].reason == "FailedGetPodsMetric"
    assert got.failures[0].message == ("unable to get metric requests: unable to fetch metrics from custom metrics "
                                       "API: no custom metrics API (custom.metrics.k8s.io) registered")
    assert got.error.startswith("invalid metrics (1 invalid out of 2), first error is: failed to get pods metric value")


def test_external_metric_failure_names_its_api():
    external = MetricSpec.from_dict({"type": "External", "external": {"metric": {"name": "queue"},
                                                                      "target": {"type": "Value", "value": "5"}}})
    got = evaluate([external], 1, [pod("a")], [], "ns", now=NOW, tolerance=0.1)
    assert got.failures[0].reason == "FailedGetExternalMetric" and "external.metrics.k8s.io" in got.failures[0].message
