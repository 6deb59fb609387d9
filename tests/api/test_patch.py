"""PATCH bodies: JSON patch, JSON merge patch, strategic merge patch with kubectl's directives, apply."""

import copy
import json

import pytest
from support.builders import deployment

from portside import api

DEPLOYMENTS = api.lookup("apps", "v1", "deployments")
PODS = api.lookup("", "v1", "pods")
SMP = "application/strategic-merge-patch+json"


def _patch(original: dict, patch: object, content_type: str = SMP, info=DEPLOYMENTS) -> dict:  # type: ignore[no-untyped-def]
    body = patch if isinstance(patch, bytes) else json.dumps(patch).encode()
    before = copy.deepcopy(original)
    result = api.apply_patch(info, original, body, content_type)
    assert original == before  # the stored object is never modified in place
    return result


def _pod(**spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1", "b": "2"},
                                                           "finalizers": ["x/a"]}, "spec": spec}


def test_json_patch() -> None:
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 5}, {"op": "add", "path": "/metadata/labels",
                                                                      "value": {"tier": "web"}}]
    out = _patch(deployment(), ops, "application/json-patch+json")
    assert out["spec"]["replicas"] == 5 and out["metadata"]["labels"] == {"tier": "web"}


@pytest.mark.parametrize(
    ("ops", "code"),
    [
        ([{"op": "test", "path": "/spec/replicas", "value": 4}], 422),
        ([{"op": "remove", "path": "/spec/nothing"}], 422),
        ({"op": "add"}, 400),
        (b"not json", 400),
    ],
)
def test_json_patch_errors(ops: object, code: int) -> None:
    with pytest.raises(api.PatchError) as err:
        _patch(deployment(), ops, "application/json-patch+json")
    assert err.value.code == code


def test_merge_patch_replaces_lists_and_null_deletes() -> None:
    original = _pod(containers=[{"name": "a", "image": "1"}, {"name": "b", "image": "1"}])
    out = _patch(original, {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"containers": [{"name": "a"}]}},
                 "application/merge-patch+json", PODS)
    assert out["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert out["spec"]["containers"] == [{"name": "a"}]
    assert api.merge_patch({"a": 1}, "x") == "x"


def test_strategic_merge_merges_keyed_lists() -> None:
    original = _pod(containers=[{"name": "a", "image": "1", "env": [{"name": "X", "value": "1"}]},
                                {"name": "b", "image": "1"}])
    out = _patch(original, {"spec": {"containers": [{"name": "a", "image": "2", "env": [{"name": "Y", "value": "2"}]},
                                                    {"name": "c", "image": "3"}]}}, info=PODS)
    # Kubernetes' ordering: patch items in patch order, a server-only item goes first only when it preceded the
    # next patch item in the original (new items count as unordered, so they come before server-only ones).
    assert out["spec"]["containers"] == [
        {"name": "a", "image": "2", "env": [{"name": "Y", "value": "2"}, {"name": "X", "value": "1"}]},
        {"name": "c", "image": "3"},
        {"name": "b", "image": "1"},
    ]


def test_strategic_merge_directives() -> None:
    original = _pod(containers=[{"name": "a", "image": "1", "ports": [{"containerPort": 80}, {"containerPort": 81}]},
                                {"name": "b", "image": "1"}],
                    tolerations=[{"key": "x", "operator": "Exists"}])
    patch = {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["x/a"], "finalizers": ["x/b"]},
        "spec": {
            "containers": [{"$patch": "delete", "name": "b"},
                           {"name": "a", "ports": [{"$patch": "delete", "containerPort": 81}]}],
            "tolerations": [{"key": "y", "operator": "Exists"}],  # no strategy: the list is replaced
        },
    }
    out = _patch(original, patch, info=PODS)
    assert out["metadata"]["finalizers"] == ["x/b"]
    assert out["spec"]["containers"] == [{"name": "a", "image": "1", "ports": [{"containerPort": 80}]}]
    assert out["spec"]["tolerations"] == [{"key": "y", "operator": "Exists"}]


def test_replace_directives() -> None:
    original = _pod(containers=[{"name": "a", "image": "1"}, {"name": "b", "image": "1"}],
                    securityContext={"runAsUser": 1, "fsGroup": 2})
    patch = {"spec": {"containers": [{"$patch": "replace"}, {"name": "c", "image": "3"}],
                      "securityContext": {"$patch": "replace", "runAsUser": 5}}}
    out = _patch(original, patch, info=PODS)
    assert out["spec"]["containers"] == [{"name": "c", "image": "3"}]
    assert out["spec"]["securityContext"] == {"runAsUser": 5}
    gone = _patch(original, {"spec": {"securityContext": {"$patch": "delete"}}}, info=PODS)
    assert "securityContext" not in gone["spec"]


def test_retain_keys_switches_a_union() -> None:
    original = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}})
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert _patch(original, patch)["spec"]["strategy"] == {"type": "Recreate"}


def test_set_element_order_reorders_and_keeps_server_only_items() -> None:
    original = _pod(containers=[{"name": "a", "image": "1"}, {"name": "server", "image": "s"},
                                {"name": "b", "image": "1"}])
    patch = {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                      "containers": [{"name": "b", "image": "2"}]}}
    out = _patch(original, patch, info=PODS)
    assert [c["name"] for c in out["spec"]["containers"]] == ["server", "b", "a"]
    assert out["spec"]["containers"][1]["image"] == "2"


def test_kubectl_client_side_apply_patch() -> None:
    """The patch kubectl apply sends after the manifest changes image, drops an env var and adds a port."""
    applied = deployment()
    applied["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}, {"name": "B",
                                                                                                  "value": "2"}]
    live = api.prepare_create(DEPLOYMENTS, copy.deepcopy(applied))
    live["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)}
    live["metadata"]["labels"] = {"added-by": "someone-else"}
    new_applied = copy.deepcopy(applied)
    new_applied["spec"]["template"]["spec"]["containers"][0].update(image="my-app:v2", env=[{"name": "B",
                                                                                              "value": "2"}],
                                                                     ports=[{"containerPort": 5000}])
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(new_applied)}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "my-app"}],
            "containers": [{"name": "my-app", "image": "my-app:v2",
                            "$setElementOrder/env": [{"name": "B"}], "env": [{"$patch": "delete", "name": "A"}],
                            "ports": [{"containerPort": 5000}]}],
        }}},
    }
    out = _patch(live, patch)
    c = out["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "my-app:v2" and c["env"] == [{"name": "B", "value": "2"}]
    assert c["ports"] == [{"containerPort": 5000}]
    assert c["imagePullPolicy"] == "Always"  # server-set default untouched
    assert out["metadata"]["labels"] == {"added-by": "someone-else"}
    assert json.loads(out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]) == \
        new_applied
    assert api.spec_changed(DEPLOYMENTS, api.prepare_update(DEPLOYMENTS, out, live), live)


def test_strategic_errors() -> None:
    with pytest.raises(api.PatchError, match="does not contain declared merge key: name") as err:
        _patch(_pod(containers=[{"name": "a"}]), {"spec": {"containers": [{"image": "x"}]}}, info=PODS)
    assert err.value.code == 422
    with pytest.raises(api.PatchError) as bad:
        _patch(_pod(), [1, 2], info=PODS)
    assert bad.value.code == 400


def test_apply_patch_yaml_and_unknown_type() -> None:
    out = _patch(deployment(), b"spec:\n  replicas: 7\n", "application/apply-patch+yaml")
    assert out["spec"]["replicas"] == 7
    with pytest.raises(api.PatchError) as err:
        _patch(deployment(), {}, "text/plain")
    assert err.value.code == 415
