"""The replica calculator on data: the cases of Kubernetes' replica_calculator_test.go (scale up and down,
tolerance, unready, missing, failed and deleted pods, raw averages, container metrics), each worked out by hand
in its comment."""

from __future__ import annotations

import pytest

from portside.api.models import Pod
from portside.controllers.replicacalc import (
    MetricError,
    PodMetric,
    Timing,
    group_pods,
    raw_replicas,
    requests_of,
    resource_replicas,
)

NOW = 1_000_000.0  # 1970-01-12T13:46:40Z
LONG_AGO = "1970-01-12T13:00:00Z"  # NOW - 46 min: past the 5 min CPU initialization period
RECENT = "1970-01-12T13:45:30Z"  # NOW - 70 s: still initializing


def pod(name: str, request: str = "1000m", *, ready: bool = True, phase: str = "Running", started: str = LONG_AGO,
        ready_since: str = LONG_AGO, deleting: bool = False, resource: str = "cpu", containers: int = 1) -> Pod:
    meta = {"name": name, "namespace": "ns"}
    if deleting:
        meta["deletionTimestamp"] = LONG_AGO
    specs = [{"name": f"c{i}", "image": "busybox", "resources": {"requests": {resource: request}}}
             for i in range(containers)]
    status = {"phase": phase, "startTime": started,
              "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                              "lastTransitionTime": ready_since}]}
    return Pod.from_dict({"metadata": meta, "spec": {"containers": specs}, "status": status})


def usage(**values: int) -> dict[str, PodMetric]:
    """Samples taken a second ago over a 10 s window."""
    return {name: PodMetric(value, NOW - 1, 10.0) for name, value in values.items()}


def cpu(current: int, target: int, pods: list[Pod], metrics: dict[str, PodMetric], **kw):
    return resource_replicas(current, target, "cpu", pods, metrics, now=NOW, **kw)


def test_scale_up():
    # 1500m of 3000m requested is 50 %; against 30 %: 1.67 x 3 pods -> 5
    pods = [pod("a"), pod("b"), pod("c")]
    got = cpu(3, 30, pods, usage(a=300, b=500, c=700))
    assert (got.replicas, got.utilization, got.average) == (5, 50, 500)


def test_scale_down():
    # 1400m of 5000m is 28 %; against 50 %: 0.56 x 5 = 2.8 -> 3
    pods = [pod(n) for n in "abcde"]
    got = cpu(5, 50, pods, usage(a=100, b=300, c=500, d=250, e=250))
    assert (got.replicas, got.utilization, got.average) == (3, 28, 280)


def test_within_tolerance_nothing_changes():
    # 3060m of 3300m is 92 % (rounded down); 0.92 is within 10 % of the 100 % target
    pods = [pod("a", "1100m"), pod("b", "1080m"), pod("c", "1120m")]
    assert cpu(3, 100, pods, usage(a=1010, b=1030, c=1020)).replicas == 3


def test_tolerance_is_configurable():
    # 108 % against 100 %: within the default 10 %, not within 5 % (1.08 x 3 = 3.24 -> 4)
    pods = [pod("a"), pod("b"), pod("c")]
    assert cpu(3, 100, pods, usage(a=1080, b=1080, c=1080)).replicas == 3
    assert cpu(3, 100, pods, usage(a=1080, b=1080, c=1080), tolerance=0.05).replicas == 4


def test_tolerance_boundary_follows_kubernetes_float_arithmetic():
    # 55 % over 50 % is 1.1 exactly in decimal, but |1 - 1.1| is a hair above 0.1 in binary: Kubernetes scales
    pods = [pod("a"), pod("b")]
    assert cpu(2, 50, pods, usage(a=550, b=550)).replicas == 3
    assert cpu(2, 50, pods, usage(a=540, b=540)).replicas == 2  # 54 %: within


def test_unready_pods_damp_a_scale_up():
    # The ready two use 1200m of 2000m, 60 % against 30 %; the unready one counts as 0 %:
    # 1200m of 3000m is 40 % -> 1.33 x 3 = 4 (not the 6 the ready pods alone would ask for)
    pods = [pod("a", ready=False), pod("b"), pod("c")]
    got = cpu(3, 30, pods, usage(a=300, b=500, c=700))
    assert (got.replicas, got.utilization, got.average) == (4, 60, 600)


def test_unready_pods_are_left_out_of_a_scale_down():
    # Only b and c count: 800m of 2000m is 40 % against 50 % -> 0.8 x 2 ready pods = 2
    pods = [pod("a", ready=False), pod("b"), pod("c"), pod("d", ready=False), pod("e", ready=False)]
    got = cpu(5, 50, pods, usage(a=100, b=300, c=500, d=250, e=250))
    assert (got.replicas, got.utilization) == (2, 40)


def test_a_scale_up_that_unready_pods_would_turn_into_a_scale_down_does_nothing():
    # b alone is at 50 % against 30 %; a and c at 0 % make it 16 % of 3000m: the direction flips, so no change
    pods = [pod("a", ready=False, started=RECENT, ready_since=RECENT), pod("b"),
            pod("c", ready=False, started=RECENT, ready_since=RECENT)]
    got = cpu(3, 30, pods, usage(a=300, b=500, c=700))
    assert (got.replicas, got.utilization, got.average) == (3, 50, 500)


def test_missing_pods_count_as_idle_on_a_scale_up():
    # a is at 100 % against 40 %; b has no sample and counts as 0: 1000m of 2000m is 50 % -> 1.25 x 2 = 3
    assert cpu(2, 40, [pod("a"), pod("b")], usage(a=1000)).replicas == 3


def test_missing_pods_count_as_fully_used_on_a_scale_down():
    # 10 % against 50 %; d has no sample and counts as its whole request: 1300m of 4000m is 32 % -> 2.56 -> 3
    pods = [pod(n) for n in "abcd"]
    assert cpu(4, 50, pods, usage(a=100, b=100, c=100)).replicas == 3


def test_missing_pods_count_as_the_target_when_it_is_above_100_percent():
    # 10 % against 150 %; d counts as 150 % of its request: 1800m of 4000m is 45 % -> 0.3 x 4 = 1.2 -> 2
    pods = [pod(n) for n in "abcd"]
    assert cpu(4, 150, pods, usage(a=100, b=100, c=100)).replicas == 2


def test_missing_pods_at_the_target_change_nothing():
    assert cpu(2, 100, [pod("a"), pod("b")], usage(a=1000)).replicas == 2


def test_failed_and_deleted_pods_are_ignored():
    # a and b: 1200m of 2000m, 60 % against 30 % -> 2 x 2 = 4; the failed and the terminating ones do not count
    pods = [pod("a"), pod("b"), pod("c", phase="Failed"), pod("d", deleting=True)]
    assert cpu(2, 30, pods, usage(a=500, b=700, c=300, d=300)).replicas == 4


def test_pending_pods_are_unready():
    groups = group_pods([pod("a", phase="Pending"), pod("b")], usage(b=1), "cpu", NOW)
    assert (groups.ready, groups.unready) == (1, {"a"})


def test_cpu_readiness_follows_the_initialization_period():
    metrics = {"fresh": PodMetric(1, NOW - 1, 10.0), "warm": PodMetric(1, NOW - 1, 10.0),
               "never": PodMetric(1, NOW - 1, 10.0), "flapped": PodMetric(1, NOW - 1, 10.0)}
    pods = [
        # Ready 5 s ago, within the initialization period: its sample still covers the time before it was Ready
        pod("fresh", started="1970-01-12T13:45:00Z", ready_since="1970-01-12T13:46:35Z"),
        # Ready for 30 s: a whole window of samples since
        pod("warm", started="1970-01-12T13:45:00Z", ready_since="1970-01-12T13:46:10Z"),
        # started long ago and never Ready (not Ready since within 30 s of its start)
        pod("never", ready=False, started=LONG_AGO, ready_since="1970-01-12T13:00:10Z"),
        # Ready once, unready later: its usage is real and counts
        pod("flapped", ready=False, started=LONG_AGO, ready_since="1970-01-12T13:30:00Z"),
    ]
    groups = group_pods(pods, metrics, "cpu", NOW)
    assert groups.unready == {"fresh", "never"} and groups.ready == 2
    shorter = Timing(cpu_initialization_period=60.0)  # fresh's start is 100 s ago: past a 60 s period
    assert "fresh" not in group_pods(pods, metrics, "cpu", NOW, shorter).unready


def test_readiness_matters_only_for_cpu():
    pods = [pod("a", ready=False, resource="memory")]
    assert group_pods(pods, usage(a=1), "memory", NOW).ready == 1


def test_memory_utilization_in_bytes():
    # 96Mi and 32Mi used of 64Mi each: 100 % against 50 % -> 4; the average is 64Mi in millibytes
    pods = [pod("a", "64Mi", resource="memory"), pod("b", "64Mi", resource="memory")]
    got = resource_replicas(2, 50, "memory", pods, usage(a=96 * 2**20 * 1000, b=32 * 2**20 * 1000), now=NOW)
    assert (got.replicas, got.utilization, got.average) == (4, 100, 64 * 2**20 * 1000)


def test_raw_average_value():
    # 20 cores on average against 15 -> 1.33 x 3 = 4
    pods = [pod("a"), pod("b"), pod("c")]
    got = raw_replicas(3, 15000, "cpu", pods, usage(a=20000, b=10000, c=30000), now=NOW)
    assert (got.replicas, got.average, got.utilization) == (4, 20000, None)


def test_raw_average_missing_pod_counts_as_the_target_on_a_scale_down():
    # a and b at 5000 against 10000; c counts as 10000: 6666 average -> 0.67 x 3 = 2
    pods = [pod("a"), pod("b"), pod("c")]
    assert raw_replicas(3, 10000, "cpu", pods, usage(a=5000, b=5000), now=NOW).replicas == 2


def test_container_metric_reads_one_container_request():
    p = Pod.from_dict({"metadata": {"name": "a"}, "status": {"phase": "Running"}, "spec": {"containers": [
        {"name": "app", "image": "x", "resources": {"requests": {"memory": "100Mi"}}},
        {"name": "log", "image": "x", "resources": {"requests": {"memory": "10Mi"}}}]}})
    assert requests_of([p], "memory", "app") == {"a": 100 * 2**20 * 1000}
    assert requests_of([p], "memory") == {"a": 110 * 2**20 * 1000}
    with pytest.raises(MetricError, match="container web not found in Pod a"):
        requests_of([p], "memory", "web")


def test_sidecars_requests_count_init_containers_do_not():
    p = Pod.from_dict({"metadata": {"name": "a"}, "spec": {
        "containers": [{"name": "app", "image": "x", "resources": {"requests": {"cpu": "100m"}}}],
        "initContainers": [{"name": "setup", "image": "x", "resources": {"requests": {"cpu": "1"}}},
                           {"name": "proxy", "image": "x", "restartPolicy": "Always",
                            "resources": {"requests": {"cpu": "50m"}}}]}})
    assert requests_of([p], "cpu") == {"a": 150}


@pytest.mark.parametrize("pods,metrics,message", [
    ([], {}, "no pods returned by selector while calculating replica count"),
    ([pod("a", ready=False)], usage(a=100), "did not receive metrics for targeted pods (pods might be unready)"),
    ([Pod.from_dict({"metadata": {"name": "a"}, "status": {"phase": "Running", "startTime": LONG_AGO, "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": LONG_AGO}]},
        "spec": {"containers": [{"name": "c", "image": "x"}]}})], usage(a=100),
     "missing request for cpu in container c of Pod a"),
])
def test_errors_say_why_in_kubernetes_words(pods, metrics, message):
    with pytest.raises(MetricError) as got:
        cpu(1, 50, pods, metrics)
    assert str(got.value) == message
