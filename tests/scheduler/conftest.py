"""Fixtures of the scheduler's tests."""

import pytest

from .builders import make_cluster


@pytest.fixture
def cluster():
    """``cluster(nodes, profile=...)`` -> a Cluster with an in-memory binder."""
    return make_cluster
