"""Several ``portside up`` servers on one three-member etcd, and agents joined to them.

The etcd cluster (tests/support/etcd.py, the suite-wide ``etcd_cluster`` fixture) is started once per test process; each test gets its key space
empty. Agents come from tests/join's fixture, which stops them and removes their pods even when a test fails.
"""

from __future__ import annotations

import json
from pathlib import Path

from join.conftest import agents  # noqa: F401 - the fixture, for the tests here
from support.cluster import Cluster


def server(base: Path, name: str, store: str, *flags: str) -> Cluster:
    """A server of the cluster on ``store``: API, scheduler and controllers (the latter two while it leads)."""
    return Cluster(base / name, extra=("--store", store, *flags))


def lease_holder(cluster: Cluster) -> str:
    got = cluster.kubectl("get", "lease", "-n", "kube-system", "portside-controllers", "-o", "json", check=False)
    return json.loads(got.stdout)["spec"].get("holderIdentity", "") if got.returncode == 0 else ""


def identity_of(cluster: Cluster) -> str:
    """The part of a server's holder identity that names it (its address and port)."""
    return f"_127.0.0.1-{cluster.port}_"
