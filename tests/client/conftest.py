"""One ``portside up`` per test module (each test works in its own namespace), stopped even on failure."""

import pytest
from support.cluster import Cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster") / "data").start()
    try:
        yield c
    finally:
        c.stop()
