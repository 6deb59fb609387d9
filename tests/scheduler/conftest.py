"""Fixtures of the scheduler's tests."""

import pytest
from support.builders import make_cluster


@pytest.fixture
def cluster():
    """``cluster(nodes, profile=...)`` -> an InMemoryCluster (a scheduler with an in-memory binder)."""
    return make_cluster
