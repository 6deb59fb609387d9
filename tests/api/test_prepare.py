"""The write path: decode, reset status, default, validate; updates keep what clients may not change."""

import copy
import pathlib

import pytest
import yaml
from support.builders import deployment, job, pod, service

from portside import api
from tests.api.messages import update_messages

SEED = pathlib.Path(__file__).resolve().parents[2] / "examples" / "seed"
DEPLOYMENTS = api.lookup("apps", "v1", "deployments")
SERVICES = api.lookup("", "v1", "services")
PODS = api.lookup("", "v1", "pods")


def _seed(name: str) -> dict:
    obj = yaml.safe_load((SEED / name).read_text())
    obj["metadata"]["namespace"] = "default"  # the server fills it from the URL
    return obj


def test_seed_deployment_round_trips() -> None:
    original = _seed("deployment.yaml")
    stored = api.prepare_create(DEPLOYMENTS, copy.deepcopy(original))
    container = stored["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == original["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert container["imagePullPolicy"] == "IfNotPresent"  # the manifest's own choice is kept
    assert stored["spec"]["replicas"] == 3 and stored["spec"]["selector"] == original["spec"]["selector"]
    again = api.prepare_create(DEPLOYMENTS, copy.deepcopy(stored))
    assert again == stored
    assert api.models.Deployment.from_dict(stored).to_dict() == stored
    del original["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"]
    defaulted = api.prepare_create(DEPLOYMENTS, original)
    assert defaulted["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"  # :latest


def test_seed_service_round_trips() -> None:
    original = _seed("service.yaml")
    stored = api.prepare_create(SERVICES, copy.deepcopy(original))
    assert stored["spec"]["type"] == "LoadBalancer"
    assert stored["spec"]["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 5000}]
    assert api.prepare_create(SERVICES, copy.deepcopy(stored)) == stored


def test_unknown_fields_warn_or_fail_in_strict_mode() -> None:
    obj = deployment(bogus=1)
    warnings: list[str] = []
    stored = api.prepare_create(DEPLOYMENTS, copy.deepcopy(obj), warnings)
    assert warnings == ['unknown field "spec.bogus"'] and "bogus" not in stored["spec"]
    with pytest.raises(api.UnknownFields) as err:
        api.prepare_create(DEPLOYMENTS, copy.deepcopy(obj), strict=True)
    assert str(err.value) == 'strict decoding error: unknown field "spec.bogus"'


def test_type_errors_stop_before_rules() -> None:
    with pytest.raises(api.Invalid) as err:
        api.prepare_create(DEPLOYMENTS, deployment(replicas="three"))
    assert [str(c) for c in err.value.causes] == [
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"']
    assert err.value.qualified_kind == "Deployment.apps"


def test_kind_and_api_version_must_match_the_resource() -> None:
    obj = deployment()
    obj["apiVersion"] = "apps/v1beta1"
    with pytest.raises(api.Invalid, match='apiVersion: Invalid value: "apps/v1beta1": must be apps/v1'):
        api.prepare_create(DEPLOYMENTS, obj)
    missing = deployment()
    del missing["kind"]
    assert api.prepare_create(DEPLOYMENTS, missing)["kind"] == "Deployment"


def test_create_resets_status_and_pods_start_pending() -> None:
    obj = deployment()
    obj["status"] = {"replicas": 9}
    assert "status" not in api.prepare_create(DEPLOYMENTS, obj)
    guaranteed = pod(containers=[{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}])
    assert api.prepare_create(PODS, guaranteed)["status"] == {"phase": "Pending", "qosClass": "Guaranteed"}
    assert api.prepare_create(PODS, pod())["status"]["qosClass"] == "BestEffort"
    burstable = pod(containers=[{"name": "a", "image": "x", "resources": {"requests": {"cpu": "1"}}}])
    assert api.qos_class(burstable) == "Burstable"


def test_job_gets_a_generated_selector() -> None:
    stored = api.prepare_create(api.lookup("batch", "v1", "jobs"), job())
    uid = stored["metadata"]["uid"]
    assert stored["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = stored["spec"]["template"]["metadata"]["labels"]
    assert labels["batch.kubernetes.io/job-name"] == "batch" and labels["controller-uid"] == uid


def test_update_keeps_server_fields_and_status() -> None:
    old = api.prepare_create(DEPLOYMENTS, deployment())
    old["metadata"].update(uid="u1", creationTimestamp="2026-01-01T00:00:00Z", generation=1)
    old["status"] = {"replicas": 3}
    new = deployment(replicas=5)
    new["status"] = {"replicas": 100}
    updated = api.prepare_update(DEPLOYMENTS, new, old)
    assert updated["metadata"]["uid"] == "u1" and updated["metadata"]["generation"] == 1
    assert updated["status"] == {"replicas": 3}
    assert api.spec_changed(DEPLOYMENTS, updated, old)
    relabelled = copy.deepcopy(old)
    relabelled["metadata"]["labels"] = {"x": "y"}
    assert not api.spec_changed(DEPLOYMENTS, relabelled, old)


def test_service_update_keeps_allocations_the_client_omits() -> None:
    old = api.prepare_create(SERVICES, service(type="NodePort"))
    old["spec"].update(clusterIP="10.96.0.10", clusterIPs=["10.96.0.10"])
    old["spec"]["ports"][0]["nodePort"] = 30080
    updated = api.prepare_update(SERVICES, service(type="NodePort"), old)
    assert updated["spec"]["clusterIP"] == "10.96.0.10" and updated["spec"]["ports"][0]["nodePort"] == 30080
    changed = service(clusterIP="10.96.0.11")
    with pytest.raises(api.Invalid, match='spec.clusterIP: Invalid value: "10.96.0.11": field is immutable'):
        api.prepare_update(SERVICES, changed, old)


def test_status_update_takes_only_status() -> None:
    old = api.prepare_create(PODS, pod())
    new = copy.deepcopy(old)
    new["spec"]["nodeName"] = "elsewhere"
    new["status"] = {"phase": "Running", "podIP": "10.0.0.5"}
    result = api.prepare_status_update(PODS, new, old)
    assert result["status"] == {"phase": "Running", "podIP": "10.0.0.5"}
    assert "nodeName" not in result["spec"]


def test_scale_view_and_apply() -> None:
    stored = api.prepare_create(DEPLOYMENTS, deployment())
    stored["metadata"]["resourceVersion"] = "7"
    scale = api.scale_of(stored)
    assert scale["spec"] == {"replicas": 3}
    assert scale["status"] == {"replicas": 0, "selector": "app=my-app"}
    assert scale["metadata"]["resourceVersion"] == "7"
    assert api.apply_scale(stored, {"spec": {"replicas": 5}})["spec"]["replicas"] == 5
    with pytest.raises(api.Invalid, match="spec.replicas: Invalid value: -1"):
        api.apply_scale(stored, {"spec": {"replicas": -1}})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["spec"].update(selector={"matchLabels": {"app": "x"}}),
         'spec.selector: Invalid value: {"matchLabels": {"app": "x"}}: field is immutable'),
        (lambda d: d["metadata"].update(name="other"), 'metadata.name: Invalid value: "other": field is immutable'),
    ],
)
def test_deployment_immutable_fields(change, expected: str) -> None:  # type: ignore[no-untyped-def]
    new = deployment()
    change(new)
    assert expected in update_messages(new, deployment())


def test_pod_spec_is_mostly_immutable() -> None:
    image_change = pod()
    image_change["spec"]["containers"][0]["image"] = "busybox:1.37"
    assert update_messages(image_change, pod()) == []
    other = pod(restartPolicy="Never")
    found = update_messages(other, pod())
    assert found and found[0].startswith("spec: Forbidden: pod updates may not change fields other than "
                                         "`spec.containers[*].image`")
    added = pod(tolerations=[{"key": "k", "operator": "Exists"}])
    assert update_messages(added, pod()) == []
    assert update_messages(pod(), added) == [
        "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"]
    assert update_messages(pod(schedulingGates=[{"name": "g"}]), pod()) == [
        "spec.schedulingGates: Forbidden: only deletion is allowed, but found new scheduling gate"]
    assert update_messages(pod(), pod(schedulingGates=[{"name": "g"}])) == []


def test_job_and_configmap_and_priorityclass_immutability() -> None:
    changed = job()
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "other"
    assert any(m.startswith("spec.template: Invalid value: ") and m.endswith("field is immutable")
               for m in update_messages(changed, job()))
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
          "immutable": True, "data": {"a": "1"}}
    assert update_messages({**cm, "data": {"a": "2"}}, cm) == [
        "data: Forbidden: field is immutable when `immutable` is set"]
    pc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 10}
    assert update_messages({**pc, "value": 11}, pc) == ["value: Forbidden: may not be changed in an update."]


def test_status_update_is_validated() -> None:
    old = api.prepare_create(PODS, pod())
    bad = copy.deepcopy(old)
    bad["status"] = {"phase": "Walking", "conditions": [{"type": "Ready", "status": "Yes"}]}
    with pytest.raises(api.Invalid) as err:
        api.prepare_status_update(PODS, bad, old)
    assert [str(c) for c in err.value.causes] == [
        'status.conditions[0].status: Unsupported value: "Yes": supported values: "True", "False", "Unknown"',
        'status.phase: Unsupported value: "Walking": supported values: "Pending", "Running", "Succeeded", '
        '"Failed", "Unknown"',
    ]
    stored = api.prepare_create(DEPLOYMENTS, deployment())
    negative = {**stored, "status": {"replicas": -1}}
    with pytest.raises(api.Invalid, match="status.replicas: Invalid value: -1: must be greater than or equal to 0"):
        api.prepare_status_update(DEPLOYMENTS, negative, stored)
