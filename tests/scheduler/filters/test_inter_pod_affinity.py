from support.builders import match
from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.model import PodAffinityTerm

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"


def nodes():
    return [node("a1", cpu=8, labels={ZONE: "a"}), node("a2", labels={ZONE: "a"}),
            node("b1", cpu=8, labels={ZONE: "b"}), node("nozone", cpu=16)]


def term(key: str, app: str) -> PodAffinityTerm:
    return PodAffinityTerm(match(app=app), key)


def test_affinity_follows_the_matching_pod_into_its_zone(cluster):
    c = cluster(nodes())
    c.bind(pod("db", labels={"app": "db"}), "a2")
    assert c.place(pod("web", affinity=(term(ZONE, "db"),))) == "a1"


def test_affinity_without_any_match_is_refused(cluster):
    c = cluster(nodes())
    assert "4 node(s) didn't match pod affinity rules" in c.refusal(pod("web", affinity=(term(ZONE, "db"),)))


def test_first_pod_of_a_group_matching_its_own_term_may_start(cluster):
    c = cluster(nodes())
    first = pod("db-0", labels={"app": "db"}, affinity=(term(ZONE, "db"),))
    assert c.place(first) in {"a1", "b1"}  # never the node without the zone key


def test_anti_affinity_keeps_replicas_apart(cluster):
    c = cluster(nodes())
    placed = [c.place(pod(f"r{i}", labels={"app": "r"}, anti_affinity=(term(ZONE, "r"),))) for i in range(2)]
    assert sorted(placed) == ["a1", "b1"]
    assert c.refusal(pod("other", anti_affinity=(term(ZONE, "r"),), node_selector={ZONE: "a"})).startswith(
        "0/4 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, "
        "2 node(s) didn't match pod anti-affinity rules.")


def test_existing_pods_anti_affinity_is_symmetric(cluster):
    c = cluster([node("h1", cpu=8), node("h2")])
    c.bind(pod("loner", labels={"app": "loner"}, anti_affinity=(term(HOST, "web"),)), "h1")
    assert c.place(pod("web", labels={"app": "web"})) == "h2"
    assert "1 node(s) didn't satisfy existing pods anti-affinity rules" in c.refusal(
        pod("web2", labels={"app": "web"}, node_name="h1"))


def test_affinity_is_namespaced(cluster):
    c = cluster(nodes())
    c.bind(pod("db", namespace="other", labels={"app": "db"}), "b1")
    assert c.place(pod("web", affinity=(term(ZONE, "db"),))) is None
    across = PodAffinityTerm(match(app="db"), ZONE, ("other",))
    assert c.place(pod("web2", affinity=(across,))) == "b1"
