"""OpenAPI documents: the structure kubectl relies on (GVK extensions, patch metadata, fieldValidation)."""

import json

from portside import api


def test_index_lists_every_group_version() -> None:
    paths = api.openapi_v3_index()["paths"]
    assert set(paths) == {"api/v1", "apis/apps/v1", "apis/batch/v1", "apis/scheduling.k8s.io/v1",
                          "apis/coordination.k8s.io/v1", "apis/policy/v1", "apis/autoscaling/v2",
                          "apis/autoscaling/v1", "apis/storage.k8s.io/v1",
                          "apis/networking.k8s.io/v1"}
    assert paths["apis/apps/v1"]["serverRelativeURL"].startswith("/openapi/v3/apis/apps/v1?hash=")


def test_a_kind_in_two_versions_has_a_definition_in_each() -> None:
    v1 = api.openapi_v3("autoscaling", "v1")["components"]["schemas"]
    v2 = api.openapi_v3("autoscaling", "v2")["components"]["schemas"]
    assert v1["io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler"]["x-kubernetes-group-version-kind"] == [
        {"group": "autoscaling", "kind": "HorizontalPodAutoscaler", "version": "v1"}]
    assert "targetCPUUtilizationPercentage" in v1["io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerSpec"]["properties"]
    assert "behavior" in v2["io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec"]["properties"]
    both = api.openapi_v2()["definitions"]
    assert {"io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler", "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
            "io.k8s.api.autoscaling.v1.CrossVersionObjectReference"} <= set(both)


def test_patch_operation_advertises_field_validation_and_strategic_merge() -> None:
    doc = api.openapi_v3("apps", "v1")
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]


def test_kind_schemas_carry_gvk_and_patch_metadata() -> None:
    schemas = api.openapi_v3("", "v1")["components"]["schemas"]
    assert schemas["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "Pod", "version": "v1"}]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["items"] == {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}],
                                   "default": {}}
    assert "containers" in schemas["io.k8s.api.core.v1.PodSpec"]["required"]
    assert schemas["io.k8s.api.core.v1.PodList"]["x-kubernetes-group-version-kind"][0]["kind"] == "PodList"


def test_every_reference_resolves() -> None:
    for key in api.openapi_v3_index()["paths"]:
        parts = key.split("/")
        doc = api.openapi_v3("", parts[1]) if parts[0] == "api" else api.openapi_v3(parts[1], parts[2])
        text = json.dumps(doc)
        names = set(doc["components"]["schemas"])
        for ref in {r.split('"')[0] for r in text.split('"$ref": "#/components/schemas/')[1:]}:
            assert ref in names, (key, ref)


def test_v2_document() -> None:
    doc = api.openapi_v2()
    assert doc["swagger"] == "2.0"
    patch = doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in patch["consumes"]
    assert doc["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"][
        "x-kubernetes-patch-strategy"] == "retainKeys"


def test_unknown_group_version_is_none() -> None:
    assert api.openapi_v3("example.com", "v1") is None


def test_eviction_is_a_create_on_pods_with_its_own_kind() -> None:
    doc = api.openapi_v3("", "v1")
    post = doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]
    assert post["operationId"] == "createCoreV1NamespacedPodEviction"
    assert post["x-kubernetes-group-version-kind"] == {"group": "policy", "version": "v1", "kind": "Eviction"}
    schema = doc["components"]["schemas"]["io.k8s.api.policy.v1.Eviction"]
    assert set(schema["properties"]) == {"apiVersion", "kind", "metadata", "deleteOptions"}
    pdb = api.openapi_v3("policy", "v1")["components"]["schemas"]["io.k8s.api.policy.v1.PodDisruptionBudget"]
    assert pdb["x-kubernetes-group-version-kind"] == [{"group": "policy", "kind": "PodDisruptionBudget",
                                                      "version": "v1"}]
