"""RBAC's pure parts: request attributes from paths, rule matching, the escalation cover check, the policy."""

from multidict import MultiDict

from portside.apiserver.auth import User
from portside.apiserver.authz import policy
from portside.apiserver.authz.attributes import also_create, from_request
from portside.apiserver.authz.rules import Rule, describe, uncovered

ALICE = User("alice", groups=("system:authenticated",))


def attrs(method: str, path: str, **query: str):
    return from_request(ALICE, method, path, MultiDict(query))


def test_paths_become_kubernetes_request_attributes() -> None:
    a = attrs("GET", "/api/v1/namespaces/default/pods")
    assert (a.verb, a.api_group, a.namespace, a.resource, a.name) == ("list", "", "default", "pods", "")
    a = attrs("GET", "/apis/apps/v1/namespaces/web/deployments/site/scale")
    assert (a.verb, a.api_group, a.resource, a.subresource, a.name) == ("get", "apps", "deployments", "scale", "site")
    assert attrs("GET", "/api/v1/pods", watch="true").verb == "watch"
    assert attrs("GET", "/api/v1/watch/namespaces/x/pods").verb == "watch"
    assert attrs("DELETE", "/api/v1/namespaces/x/configmaps").verb == "deletecollection"
    assert attrs("PATCH", "/api/v1/nodes/n1/status").verb == "patch"


def test_namespace_objects_and_named_watches() -> None:
    ns = attrs("GET", "/api/v1/namespaces/team")
    assert (ns.resource, ns.name, ns.namespace) == ("namespaces", "team", "team")
    status = attrs("PUT", "/api/v1/namespaces/team/status")
    assert (status.resource, status.subresource, status.verb) == ("namespaces", "status", "update")
    named = attrs("GET", "/api/v1/namespaces/x/pods", watch="1", fieldSelector="metadata.name=web-0")
    assert (named.verb, named.name) == ("watch", "web-0")
    assert attrs("GET", "/api/v1/namespaces/x/pods", fieldSelector="metadata.name!=a").name == ""


def test_non_resource_paths_use_the_http_method() -> None:
    for method, path, verb in (("GET", "/healthz", "get"), ("GET", "/apis", "get"), ("POST", "/v1-x", "post"),
                               ("GET", "/apis/apps", "get"), ("HEAD", "/version", "get")):
        a = attrs(method, path)
        assert not a.resource_request and a.verb == verb and a.path == path


def test_a_websocket_exec_also_needs_create() -> None:
    get = attrs("GET", "/api/v1/namespaces/x/pods/p/exec", command="ls")
    assert get.verb == "get" and also_create(get, "GET", True).verb == "create"
    assert also_create(attrs("GET", "/api/v1/namespaces/x/pods/p/log"), "GET", True) is None


def rule(verbs, groups=("",), resources=("pods",), names=(), urls=()) -> Rule:
    return Rule(frozenset(verbs), frozenset(groups) if not urls else frozenset(),
                frozenset(resources) if not urls else frozenset(), frozenset(names), tuple(urls))


def test_rules_match_verbs_groups_resources_subresources_and_names() -> None:
    assert rule(["get"]).allows_resource("get", "", "pods", "", "x")
    assert not rule(["get"]).allows_resource("list", "", "pods", "", "")
    assert not rule(["get"]).allows_resource("get", "apps", "pods", "", "")
    assert not rule(["get"]).allows_resource("get", "", "pods", "log", "x")
    assert rule(["get"], resources=["pods/log"]).allows_resource("get", "", "pods", "log", "x")
    assert rule(["get"], groups=["*"], resources=["*/scale"]).allows_resource("get", "apps", "deployments", "scale",
                                                                              "d")
    assert rule(["*"], groups=["*"], resources=["*"]).allows_resource("delete", "batch", "jobs", "", "j")
    only_a = rule(["get"], names=["a"])
    assert only_a.allows_resource("get", "", "pods", "", "a")
    assert not only_a.allows_resource("get", "", "pods", "", "b") and not only_a.allows_resource("list", "", "pods",
                                                                                                  "", "")


def test_non_resource_rules_match_exact_paths_and_star_prefixes() -> None:
    r = rule(["get"], urls=["/healthz", "/apis/*"])
    assert r.allows_path("get", "/healthz") and r.allows_path("get", "/apis/apps/v1")
    assert not r.allows_path("get", "/healthz/etcd") and not r.allows_path("post", "/healthz")
    assert not r.allows_resource("get", "", "pods", "", "")


def test_cover_check_finds_exactly_the_missing_parts() -> None:
    owner = [rule(["get", "list"]), rule(["*"], groups=["apps"], resources=["*"]), rule(["get"], urls=["/metrics"])]
    assert uncovered(owner, [rule(["get"]), rule(["delete"], groups=["apps"], resources=["deployments/scale"])]) == []
    missing = uncovered(owner, [rule(["get", "delete"], resources=["pods", "secrets"])])
    assert sorted(describe(m) for m in missing) == [
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}',
        '{APIGroups:[""], Resources:["secrets"], Verbs:["delete"]}',
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}']
    assert uncovered([rule(["get"], resources=["*/log"])], [rule(["get"], resources=["pods/log"])]) == []
    assert uncovered([rule(["get"], names=["a"])], [rule(["get"])]) != []
    assert uncovered(owner, [rule(["get"], urls=["/metrics"])]) == []


def test_default_policy_has_kubernetes_roles_and_bindings() -> None:
    roles = {r["metadata"]["name"]: r for r in policy.cluster_roles()}
    for name in ("cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery",
                 "system:public-info-viewer", "system:kube-scheduler", "system:kube-controller-manager"):
        assert name in roles
    assert roles["view"]["aggregationRule"]["clusterRoleSelectors"] == [
        {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]
    assert roles["system:aggregate-to-view"]["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] \
        == "true"
    bindings = {b["metadata"]["name"]: b for b in policy.cluster_bindings()}
    assert bindings["cluster-admin"]["subjects"] == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
                                                      "name": "system:masters"}]
    assert {s["name"] for s in bindings["system:public-info-viewer"]["subjects"]} == {
        "system:authenticated", "system:unauthenticated"}
