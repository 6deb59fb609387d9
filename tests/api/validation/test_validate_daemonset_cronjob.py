"""DaemonSet, ControllerRevision and CronJob: defaults as Kubernetes fills them, and each rule's error naming its
field, worded as Kubernetes words it."""

import copy

import pytest

from portside import api
from tests.api.messages import messages, update_messages

KINDS = {r.kind: r for r in api.RESOURCES}


def daemonset(**spec):
    labels = {"app": "agent"}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "default"},
            "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                "containers": [{"name": "c", "image": "busybox"}]}}, **spec}}


def cronjob(**spec):
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick", "namespace": "default"},
            "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}, **spec}}


def created(obj):
    return api.prepare_create(KINDS[obj["kind"]], copy.deepcopy(obj))


def test_daemonset_defaults_and_initial_status():
    ds = created(daemonset())
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert ds["spec"]["revisionHistoryLimit"] == 10
    assert ds["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    assert ds["status"] == {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                            "numberReady": 0}
    on_delete = created(daemonset(updateStrategy={"type": "OnDelete"}))
    assert on_delete["spec"]["updateStrategy"] == {"type": "OnDelete"}


@pytest.mark.parametrize(("spec", "expected"), [
    ({"selector": {}}, "spec.selector: Invalid value: map[string]string{}: empty selector is invalid for daemonset"),
    ({"updateStrategy": {"type": "Sometimes"}},
     'spec.updateStrategy.type: Unsupported value: "Sometimes": supported values: "RollingUpdate", "OnDelete"'),
    ({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}}},
     "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"),
    ({"updateStrategy": {"rollingUpdate": {"maxSurge": 1}}},  # maxUnavailable defaults to 1
     "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"),
    ({"updateStrategy": {"rollingUpdate": {"maxUnavailable": "150%"}}},
     'spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%'),
    ({"updateStrategy": {"rollingUpdate": {"maxUnavailable": "x"}}},
     'spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "x": a valid percent string'),
    ({"minReadySeconds": -1}, "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"),
    ({"revisionHistoryLimit": -1}, "spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal"),
])
def test_daemonset_rules(spec, expected):
    found = messages(daemonset(**spec))
    assert any(m.startswith(expected) for m in found), found


def test_daemonset_surge_alone_and_template_rules():
    assert messages(daemonset(updateStrategy={"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}})) == []
    obj = daemonset()
    obj["spec"]["template"]["spec"].update(restartPolicy="OnFailure", activeDeadlineSeconds=5)
    obj["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    assert messages(obj) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match '
        'template `labels`',
        'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"',
        "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported"]


def test_daemonset_selector_is_immutable():
    changed = daemonset()
    changed["spec"]["selector"] = {"matchLabels": {"app": "agent", "v": "2"}}
    changed["spec"]["template"]["metadata"]["labels"]["v"] = "2"
    assert any(m.startswith("spec.selector: Invalid value:") and m.endswith("field is immutable")
               for m in update_messages(changed, daemonset()))


def revision(**fields):
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": "agent-1", "namespace": "default"}, **fields}


def test_controller_revision_rules():
    assert messages(revision(data={"spec": {}}, revision=1)) == []
    assert messages(revision(revision=-1)) == ["data: Required value: data is mandatory",
                                               "revision: Invalid value: -1: must be greater than or equal to 0"]
    assert update_messages(revision(data={"spec": {"a": 2}}, revision=2), revision(data={"spec": {}}, revision=1)) \
        == ['data: Invalid value: {"spec": {"a": 2}}: field is immutable']


def test_cronjob_defaults():
    cj = created(cronjob())
    spec = cj["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"], spec["successfulJobsHistoryLimit"],
            spec["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    assert spec["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    assert "backoffLimit" not in spec["jobTemplate"]["spec"]  # the Job's defaults come with the Job
    assert "status" not in cj


@pytest.mark.parametrize(("spec", "expected"), [
    ({"schedule": ""}, "spec.schedule: Required value"),
    ({"schedule": "61 * * * *"}, "spec.schedule: Invalid value: \"61 * * * *\": minute field '61': 61 is outside "
                                 "0-59"),
    ({"schedule": "@fortnightly"}, 'spec.schedule: Invalid value: "@fortnightly": unrecognized descriptor'),
    ({"schedule": "CRON_TZ=Europe/Berlin 0 * * * *"},
     'spec.schedule: Invalid value: "CRON_TZ=Europe/Berlin 0 * * * *": cannot use TZ or CRON_TZ in schedule, use '
     'timeZone field instead'),
    ({"timeZone": "Mars/Olympus"}, 'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'),
    ({"timeZone": "Local"}, 'spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone'),
    ({"concurrencyPolicy": "Never"},
     'spec.concurrencyPolicy: Unsupported value: "Never": supported values: "Allow", "Forbid", "Replace"'),
    ({"startingDeadlineSeconds": -1}, "spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or"),
    ({"successfulJobsHistoryLimit": -1}, "spec.successfulJobsHistoryLimit: Invalid value: -1: must be greater"),
    ({"failedJobsHistoryLimit": -2}, "spec.failedJobsHistoryLimit: Invalid value: -2: must be greater"),
])
def test_cronjob_rules(spec, expected):
    found = messages(cronjob(**spec))
    assert any(m.startswith(expected) for m in found), found


def test_cronjob_template_errors_carry_the_job_template_path():
    obj = cronjob()
    template = obj["spec"]["jobTemplate"]
    template["spec"].update(backoffLimit=-1, selector={"matchLabels": {"a": "b"}}, manualSelector=True)
    template["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    found = messages(obj)
    assert "spec.jobTemplate.spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0" in found
    assert 'spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: ' \
           '"OnFailure", "Never"' in found
    assert any(m.startswith("spec.jobTemplate.spec.selector: Invalid value:") and "will be auto-generated" in m
               for m in found)
    assert 'spec.jobTemplate.spec.manualSelector: Unsupported value: true: supported values: "nil", "false"' in found


def test_cronjob_name_leaves_room_for_the_job_suffix():
    obj = cronjob()
    obj["metadata"]["name"] = "x" * 53
    assert messages(obj) == [f'metadata.name: Invalid value: "{"x" * 53}": must be no more than 52 characters']
    assert messages(cronjob(timeZone="Asia/Tokyo", schedule="@hourly")) == []
