"""The controllers' cluster runs only the API server, the garbage collector and the workload controllers (no
scheduler and no node: the kubelet double plays both parts through the API, as these tests direct it); the
double's harness; the official Python client."""

import kubernetes
import pytest
from kubelet_double import Harness
from support.cluster import only


@pytest.fixture(scope="module")
def up_flags() -> tuple[str, ...]:
    return only("garbage-collector", "workload-controllers")


def _supervisor_runs_controllers() -> bool:
    from portside.supervisor import COMPONENTS
    return any(c.name == "workload-controllers" for c in COMPONENTS)


@pytest.fixture(scope="module")
def harness(cluster):
    h = Harness(cluster.kubeconfig, with_controllers=not _supervisor_runs_controllers())
    try:
        yield h
    finally:
        h.close()


@pytest.fixture(scope="module")
def k8s(cluster):
    """The official Python client (what users script with), on the cluster's admin kubeconfig."""
    api = kubernetes.config.new_client_from_config(config_file=cluster.kubeconfig)
    try:
        yield api
    finally:
        api.close()
