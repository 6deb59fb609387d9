"""The package's ``__all__`` is its contract: every name is there, and nothing else is needed by users."""

import portside.scheduler as scheduler
from portside.scheduler import filters, scores


def test_all_names_exist():
    for module in (scheduler, filters, scores):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_registries_match_plugin_names():
    assert set(filters.REGISTRY) == {"NodeName", "NodeUnschedulable", "NodeAffinity", "TaintToleration",
                                     "NodePorts", "NodeResourcesFit", "InterPodAffinity", "PodTopologySpread",
                                     "VolumeBinding"}
    assert set(scores.REGISTRY) == {"NodeResourcesFit", "NodeResourcesBalancedAllocation", "NodeAffinity",
                                    "TaintToleration", "InterPodAffinity", "PodTopologySpread", "ImageLocality"}
    for name, cls in {**filters.REGISTRY, **scores.REGISTRY}.items():
        assert cls.NAME == name
