from support.builders import match
from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.model import PodAffinityTerm, WeightedPodAffinityTerm

HOST = "kubernetes.io/hostname"


def weighted(weight: int, app: str) -> tuple[WeightedPodAffinityTerm, ...]:
    return (WeightedPodAffinityTerm(weight, PodAffinityTerm(match(app=app), HOST)),)


def test_preferred_affinity_draws_towards_the_matching_pod(cluster):
    c = cluster([node("cache-host"), node("empty", cpu=16)])
    c.bind(pod("cache", labels={"app": "cache"}), "cache-host")
    assert c.place(pod("web", preferred_affinity=weighted(100, "cache"))) == "cache-host"


def test_preferred_anti_affinity_pushes_away(cluster):
    c = cluster([node("busy", cpu=16), node("other")])
    c.bind(pod("noisy", labels={"app": "noisy"}), "busy")
    assert c.place(pod("quiet", preferred_anti_affinity=weighted(100, "noisy"))) == "other"
