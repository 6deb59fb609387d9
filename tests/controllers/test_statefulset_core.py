"""The StatefulSet's decisions on data: pod and claim identities, which pod OrderedReady and Parallel create or
delete next (failed pods, scale-down in reverse order), RollingUpdate steps by partition and maxUnavailable,
OnDelete, the revision a new pod gets, claim owners under the retention policy, adoption, and the status."""

import datetime as dt

import pytest

from portside.api.defaults import apply_defaults
from portside.api.models import OwnerReference, PersistentVolumeClaim, Pod, PodCondition, PodStatus, StatefulSet
from portside.controllers import stateful

NOW = 1_800_000_000.0
REF = OwnerReference(api_version="apps/v1", kind="StatefulSet", name="web", uid="set-uid", controller=True,
                     block_owner_deletion=True)
SET_REF = OwnerReference(api_version="apps/v1", kind="StatefulSet", name="web", uid="set-uid")


def statefulset(replicas=3, **spec) -> StatefulSet:
    labels = {"app": "web"}
    obj = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": "web", "namespace": "ns", "uid": "set-uid", "generation": 2},
           "spec": {"replicas": replicas, "serviceName": "web-svc", "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": {
                        "containers": [{"name": "c", "image": "busybox"}],
                        "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": {"tier": "db"}},
                                              "spec": {"accessModes": ["ReadWriteOnce"],
                                                       "resources": {"requests": {"storage": "1Gi"}}}}],
                    **spec}}
    return StatefulSet.from_dict(apply_defaults("StatefulSet", obj))


def pod(sts, ordinal, revision="rev-1", phase="Running", ready=True, terminating=False, since=NOW - 100) -> Pod:
    p = stateful.new_pod(sts, sts.spec.template, ordinal, revision, REF)
    p.metadata.uid = f"pod-uid-{ordinal}"
    if terminating:
        p.metadata.deletion_timestamp = "2027-01-15T09:00:00Z"
    moment = dt.datetime.fromtimestamp(since, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    p.status = PodStatus(phase=phase, conditions=[PodCondition(type="Ready", status="True" if ready else "False",
                                                               last_transition_time=moment)])
    return p


def healthy_pods(sts, *ordinals, revision="rev-1"):
    return [pod(sts, o, revision) for o in ordinals]


def names(pods):
    return [p.metadata.name for p in pods]


def test_a_pod_has_a_stable_name_labels_hostname_subdomain_and_its_claims_volume():
    sts = statefulset()
    p = stateful.new_pod(sts, sts.spec.template, 2, "web-abc", REF)
    assert (p.metadata.name, p.metadata.namespace, p.metadata.generate_name) == ("web-2", "ns", None)
    assert p.metadata.labels == {"app": "web", "statefulset.kubernetes.io/pod-name": "web-2",
                                 "apps.kubernetes.io/pod-index": "2", "controller-revision-hash": "web-abc"}
    assert (p.spec.hostname, p.spec.subdomain) == ("web-2", "web-svc")
    assert [(v.name, v.persistent_volume_claim.claim_name if v.persistent_volume_claim else None)
            for v in p.spec.volumes] == [("data", "data-web-2"), ("cache", None)]  # the template's "data" replaced
    assert p.metadata.owner_references == [REF]
    assert sts.spec.template.spec.volumes[0].empty_dir is not None  # the template is left as it was
    assert stateful.new_pod(statefulset(serviceName=None), sts.spec.template, 0, "r", REF).spec.subdomain is None


def test_claims_are_named_per_template_and_ordinal_and_owned_only_when_deleted_with_the_set():
    sts = statefulset()
    [claim] = stateful.new_claims(sts, 1, SET_REF)
    assert (claim.metadata.name, claim.metadata.namespace) == ("data-web-1", "ns")
    assert claim.metadata.labels == {"tier": "db", "app": "web"}
    assert claim.metadata.owner_references is None and claim.spec.storage_class_name is None
    assert claim.spec.resources.requests == {"storage": "1Gi"} and claim.spec.volume_mode == "Filesystem"
    deleting = statefulset(persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete"})
    assert stateful.new_claims(deleting, 1, SET_REF)[0].metadata.owner_references == [SET_REF]
    assert stateful.claim_ordinal(sts, "data-web-12") == 12
    assert [stateful.claim_ordinal(sts, n) for n in ("data-web-x", "logs-web-1", "data-webby-1")] == [None] * 3


@pytest.mark.parametrize(("name", "ordinal"), [("web-0", 0), ("web-17", 17), ("web", None), ("web-x", None),
                                               ("other-web-1", None), ("web-1-2", None), ("webby-1", None)])
def test_only_pods_named_name_dash_number_are_members(name, ordinal):
    sts = statefulset()
    p = Pod.from_dict({"metadata": {"name": name}, "spec": {}})
    assert stateful.ordinal_of(sts, p) == ordinal


def test_ordered_ready_creates_one_pod_at_a_time_after_the_previous_is_running_and_ready():
    sts = statefulset()
    first = stateful.plan(sts, [], "rev-1", NOW)
    assert (first.create, first.delete, first.waiting) == ([0], [], "web-0 to be created")
    starting = stateful.plan(sts, [pod(sts, 0, ready=False)], "rev-1", NOW)
    assert (starting.create, starting.waiting) == ([], "web-0 to be Running and Ready")
    pending = stateful.plan(sts, [pod(sts, 0, phase="Pending", ready=False)], "rev-1", NOW)
    assert pending.create == []
    assert stateful.plan(sts, healthy_pods(sts, 0), "rev-1", NOW).create == [1]
    assert stateful.plan(sts, healthy_pods(sts, 0, 1, 2), "rev-1", NOW) == stateful.Plan()
    ready_late = statefulset(minReadySeconds=60)  # ready 30 s ago: not yet available
    assert stateful.plan(ready_late, [pod(ready_late, 0, since=NOW - 30)], "rev-1", NOW).create == []


def test_a_missing_pod_below_others_is_made_again_first():
    sts = statefulset()
    assert stateful.plan(sts, healthy_pods(sts, 0, 2), "rev-1", NOW).create == [1]


def test_parallel_creates_every_missing_pod_and_deletes_every_condemned_one_at_once():
    sts = statefulset(podManagementPolicy="Parallel")
    assert stateful.plan(sts, [], "rev-1", NOW).create == [0, 1, 2]
    assert stateful.plan(sts, [pod(sts, 0, ready=False)], "rev-1", NOW).create == [1, 2]
    shrink = statefulset(replicas=1, podManagementPolicy="Parallel")
    assert names(stateful.plan(shrink, healthy_pods(shrink, 0, 1, 2), "rev-1", NOW).delete) == ["web-2", "web-1"]


def test_a_failed_pod_is_deleted_to_be_made_again():
    sts = statefulset()
    failed = pod(sts, 0, phase="Failed", ready=False)
    step = stateful.plan(sts, [failed, *healthy_pods(sts, 1)], "rev-1", NOW)
    assert (names(step.delete), names(step.failed), step.create) == (["web-0"], ["web-0"], [])
    gone = pod(sts, 0, phase="Failed", ready=False, terminating=True)
    assert stateful.plan(sts, [gone], "rev-1", NOW) == stateful.Plan(waiting="web-0 to be Running and Ready")
    parallel = statefulset(podManagementPolicy="Parallel")
    step = stateful.plan(parallel, [pod(parallel, 1, phase="Succeeded", ready=False)], "rev-1", NOW)
    assert (step.create, names(step.delete)) == ([0, 2], ["web-1"])


def test_ordered_scale_down_removes_the_highest_ordinal_first_one_at_a_time():
    sts = statefulset(replicas=2)
    step = stateful.plan(sts, healthy_pods(sts, 0, 1, 2, 3), "rev-1", NOW)
    assert names(step.delete) == ["web-3"]
    going = [*healthy_pods(sts, 0, 1, 2), pod(sts, 3, terminating=True)]
    assert stateful.plan(sts, going, "rev-1", NOW) == stateful.Plan(waiting="web-3 to terminate")
    assert names(stateful.plan(sts, healthy_pods(sts, 0, 1, 2), "rev-1", NOW).delete) == ["web-2"]


def test_ordered_scale_down_waits_for_lower_pods_except_the_lowest_unhealthy_one():
    sts = statefulset(replicas=2)
    low_sick = [*healthy_pods(sts, 0, 1, 2), pod(sts, 3, ready=False), pod(sts, 4, ready=False)]
    assert stateful.plan(sts, low_sick, "rev-1", NOW).delete == []  # web-4 waits for web-3
    top_sick = [*healthy_pods(sts, 0, 1, 2, 3), pod(sts, 4, ready=False)]
    assert names(stateful.plan(sts, top_sick, "rev-1", NOW).delete) == ["web-4"]  # the lowest unhealthy may go
    inside_sick = [pod(sts, 0, ready=False), *healthy_pods(sts, 1, 2)]
    assert stateful.plan(sts, inside_sick, "rev-1", NOW).delete == []


def test_a_rolling_update_replaces_the_highest_outdated_pod_once_those_above_are_healthy():
    sts = statefulset()
    assert names(stateful.plan(sts, healthy_pods(sts, 0, 1, 2), "rev-2", NOW).delete) == ["web-2"]
    restarting = [*healthy_pods(sts, 0, 1), pod(sts, 2, "rev-2", ready=False)]
    assert stateful.plan(sts, restarting, "rev-2", NOW).delete == []
    done_top = [*healthy_pods(sts, 0, 1), pod(sts, 2, "rev-2")]
    assert names(stateful.plan(sts, done_top, "rev-2", NOW).delete) == ["web-1"]
    assert stateful.plan(sts, healthy_pods(sts, 0, 1, 2, revision="rev-2"), "rev-2", NOW).delete == []


def test_the_partition_keeps_lower_ordinals_on_their_revision():
    sts = statefulset(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    assert names(stateful.plan(sts, healthy_pods(sts, 0, 1, 2), "rev-2", NOW).delete) == ["web-2"]
    updated = [*healthy_pods(sts, 0, 1), pod(sts, 2, "rev-2")]
    assert stateful.plan(sts, updated, "rev-2", NOW).delete == []
    assert [stateful.uses_current_revision(sts, o) for o in range(3)] == [True, True, False]
    shifted = statefulset(ordinals={"start": 5}, updateStrategy={"type": "RollingUpdate",
                                                                 "rollingUpdate": {"partition": 1}})
    assert [stateful.uses_current_revision(shifted, o) for o in (5, 6)] == [True, False]
    assert not stateful.uses_current_revision(statefulset(updateStrategy={"type": "OnDelete"}), 0)


def test_max_unavailable_replaces_several_pods_at_once_within_its_budget():
    sts = statefulset(replicas=4, updateStrategy={"type": "RollingUpdate",
                                                  "rollingUpdate": {"partition": 0, "maxUnavailable": 2}})
    assert names(stateful.plan(sts, healthy_pods(sts, 0, 1, 2, 3), "rev-2", NOW).delete) == ["web-3", "web-2"]
    parallel = statefulset(replicas=4, podManagementPolicy="Parallel", updateStrategy={
        "type": "RollingUpdate", "rollingUpdate": {"partition": 0, "maxUnavailable": 2}})
    one_down = [*healthy_pods(parallel, 0, 1, 2), pod(parallel, 3, "rev-2", ready=False)]
    assert names(stateful.plan(parallel, one_down, "rev-2", NOW).delete) == ["web-2"]  # web-3 counts against it
    half = statefulset(replicas=3, updateStrategy={"type": "RollingUpdate",
                                                   "rollingUpdate": {"partition": 0, "maxUnavailable": "50%"}})
    assert stateful.max_unavailable(half) == 2 and stateful.max_unavailable(statefulset()) is None


def test_on_delete_never_replaces_a_running_pod():
    sts = statefulset(updateStrategy={"type": "OnDelete"})
    assert stateful.plan(sts, healthy_pods(sts, 0, 1, 2), "rev-2", NOW).delete == []


def test_ordinals_start_shifts_the_range():
    sts = statefulset(replicas=2, ordinals={"start": 3})
    assert stateful.plan(sts, [], "rev-1", NOW).create == [3]
    step = stateful.plan(sts, healthy_pods(sts, 0, 3, 4), "rev-1", NOW)
    assert names(step.delete) == ["web-0"]  # outside the range: condemned


@pytest.mark.parametrize(("deleted", "scaled", "condemned", "owners"), [
    ("Retain", "Retain", False, []), ("Retain", "Retain", True, []),
    ("Delete", "Retain", False, ["set"]), ("Delete", "Retain", True, ["set"]),
    ("Retain", "Delete", False, []), ("Retain", "Delete", True, ["pod"]),
    ("Delete", "Delete", False, ["set"]), ("Delete", "Delete", True, ["pod"]),
])
def test_the_retention_policy_decides_the_claims_owners(deleted, scaled, condemned, owners):
    sts = statefulset(replicas=1, persistentVolumeClaimRetentionPolicy={"whenDeleted": deleted, "whenScaled": scaled})
    p = pod(sts, 1 if condemned else 0)
    pod_ref = OwnerReference(api_version="v1", kind="Pod", name=p.metadata.name, uid=p.metadata.uid)
    other = OwnerReference(api_version="v1", kind="ConfigMap", name="keep", uid="other")
    claim = PersistentVolumeClaim.from_dict({"metadata": {"name": "data-web-0", "ownerReferences": [
        other.to_dict(), SET_REF.to_dict(), pod_ref.to_dict()]}})
    refs = stateful.claim_owners(sts, claim, p, SET_REF, pod_ref)
    want = [other] + [{"set": SET_REF, "pod": pod_ref}[o] for o in owners]
    assert refs == want
    claim.metadata.owner_references = want
    assert stateful.claim_owners(sts, claim, p, SET_REF, pod_ref) is None  # already so: no write


def test_a_claim_being_deleted_or_still_owned_by_an_earlier_pod_blocks_its_pod():
    assert stateful.claim_blocks(None, "web-1") == ""
    fine = PersistentVolumeClaim.from_dict({"metadata": {"name": "data-web-1", "ownerReferences": [SET_REF.to_dict()]}})
    assert stateful.claim_blocks(fine, "web-1") == ""
    going = PersistentVolumeClaim.from_dict({"metadata": {"name": "data-web-1", "deletionTimestamp": "2027-01-01T00:00:00Z"}})
    assert stateful.claim_blocks(going, "web-1") == "claim data-web-1 is being deleted"
    stale = PersistentVolumeClaim.from_dict({"metadata": {"name": "data-web-1", "ownerReferences": [
        {"apiVersion": "v1", "kind": "Pod", "name": "web-1", "uid": "old"}]}})
    assert stateful.claim_blocks(stale, "web-1") == "claim data-web-1 still belongs to an earlier web-1"


def test_only_members_are_adopted_and_owned_strangers_are_released():
    sts = statefulset()
    orphan = pod(sts, 4)
    orphan.metadata.owner_references = None
    stranger = pod(sts, 5)
    stranger.metadata.name = "web-extra"
    loose = pod(sts, 6)
    loose.metadata.name, loose.metadata.owner_references = "unrelated", None
    mine = pod(sts, 0)
    claim = stateful.claim_pods(sts, [orphan, stranger, loose, mine])
    assert (names(claim.owned), names(claim.adopt), names(claim.release)) == (["web-0"], ["web-4"], ["web-extra"])


def test_status_counts_and_a_finished_rolling_update_makes_the_update_revision_current():
    sts = statefulset()
    pods = [pod(sts, 0, "rev-1"), pod(sts, 1, "rev-2", ready=False), pod(sts, 2, "rev-2", terminating=True)]
    s = stateful.status(sts, pods, "rev-1", "rev-2", 0, NOW, True)
    assert (s.replicas, s.ready_replicas, s.available_replicas, s.current_replicas, s.updated_replicas) == \
        (3, 2, 2, 1, 1)
    assert (s.current_revision, s.update_revision, s.observed_generation, s.collision_count) == \
        ("rev-1", "rev-2", 2, 0)
    done = stateful.status(sts, healthy_pods(sts, 0, 1, 2, revision="rev-2"), "rev-1", "rev-2", 0, NOW, True)
    assert (done.current_revision, done.current_replicas, done.updated_replicas) == ("rev-2", 3, 3)
    partitioned = statefulset(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}})
    part = stateful.status(partitioned, [pod(sts, 0, "rev-1"), *healthy_pods(sts, 1, 2, revision="rev-2")],
                           "rev-1", "rev-2", 0, NOW, True)
    assert (part.current_revision, part.current_replicas, part.updated_replicas) == ("rev-1", 1, 2)
    unobserved = stateful.status(sts, [], "rev-1", "rev-1", 0, NOW, False)
    assert unobserved.observed_generation is None and unobserved.replicas == 0
