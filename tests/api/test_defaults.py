"""Defaults as Kubernetes applies them; applying them twice changes nothing."""

import copy

import pytest
from support.builders import deployment, job, pod, service

from portside.api.defaults import apply_defaults, pull_policy


@pytest.mark.parametrize(
    ("image", "policy"),
    [("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.25", "IfNotPresent"),
     ("registry:5000/app", "Always"), ("registry:5000/app:v1", "IfNotPresent"), ("app@sha256:abc", "IfNotPresent")],
)
def test_pull_policy_follows_the_tag(image: str, policy: str) -> None:
    assert pull_policy(image) == policy


def test_pod_defaults() -> None:
    obj = pod(containers=[{"name": "a", "image": "x:1", "ports": [{"containerPort": 80}],
                           "resources": {"limits": {"cpu": "1"}},
                           "livenessProbe": {"httpGet": {"port": 80}}}], volumes=[{"name": "scratch"}])
    spec = apply_defaults("Pod", obj)["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["terminationGracePeriodSeconds"], spec["schedulerName"]) \
        == ("Always", "ClusterFirst", 30, "default-scheduler")
    c = spec["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert (c["terminationMessagePath"], c["terminationMessagePolicy"]) == ("/dev/termination-log", "File")
    assert c["ports"][0]["protocol"] == "TCP"
    assert c["resources"]["requests"] == {"cpu": "1"}  # requests default to limits
    assert c["livenessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                                  "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert spec["volumes"] == [{"name": "scratch", "emptyDir": {}}]


def test_explicit_values_are_kept() -> None:
    obj = pod(restartPolicy="Never", containers=[{"name": "a", "image": "x", "imagePullPolicy": "Never",
                                                  "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "500m"}}}])
    spec = apply_defaults("Pod", obj)["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["containers"][0]["imagePullPolicy"] == "Never"
    assert spec["containers"][0]["resources"]["requests"] == {"cpu": "500m"}


def test_deployment_defaults() -> None:
    spec = apply_defaults("Deployment", deployment())["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    recreate = apply_defaults("Deployment", deployment(strategy={"type": "Recreate"}, replicas=None))["spec"]
    assert recreate["strategy"] == {"type": "Recreate"}


def test_replicas_default_to_one() -> None:
    obj = deployment()
    del obj["spec"]["replicas"]
    assert apply_defaults("Deployment", obj)["spec"]["replicas"] == 1


def test_service_defaults() -> None:
    spec = apply_defaults("Service", service())["spec"]
    assert (spec["type"], spec["sessionAffinity"]) == ("ClusterIP", "None")
    assert spec["ports"] == [{"port": 80, "targetPort": 5000, "protocol": "TCP"}]
    no_target = apply_defaults("Service", service(ports=[{"port": 8080}], type="LoadBalancer"))["spec"]
    assert no_target["ports"][0]["targetPort"] == 8080
    assert no_target["externalTrafficPolicy"] == "Cluster" and no_target["allocateLoadBalancerNodePorts"] is True


def test_job_defaults() -> None:
    spec = apply_defaults("Job", job())["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert spec["completionMode"] == "NonIndexed"
    parallel = apply_defaults("Job", job(parallelism=3))["spec"]
    assert "completions" not in parallel and parallel["parallelism"] == 3


def test_secret_string_data_folds_into_data() -> None:
    obj = {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
    out = apply_defaults("Secret", obj)
    assert out == {"kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque", "data": {"password": "aHVudGVyMg=="}}


@pytest.mark.parametrize("build", [pod, deployment, job, service])
def test_defaults_are_idempotent(build) -> None:  # type: ignore[no-untyped-def]
    kind = build()["kind"]
    once = apply_defaults(kind, build())
    assert apply_defaults(kind, copy.deepcopy(once)) == once
