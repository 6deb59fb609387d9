"""One ``portside up`` per test module (each test works in its own namespace), stopped even on failure; the
kubelet double that plays the node agent's part through the API; the official Python client."""

import kubernetes
import pytest
from kubelet_double import Harness
from support.cluster import Cluster, only


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    # No scheduler and no node: the kubelet double plays both parts through the API, as these tests direct it.
    c = Cluster(tmp_path_factory.mktemp("cluster") / "data", extra=only("garbage-collector", "workload-controllers"))
    c.start()
    try:
        yield c
    finally:
        c.stop()


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
