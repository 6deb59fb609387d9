"""Deployment, ReplicaSet and Job rules, and the depends-on annotation between Jobs."""

import pytest
from support.builders import deployment, job

from portside import api
from tests.api.messages import messages


def test_seed_style_deployment_is_valid() -> None:
    assert messages(deployment()) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"selector": None}, "spec.selector: Required value"),
        ({"selector": {}}, "spec.selector: Invalid value: "),
        ({"replicas": -1}, "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
        ({"strategy": {"type": "Sometimes"}},
         'spec.strategy.type: Unsupported value: "Sometimes": supported values: "Recreate", "RollingUpdate"'),
        ({"strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}},
         "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"),
        ({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}},
         "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"),
        ({"strategy": {"rollingUpdate": {"maxSurge": "x%"}}},
         "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"x%\": a valid percent string must be a numeric "
         "string followed by an ending '%'"),
        ({"strategy": {"rollingUpdate": {"maxUnavailable": "150%"}}},
         'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%'),
        ({"minReadySeconds": 700}, "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than "
                                   "minReadySeconds"),
        ({"revisionHistoryLimit": -2}, "spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal"),
    ],
)
def test_deployment_rules(spec: dict, expected: str) -> None:
    obj = deployment(**spec)
    if spec.get("selector", 1) is None:
        del obj["spec"]["selector"]
    found = messages(obj)
    assert any(m.startswith(expected) for m in found), found


def test_selector_must_match_template_labels() -> None:
    obj = deployment()
    obj["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    assert messages(obj) == ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: '
                             '`selector` does not match template `labels`']


def test_deployment_template_must_restart_always() -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert messages(obj) == ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: '
                             '"Always"']


def test_nested_container_errors_carry_the_template_path() -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"memory": "12x"}}
    assert messages(obj)[0].startswith('spec.template.spec.containers[0].resources.limits.memory: Invalid value: '
                                       '"12x": quantities must match the regular expression')


def test_replicaset_rules() -> None:
    obj = deployment()
    obj.update(kind="ReplicaSet")
    del obj["spec"]["selector"]
    assert messages(obj) == ["spec.selector: Required value"]


def test_valid_job_and_its_rules() -> None:
    assert messages(job()) == []
    always = job()
    always["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    assert messages(always) == ['spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
                                '"OnFailure", "Never"']
    assert "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0" in messages(job(backoffLimit=-1))
    assert "spec.completions: Required value: when completion mode is Indexed" in messages(
        job(completionMode="Indexed", parallelism=2))
    assert messages(job(selector={"matchLabels": {"a": "b"}}))[0].startswith(
        "spec.selector: Invalid value: ")


def _with_depends(value: str) -> dict:
    obj = job()
    obj["metadata"]["annotations"] = {api.DEPENDS_ON: value}
    return obj


def test_depends_on_annotation() -> None:
    assert messages(_with_depends("extract, transform")) == []
    assert api.parse_depends_on({api.DEPENDS_ON: "a, b"}) == ["a", "b"]
    assert api.parse_depends_on({}) == []
    path = "metadata.annotations[portside.io/depends-on]"
    assert messages(_with_depends("Bad_Name"))[0].startswith(f'{path}: Invalid value: "Bad_Name": a lowercase RFC')
    assert messages(_with_depends("a,,b")) == [f'{path}: Invalid value: "a,,b": must be a comma-separated list of '
                                               "Job names"]
    assert messages(_with_depends("a,a")) == [f'{path}: Duplicate value: "a"']
    assert messages(_with_depends("batch")) == [f'{path}: Invalid value: "batch": a Job may not depend on itself']
