"""Nil versus empty selectors, per field, as pods arrive from the API (Kubernetes' rules, compiled by
``portside.api.selectors``): the scheduler must agree with every other part of the project."""

from portside.scheduler import InMemoryBinder, Scheduler, node_from_wire, pod_from_wire

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"


def node(name: str, zone: str, cpu: str = "4") -> dict:
    return {"metadata": {"name": name, "labels": {ZONE: zone}},
            "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"}}}


def pod(name: str, namespace: str = "default", labels: dict | None = None, cpu: str = "100m", **spec) -> dict:
    container = {"name": "c", "image": "app", "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": "x"}},
            "spec": {"containers": [container], **spec}}


def cluster(*nodes: dict, running: tuple[tuple[dict, str], ...] = ()) -> tuple[Scheduler, InMemoryBinder]:
    binder = InMemoryBinder()
    sched = Scheduler(binder)
    for n in nodes:
        sched.set_node(node_from_wire(n), 0.0)
    for p, where in running:
        sched.pod_bound(pod_from_wire(p), where, 0.0)
    return sched, binder


def place(sched: Scheduler, binder: InMemoryBinder, obj: dict) -> str | None:
    info = pod_from_wire(obj)
    sched.enqueue(info, 0.0)
    sched.run(0.0)
    return binder.bound.get(info.uid)


def two_zones_with_x_pods_in_a():
    """a1 (zone a) runs two app=x pods; b1 (zone b) has room for none of the new pods."""
    return cluster(node("a1", "a"), node("b1", "b", cpu="50m"),
                   running=((pod("x1"), "a1"), (pod("x2"), "a1")))


def spread(selector: dict | None) -> dict:
    c = {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule"}
    return {"topologySpreadConstraints": [c | ({"labelSelector": selector} if selector is not None else {})]}


def test_spread_constraint_without_selector_counts_no_pods():
    sched, binder = two_zones_with_x_pods_in_a()
    assert place(sched, binder, pod("new", **spread(None))) == "a1"


def test_spread_constraint_with_empty_selector_counts_every_pod():
    sched, binder = two_zones_with_x_pods_in_a()
    assert place(sched, binder, pod("new", **spread({}))) is None
    assert "didn't match pod topology spread constraints" in binder.refusals["default/new"]


def pod_affinity(kind: str, term: dict) -> dict:
    term = {"topologyKey": HOST} | term
    return {"affinity": {kind: {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}}


def test_affinity_term_without_selector_matches_no_pod():
    sched, binder = cluster(node("a1", "a"), node("a2", "a"), running=((pod("x1"), "a1"),))
    assert place(sched, binder, pod("new", labels={"app": "y"}, **pod_affinity("podAffinity", {}))) is None
    assert "didn't match pod affinity rules" in binder.refusals["default/new"]


def test_affinity_term_with_empty_selector_matches_every_pod():
    sched, binder = cluster(node("a1", "a"), node("a2", "a"), running=((pod("x1"), "a1"),))
    assert place(sched, binder, pod("new", labels={"app": "y"},
                                    **pod_affinity("podAffinity", {"labelSelector": {}}))) == "a1"


def test_anti_affinity_term_without_selector_keeps_out_of_nothing():
    sched, binder = cluster(node("a1", "a"), running=((pod("x1"), "a1"),))
    assert place(sched, binder, pod("new", **pod_affinity("podAntiAffinity", {}))) == "a1"


def test_anti_affinity_term_with_empty_selector_keeps_out_of_every_pod():
    sched, binder = cluster(node("a1", "a"), node("a2", "a"), running=((pod("x1"), "a1"),))
    obj = pod("new", **pod_affinity("podAntiAffinity", {"labelSelector": {}}))
    assert place(sched, binder, obj) == "a2"


def test_empty_namespace_selector_means_every_namespace():
    running = ((pod("x1", namespace="other"), "a1"),)
    sched, binder = cluster(node("a1", "a"), node("a2", "a"), running=running)
    own_namespace = pod_affinity("podAffinity", {"labelSelector": {"matchLabels": {"app": "x"}}})
    assert place(sched, binder, pod("mine", labels={"app": "y"}, **own_namespace)) is None
    every = pod_affinity("podAffinity", {"labelSelector": {"matchLabels": {"app": "x"}}, "namespaceSelector": {}})
    assert place(sched, binder, pod("every", labels={"app": "y"}, **every)) == "a1"


def node_affinity(terms: list) -> dict:
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": terms}}}}


def test_required_node_affinity_with_no_terms_or_an_empty_term_matches_no_node():
    sched, binder = cluster(node("a1", "a"))
    assert place(sched, binder, pod("none", **node_affinity([]))) is None
    assert place(sched, binder, pod("empty", **node_affinity([{}]))) is None
    assert "didn't match Pod's node affinity/selector" in binder.refusals["default/none"]


def test_required_node_affinity_match_fields_names_the_node():
    sched, binder = cluster(node("a1", "a"), node("a2", "a"))
    by_name = [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a2"]}]}]
    assert place(sched, binder, pod("p", **node_affinity(by_name))) == "a2"


def test_empty_node_selector_map_matches_every_node():
    sched, binder = cluster(node("a1", "a"))
    assert place(sched, binder, pod("p", nodeSelector={})) == "a1"
