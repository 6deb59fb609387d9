"""VolumeBinding over an in-memory scheduler with several nodes: pods follow their volumes' node affinity, are
refused in Kubernetes' words for missing or unbound claims, and claims waiting for their first consumer get one
node (and one volume) however many pods use them."""

from __future__ import annotations

import copy

from support.builders import node_info as node
from support.builders import pod_info as pod
from support.builders import pv, pvc, storage_class

from portside.api.models import PersistentVolume, PersistentVolumeClaim, StorageClass
from portside.scheduler.volumes import Choice

NODES = [node("a"), node("b"), node("c")]


def storage(cluster, claims=(), volumes=(), classes=()):
    """The cluster's volume view, followed as the daemon's is, holding these objects."""
    view = cluster.sched.nodes.volumes
    view.followed = True
    for c in classes:
        view.set_class(StorageClass.from_dict(c))
    for v in volumes:
        view.set_volume(PersistentVolume.from_dict(v))
    for c in claims:
        view.set_claim(PersistentVolumeClaim.from_dict(c))
    return view


def bound(claim: dict, volume: dict) -> tuple[dict, dict]:
    """The claim and the volume as the PV controller leaves them once bound."""
    claim, volume = copy.deepcopy(claim), copy.deepcopy(volume)
    claim["metadata"]["uid"] = f"uid-{claim['metadata']['name']}"
    claim["spec"]["volumeName"] = volume["metadata"]["name"]
    volume["spec"]["claimRef"] = {"namespace": "default", "name": claim["metadata"]["name"],
                                  "uid": claim["metadata"]["uid"]}
    volume["status"] = {"phase": "Bound"}
    return claim, volume


def test_pods_without_claims_skip_the_plugin(cluster):
    c = cluster(NODES)
    storage(c)
    assert c.place(pod("plain")) is not None
    assert not c.sched.nodes.volumes.choices


def test_a_missing_claim_is_refused_by_name(cluster):
    c = cluster(NODES)
    storage(c)
    assert c.refusal(pod("p", claims=("data",))) == 'persistentvolumeclaim "data" not found'


def test_an_unbound_claim_of_an_immediate_class_waits_for_the_pv_controller(cluster):
    c = cluster(NODES)
    storage(c, claims=[pvc("data", storageClassName="")])
    assert c.refusal(pod("p", claims=("data",))) == "pod has unbound immediate PersistentVolumeClaims"


def test_a_claim_being_deleted_is_refused(cluster):
    c = cluster(NODES)
    claim = pvc("data")
    claim["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    storage(c, claims=[claim])
    assert c.refusal(pod("p", claims=("data",))) == 'persistentvolumeclaim "data" is being deleted'


def test_every_pod_of_a_claim_bound_on_node_b_lands_on_b(cluster):
    c = cluster(NODES)
    claim, volume = bound(pvc("data", storageClassName=""), pv("vol-b", node="b"))
    storage(c, claims=[claim], volumes=[volume])
    assert [c.place(pod(f"p{i}", claims=("data",))) for i in range(4)] == ["b"] * 4


def test_no_room_where_the_volume_lives_names_both_reasons(cluster):
    c = cluster([node("a"), node("b", cpu=1), node("c")])
    claim, volume = bound(pvc("data", storageClassName=""), pv("vol-b", node="b"))
    storage(c, claims=[claim], volumes=[volume])
    message = c.refusal(pod("big", cpu=2, claims=("data",)))
    assert message.startswith("0/3 nodes are available: 2 node(s) had volume node affinity conflict, "
                              "1 Insufficient cpu."), message


def test_a_claim_bound_to_a_volume_that_does_not_exist(cluster):
    c = cluster(NODES)
    claim, _ = bound(pvc("data", storageClassName=""), pv("gone"))
    storage(c, claims=[claim])
    assert "3 node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)" in \
        c.refusal(pod("p", claims=("data",)))


def test_a_waiting_claim_is_provisioned_on_the_first_pods_node_and_later_pods_follow(cluster):
    c = cluster(NODES)
    view = storage(c, claims=[pvc("data")], classes=[storage_class("standard", "portside.io/local-path")])
    view.claims["default/data"].spec.storage_class_name = "standard"
    first = c.place(pod("first", claims=("data",)))
    assert view.choices["default/first"] == [Choice("default/data", first)]
    assert {c.place(pod(f"next{i}", claims=("data",))) for i in range(3)} == {first}


def test_a_waiting_claim_without_a_provisioner_goes_where_a_free_volume_is(cluster):
    c = cluster(NODES)
    static = storage_class("local-disks")
    volume = pv("disk-c", "5Gi", node="c", storageClassName="local-disks", local={"path": "/mnt/disk"})
    storage(c, claims=[pvc("data", storageClassName="local-disks")], volumes=[volume], classes=[static])
    assert c.place(pod("p", claims=("data",))) == "c"
    assert c.sched.nodes.volumes.choices["default/p"] == [Choice("default/data", "c", "disk-c")]


def test_one_free_volume_goes_to_one_claim(cluster):
    c = cluster(NODES)
    static = storage_class("local-disks")
    volume = pv("disk-c", node="c", storageClassName="local-disks")
    claims = [pvc("one", storageClassName="local-disks"), pvc("two", storageClassName="local-disks")]
    storage(c, claims=claims, volumes=[volume], classes=[static])
    assert c.place(pod("p1", claims=("one",))) == "c"
    assert c.refusal(pod("p2", claims=("two",))).startswith(
        "0/3 nodes are available: 3 node(s) didn't find available persistent volumes to bind.")


def test_a_failed_bind_gives_the_choices_back(cluster):
    c = cluster(NODES)
    static = storage_class("local-disks")
    storage(c, claims=[pvc("one", storageClassName="local-disks")], classes=[static],
            volumes=[pv("disk-c", node="c", storageClassName="local-disks")])
    p = pod("p1", claims=("one",))
    c.binder.bind = lambda pod, node: None  # in flight, as the API binder answers
    c.run(p)
    view = c.sched.nodes.volumes
    assert view.taken == {"disk-c": "default/one"} and view.placed == {"default/one": "c"}
    c.sched.bind_done(p.uid, False, 0.0)
    assert not view.taken and not view.placed and not view.choices


def test_an_unfollowed_view_leaves_placement_as_it_was(cluster):
    """The simulator does not model storage: pods naming claims are placed on room alone."""
    assert cluster(NODES).place(pod("p", claims=("data",))) is not None
