"""The etcd cluster the store's tests share: three members on loopback, started once per test process."""

import pytest
from etcd_cluster import EtcdCluster


@pytest.fixture(scope="session")
def etcd_cluster(tmp_path_factory):
    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd"))
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def etcd_url(etcd_cluster):
    """The cluster's store URL, its key space empty (what an earlier test wrote is deleted)."""
    etcd_cluster.wipe()
    return etcd_cluster.store_url
