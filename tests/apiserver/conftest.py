"""One ``portside up`` per test module (each test works in its own namespace), stopped even on failure.

A module sets ``UP_FLAGS`` to choose the components that run beside the API server (see ``support.cluster.only``):
tests of the API's own semantics run without controllers that would write to their objects.
"""

import pytest
from support.cluster import Cluster


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    flags = tuple(getattr(request.module, "UP_FLAGS", ()))
    c = Cluster(tmp_path_factory.mktemp("cluster") / "data", extra=flags).start()
    try:
        yield c
    finally:
        c.stop()
