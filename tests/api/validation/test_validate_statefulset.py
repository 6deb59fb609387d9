"""StatefulSet: defaults as Kubernetes fills them, each rule's error naming its field (the claim templates checked
as claims, a container mounting a claim template by name), what an update may change, the status rules, and the
``kubectl get sts`` columns."""

import copy
import datetime as dt

import pytest

from portside import api
from portside.api.printers import PRINTERS
from tests.api.messages import messages, update_messages

KINDS = {r.kind: r for r in api.RESOURCES if r.is_stored}


def statefulset(**spec):
    labels = {"app": "db"}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
            "spec": {"serviceName": "db", "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "c", "image": "redis", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
                     **spec}}


def created(obj):
    return api.prepare_create(KINDS[obj["kind"]], copy.deepcopy(obj))


def test_defaults_and_initial_status():
    sts = created(statefulset())
    spec = sts["spec"]
    assert (spec["replicas"], spec["podManagementPolicy"], spec["revisionHistoryLimit"]) == (1, "OrderedReady", 10)
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    claim = spec["volumeClaimTemplates"][0]
    assert (claim["apiVersion"], claim["kind"], claim["spec"]["volumeMode"]) == ("v1", "PersistentVolumeClaim",
                                                                                 "Filesystem")
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert sts["status"] == {"replicas": 0, "availableReplicas": 0}
    named = created(statefulset(updateStrategy={"type": "RollingUpdate"}))
    assert named["spec"]["updateStrategy"] == {"type": "RollingUpdate"}  # as Kubernetes: no rollingUpdate added
    assert created(statefulset(updateStrategy={"type": "OnDelete"}))["spec"]["updateStrategy"] == {"type": "OnDelete"}


def test_a_valid_set_passes_and_a_container_may_mount_a_claim_template():
    assert messages(statefulset()) == []
    assert messages(statefulset(podManagementPolicy="Parallel", ordinals={"start": 3}, replicas=0,
                                persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete", "whenScaled": "Delete"},
                                updateStrategy={"type": "RollingUpdate",
                                                "rollingUpdate": {"partition": 2, "maxUnavailable": "50%"}})) == []
    no_claims = statefulset(volumeClaimTemplates=None)
    assert messages(no_claims) == ['spec.template.spec.containers[0].volumeMounts[0].name: Not found: "data"']


@pytest.mark.parametrize(("spec", "expected"), [
    ({"podManagementPolicy": "Sometimes"},
     'spec.podManagementPolicy: Invalid value: "Sometimes": must be \'OrderedReady\' or \'Parallel\''),
    ({"updateStrategy": {"type": "Sometimes"}},
     'spec.updateStrategy.type: Unsupported value: "Sometimes": supported values: "RollingUpdate", "OnDelete"'),
    ({"updateStrategy": {"type": "OnDelete", "rollingUpdate": {"partition": 1}}},
     "spec.updateStrategy.rollingUpdate: Invalid value: {\"partition\": 1}: only allowed for updateStrategy "
     "'RollingUpdate'"),
    ({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": -1}}},
     "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0"),
    ({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}}},
     "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: 0: cannot be 0"),
    ({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "120%"}}},
     'spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "120%": must not be greater than 100%'),
    ({"persistentVolumeClaimRetentionPolicy": {"whenScaled": "Keep"}},
     'spec.persistentVolumeClaimRetentionPolicy.whenScaled: Unsupported value: "Keep": supported values: "Retain", '
     '"Delete"'),
    ({"replicas": -1}, "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    ({"ordinals": {"start": -2}}, "spec.ordinals.start: Invalid value: -2: must be greater than or equal to 0"),
    ({"minReadySeconds": -1}, "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"),
    ({"serviceName": "Db_Service"}, 'spec.serviceName: Invalid value: "Db_Service": a lowercase RFC 1123 label'),
    ({"selector": {}}, "spec.selector: Invalid value: map[string]string{}: empty selector is invalid for "
                       "statefulset"),
    ({"selector": {"matchLabels": {"app": "other"}}},
     'spec.template.metadata.labels: Invalid value: map[string]string{"app":"db"}: `selector` does not match '
     'template `labels`'),
])
def test_rules(spec, expected):
    found = messages(statefulset(**spec))
    assert any(m.startswith(expected) for m in found), found


def test_claim_templates_are_checked_as_claims_with_their_paths():
    obj = statefulset()
    obj["spec"]["volumeClaimTemplates"] = [
        {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteMany", "Sometimes"], "resources": {}}},
        {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                "resources": {"requests": {"storage": "1Gi"}}}},
        {"metadata": {}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "0"}}}}]
    found = messages(obj)
    assert 'spec.volumeClaimTemplates[0].spec.accessModes: Unsupported value: "Sometimes": supported values: ' \
           '"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"' in found
    assert any(m.startswith("spec.volumeClaimTemplates[0].spec.resources.requests.storage: Required value") for m in found)
    assert 'spec.volumeClaimTemplates[1].metadata.name: Duplicate value: "data"' in found
    assert any(m.startswith("spec.volumeClaimTemplates[2].metadata.name: Required value") for m in found)
    assert 'spec.volumeClaimTemplates[2].spec.resources.requests.storage: Invalid value: "0": must be greater than ' \
           'zero' in found


def test_template_rules_and_the_name_is_a_dns_label():
    obj = statefulset()
    obj["spec"]["template"]["spec"].update(restartPolicy="Never", activeDeadlineSeconds=5)
    assert messages(obj) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
        "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in StatefulSet is not Supported"]
    dotted = statefulset()
    dotted["metadata"]["name"] = "db.primary"
    assert any(m.startswith('metadata.name: Invalid value: "db.primary": a lowercase RFC 1123 label')
               for m in messages(dotted))


def test_updates_may_change_replicas_template_strategy_retention_and_ordinals_only():
    old = statefulset()
    new = statefulset(replicas=5, ordinals={"start": 1}, minReadySeconds=3,
                      updateStrategy={"type": "OnDelete"},
                      persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete", "whenScaled": "Retain"})
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "redis:7"
    assert update_messages(new, old) == []
    forbidden = ("spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                 "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                 "forbidden")
    for change in ({"serviceName": "other"}, {"podManagementPolicy": "Parallel"}, {"revisionHistoryLimit": 3}):
        assert update_messages(statefulset(**change), old) == [forbidden], change
    claims = statefulset()
    claims["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert update_messages(claims, old) == [forbidden]


def test_status_rules():
    ok = {"status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 1, "currentReplicas": 2}}
    assert api.validation.validate_status("StatefulSet", ok) == []
    bad = {"status": {"replicas": 1, "readyReplicas": 2, "availableReplicas": 2, "collisionCount": -1}}
    assert [str(e) for e in api.validation.validate_status("StatefulSet", bad)] == [
        "status.collisionCount: Invalid value: -1: must be greater than or equal to 0",
        "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas",
        "status.availableReplicas: Invalid value: 2: cannot be greater than status.replicas"]


def test_the_table_shows_ready_over_desired_and_age():
    printer = PRINTERS["StatefulSet"]
    assert [c.name for c in printer.columns] == ["Ready", "Age", "Containers", "Images"]
    obj = created(statefulset(replicas=3))
    obj["metadata"]["creationTimestamp"] = "2027-01-15T08:00:00Z"
    obj["status"] = {"replicas": 3, "readyReplicas": 2}
    now = dt.datetime(2027, 1, 15, 8, 5, tzinfo=dt.UTC)
    assert printer.cells(obj, now) == ["2/3", "5m", "c", "redis"]
