"""The resource quota controller on a real API server: status.hard follows the spec, status.used is counted from
the namespace's objects and follows them as pods finish or go, a wrong count is put right, and a quota is
recounted as soon as what it caps changes (a kind it starts to cap is followed from then on)."""

import asyncio
import json

import kubernetes
import pytest
from support.cluster import only
from support.wait import eventually, eventually_async

from portside.api.models import Pod
from portside.client import Client
from portside.controllers.resourcequota import ResourceQuotaController, usage_may_change


@pytest.fixture(scope="module")
def up_flags() -> tuple[str, ...]:
    return only("resourcequota-controller")


@pytest.fixture(scope="module")
def core(cluster):
    api_client = kubernetes.config.new_client_from_config(config_file=cluster.kubeconfig)
    yield kubernetes.client.CoreV1Api(api_client)
    api_client.close()


@pytest.fixture
def ns(cluster, request):
    return cluster.namespace(request.node.name.replace("_", "-")[:50].strip("-").lower())


def quota(core, ns, hard, name="q"):
    core.create_namespaced_resource_quota(ns, {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name},
                                               "spec": {"hard": hard}})


def used_becomes(core, ns, want, name="q"):
    def check():
        status = core.read_namespaced_resource_quota(name, ns).status
        return status is not None and status.used == want
    eventually(check, timeout=20, what=f"quota {name} to count {want}")


def make_pod(core, ns, name, cpu="100m"):
    core.create_namespaced_pod(ns, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}]}})


def test_usage_is_counted_from_what_exists(core, ns):
    make_pod(core, ns, "before", "250m")
    quota(core, ns, {"pods": "10", "requests.cpu": "4", "count/pods": "10"})
    used_becomes(core, ns, {"pods": "1", "requests.cpu": "250m", "count/pods": "1"})
    assert core.read_namespaced_resource_quota("q", ns).status.hard == {"pods": "10", "requests.cpu": "4",
                                                                        "count/pods": "10"}


def test_finished_and_deleted_pods_give_their_usage_back(core, ns):
    quota(core, ns, {"pods": "10", "requests.cpu": "4", "count/pods": "10"})
    used_becomes(core, ns, {"pods": "0", "requests.cpu": "0", "count/pods": "0"})
    for name in ("a", "b"):
        make_pod(core, ns, name, "500m")
    used_becomes(core, ns, {"pods": "2", "requests.cpu": "1", "count/pods": "2"})
    core.patch_namespaced_pod_status("a", ns, {"status": {"phase": "Succeeded"}})
    used_becomes(core, ns, {"pods": "1", "requests.cpu": "500m", "count/pods": "2"})  # count/pods counts all
    core.delete_namespaced_pod("b", ns, grace_period_seconds=0)
    used_becomes(core, ns, {"pods": "0", "requests.cpu": "0", "count/pods": "1"})


def test_a_missing_count_is_put_right_and_hard_follows_the_spec(cluster, core, ns):
    quota(core, ns, {"configmaps": "5"})
    used_becomes(core, ns, {"configmaps": "0"})
    current = core.read_namespaced_resource_quota("q", ns)
    current.status.used = {}
    core.replace_namespaced_resource_quota_status("q", ns, current)
    used_becomes(core, ns, {"configmaps": "0"})
    cluster.kubectl("patch", "quota", "q", "-n", ns, "--type=merge", "-p",
                    json.dumps({"spec": {"hard": {"configmaps": "1", "secrets": "2"}}}))
    eventually(lambda: core.read_namespaced_resource_quota("q", ns).status.hard == {"configmaps": "1", "secrets": "2"},
               timeout=20, what="status.hard to follow the spec")
    core.create_namespaced_secret(ns, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})
    used_becomes(core, ns, {"configmaps": "0", "secrets": "1"})
    core.delete_namespaced_secret("s", ns)
    used_becomes(core, ns, {"configmaps": "0", "secrets": "0"})  # secrets are followed since the quota caps them


def test_usage_that_drifted_is_put_right_by_the_periodic_recount(cluster, core, ns):
    """Usage admission wrote does not requeue a quota (every create would recount the namespace); the periodic
    recount finds a count that drifted. Run here with a short period, beside the cluster's own controller."""
    quota(core, ns, {"configmaps": "5"})
    used_becomes(core, ns, {"configmaps": "0"})
    current = core.read_namespaced_resource_quota("q", ns)
    current.status.used = {"configmaps": "4"}
    core.replace_namespaced_resource_quota_status("q", ns, current)

    async def recount() -> None:
        async with Client.from_kubeconfig(cluster.kubeconfig) as client:
            controller = asyncio.create_task(ResourceQuotaController(client, resync=0.2).run())
            try:
                async def counted():
                    return (await client.raw.get("resourcequotas", "q", ns))["status"]["used"] == {"configmaps": "0"}
                await eventually_async(counted, timeout=20, what="the recount to put the usage right")
            finally:
                controller.cancel()
                await asyncio.gather(controller, return_exceptions=True)
    asyncio.run(recount())


def test_which_updates_can_change_usage():
    def pod(phase, deleting=False):
        meta = {"name": "p", "deletionTimestamp": "2026-01-01T00:00:00Z"} if deleting else {"name": "p"}
        return Pod.from_dict({"metadata": meta, "status": {"phase": phase}})

    pods = ("", "pods")
    assert usage_may_change(pods, pod("Succeeded"), pod("Running"))
    assert usage_may_change(pods, pod("Running", deleting=True), pod("Running"))
    assert not usage_may_change(pods, pod("Running"), pod("Running"))
    assert not usage_may_change(("", "configmaps"), object(), object())
