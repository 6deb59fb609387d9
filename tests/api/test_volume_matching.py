"""The binder's matching rules (``api.volumes``): which free volume a claim gets, as Kubernetes' PV controller
chooses it."""

from __future__ import annotations

import pytest
from support.builders import pv, pvc

from portside.api import volumes as vol
from portside.api.models import Node, ObjectMeta, PersistentVolume, PersistentVolumeClaim


def claim(**spec) -> PersistentVolumeClaim:
    body = pvc("data", **{"storageClassName": "", **spec})
    body["metadata"]["uid"] = "uid-data"
    return PersistentVolumeClaim.from_dict(body)


def volume(name: str, storage: str = "1Gi", labels: dict | None = None, **spec) -> PersistentVolume:
    body = pv(name, storage, **spec)
    if labels:
        body["metadata"]["labels"] = labels
    return PersistentVolume.from_dict(body)


def node(name: str) -> Node:
    return Node(metadata=ObjectMeta(name=name, labels={"kubernetes.io/hostname": name}))


def test_the_smallest_volume_that_holds_the_request_wins():
    volumes = [volume("big", "10Gi"), volume("small", "512Mi"), volume("fits", "2Gi"), volume("exact", "1Gi")]
    assert vol.find_volume(claim(), volumes).metadata.name == "exact"


def test_a_volume_pre_bound_to_the_claim_wins_over_a_smaller_one():
    pre = volume("pre", "5Gi", claimRef={"namespace": "default", "name": "data"})
    assert vol.find_volume(claim(), [volume("small"), pre]).metadata.name == "pre"


@pytest.mark.parametrize("volume_fields, claim_fields, why", [
    ({"storageClassName": "fast"}, {}, "storageClassName does not match"),
    ({"accessModes": ["ReadOnlyMany"]}, {}, "incompatible accessMode"),
    ({"capacity": {"storage": "100Mi"}}, {}, "requested PV is too small"),
    ({"labels": {"tier": "fast"}}, {"selector": {"matchLabels": {"tier": "slow"}}},
     "volume labels do not match the claim's selector"),
])
def test_a_volume_that_does_not_satisfy_the_claim_says_why(volume_fields, claim_fields, why):
    other, wanted = volume("x", **volume_fields), claim(**claim_fields)
    assert vol.mismatch(other, wanted) == why
    assert vol.find_volume(wanted, [other]) is None


def test_volumes_taken_by_another_claim_or_being_deleted_are_not_free():
    taken = volume("taken", claimRef={"namespace": "default", "name": "other", "uid": "uid-other"})
    going = volume("going")
    going.metadata.deletion_timestamp = "2026-01-01T00:00:00Z"
    released = volume("released")
    released.status = type(released).from_dict({"status": {"phase": "Released"}}).status
    assert vol.find_volume(claim(), [taken, going, released]) is None


def test_a_claim_waiting_for_its_consumer_binds_only_on_the_chosen_node():
    on_a, on_b = volume("on-a", node="a"), volume("on-b", node="b")
    assert vol.find_volume(claim(), [on_a, on_b], node("b"), need_node=True).metadata.name == "on-b"
    assert vol.find_volume(claim(), [on_a, on_b], None, need_node=True) is None


def test_access_modes_print_in_kubectl_order():
    assert vol.access_modes_text(["ReadWriteOncePod", "ReadWriteOnce", "ReadOnlyMany"]) == "RWO,ROX,RWOP"


def test_the_newest_default_class_is_the_default():
    from portside.api.models import StorageClass
    older = StorageClass(metadata=ObjectMeta(name="old", creation_timestamp="2026-01-01T00:00:00Z",
                                             annotations={vol.DEFAULT_CLASS_ANNOTATION: "true"}), provisioner="x")
    newer = StorageClass(metadata=ObjectMeta(name="new", creation_timestamp="2026-02-01T00:00:00Z",
                                             annotations={vol.DEFAULT_CLASS_ANNOTATION: "true"}), provisioner="x")
    plain = StorageClass(metadata=ObjectMeta(name="plain"), provisioner="x")
    assert vol.default_class([older, newer, plain]).metadata.name == "new"
    assert vol.default_class([plain]) is None


def test_a_claim_from_a_template_keeps_its_spec_and_adds_labels():
    template = PersistentVolumeClaim.from_dict(pvc("www", "2Gi") | {"metadata": {"name": "www",
                                                                                  "labels": {"app": "web"}}})
    made = vol.claim_from_template(template, "www-web-0", "shop", labels={"pod": "web-0"})
    assert made.to_dict() == {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "www-web-0", "namespace": "shop", "labels": {"app": "web", "pod": "web-0"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}}
    assert made.spec is not template.spec
