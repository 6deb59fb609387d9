"""RBAC on a real ``portside up``, as users meet it: users from client certificates (``portside kubeconfig``) and
from ``--token-auth-file``, stock kubectl and the official client, Kubernetes' refusals word for word."""

import json
import subprocess
import sys

import pytest
from kubernetes import client, config, utils
from kubernetes.client.rest import ApiException
from support.cluster import Cluster, only
from support.wait import eventually

TOKENS = {"bob": "bob-token-0123456789", "carol": "carol-token-0123456789"}
TOKEN_FILE = f"""{TOKENS["bob"]},bob,u-bob,"ops,night-shift"
# a comment, then a user without groups
{TOKENS["carol"]},carol,u-carol
"""
# kubernetes-client/python's e2e RBAC manifest (kubernetes/e2e_test/test_yaml/rbac-role.yaml): a pod reader
POD_READER = """kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  namespace: default
  name: pod-reader
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "watch", "list"]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("rbac")
    (base / "tokens.csv").write_text(TOKEN_FILE)
    with Cluster(base / "data", extra=(*only("access-controllers"), "--token-auth-file",
                                       str(base / "tokens.csv"))) as c:
        yield c


def user_kubeconfig(cluster, user: str, *groups: str) -> str:
    """A kubeconfig with a client certificate for ``user``, minted by ``portside kubeconfig``."""
    out = cluster.data_dir.parent / f"{user}.kubeconfig"
    if not out.exists():
        argv = [sys.executable, "-m", "portside", "kubeconfig", "--data-dir", str(cluster.data_dir), "--user", user,
                *(a for g in groups for a in ("--group", g)), "-o", str(out)]
        subprocess.run(argv, check=True, capture_output=True, timeout=30)
    return str(out)


def token_kubeconfig(cluster, user: str) -> str:
    out = cluster.data_dir.parent / f"{user}-token.kubeconfig"
    if not out.exists():
        doc = json.loads(cluster.kubectl("config", "view", "--raw", "-o", "json").stdout)
        doc["users"] = [{"name": user, "user": {"token": TOKENS[user]}}]
        for c in doc["contexts"]:
            c["context"]["user"] = user
        out.write_text(json.dumps(doc))
    return str(out)


def apply(cluster, obj: dict, kubeconfig: str | None = None, check: bool = True):
    return cluster.kubectl("apply", "-f", "-", input=json.dumps(obj), kubeconfig=kubeconfig, check=check)


def binding(kind: str, name: str, role_kind: str, role: str, subjects: list[dict], namespace: str = "") -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": subjects}


def user(name: str) -> dict:
    return {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}


def test_a_user_bound_to_view_in_one_namespace_lists_pods_there_and_nothing_else(cluster):
    for ns in ("team-a", "team-b"):
        cluster.namespace(ns)
    cluster.kubectl("run", "web", "--image=busybox", "-n", "team-a")
    apply(cluster, binding("RoleBinding", "alice-view", "ClusterRole", "view", [user("alice")], "team-a"))
    alice = user_kubeconfig(cluster, "alice", "devs")
    assert "web" in cluster.kubectl("get", "pods", "-n", "team-a", kubeconfig=alice).stdout
    refused = {
        ("get", "pods", "-n", "team-b"): 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" '
                                         'in the namespace "team-b"',
        ("get", "secrets", "-n", "team-a"): 'secrets is forbidden: User "alice" cannot list resource "secrets" in '
                                            'API group "" in the namespace "team-a"',
        ("get", "nodes"): 'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the '
                          'cluster scope',
        ("delete", "pod", "web", "-n", "team-a"): 'pods "web" is forbidden: User "alice" cannot delete resource '
                                                  '"pods" in API group "" in the namespace "team-a"',
        ("get", "deploy", "-n", "team-b"): 'deployments.apps is forbidden: User "alice" cannot list resource '
                                           '"deployments" in API group "apps" in the namespace "team-b"',
    }
    for args, message in refused.items():
        proc = cluster.kubectl(*args, kubeconfig=alice, check=False)
        assert proc.returncode != 0 and f"Error from server (Forbidden): {message}" in proc.stderr, (args, proc.stderr)
    exec_refused = cluster.kubectl("exec", "-n", "team-a", "web", "--", "true", kubeconfig=alice, check=False)
    assert 'cannot create resource "pods/exec"' in exec_refused.stderr or \
        'cannot get resource "pods/exec"' in exec_refused.stderr, exec_refused.stderr
    whoami = cluster.kubectl("auth", "whoami", "-o", "json", kubeconfig=alice).stdout
    assert json.loads(whoami)["status"]["userInfo"] == {"username": "alice",
                                                        "groups": ["devs", "system:authenticated"]}


def test_token_file_users_carry_their_uid_and_groups(cluster):
    bob = token_kubeconfig(cluster, "bob")
    info = json.loads(cluster.kubectl("auth", "whoami", "-o", "json", kubeconfig=bob).stdout)["status"]["userInfo"]
    assert info == {"username": "bob", "uid": "u-bob", "groups": ["ops", "night-shift", "system:authenticated"]}
    assert cluster.kubectl("auth", "can-i", "list", "pods", "-A", kubeconfig=bob, check=False).stdout.strip() == "no"
    apply(cluster, binding("ClusterRoleBinding", "ops-view", "ClusterRole", "view",
                           [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "ops"}]))
    cluster.kubectl("get", "pods", "-A", kubeconfig=bob)  # allowed at once: the write waited for the index
    wrong = cluster.kubectl("get", "pods", "--token", "not-a-token", kubeconfig=bob, check=False)
    assert "error: You must be logged in to the server (Unauthorized)" in wrong.stderr


def test_nobody_grants_what_they_do_not_hold(cluster):
    ns = cluster.namespace("escalation")
    apply(cluster, binding("RoleBinding", "carol-admin", "ClusterRole", "admin", [user("carol")], ns))
    carol = token_kubeconfig(cluster, "carol")
    readers = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "readers"},
               "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(readers), kubeconfig=carol)
    greedy = {**readers, "metadata": {"name": "greedy"},
              "rules": [{"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["get", "delete"]}]}
    proc = cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(greedy), kubeconfig=carol, check=False)
    assert ('roles.rbac.authorization.k8s.io "greedy" is forbidden: user "carol" (groups=["system:authenticated"]) '
            'is attempting to grant RBAC permissions not currently held:\n'
            '{APIGroups:[""], Resources:["nodes"], Verbs:["delete"]}\n'
            '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}') in proc.stderr, proc.stderr
    to_admin = binding("RoleBinding", "carol-root", "ClusterRole", "cluster-admin", [user("carol")], ns)
    proc = apply(cluster, to_admin, carol, check=False)
    assert "is attempting to grant RBAC permissions not currently held" in proc.stderr, proc.stderr
    # `bind` on that one ClusterRole lets her bind it (in her namespace only, where a RoleBinding grants it)
    binder = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
              "metadata": {"name": "bind-cluster-admin"},
              "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
                         "verbs": ["bind"], "resourceNames": ["cluster-admin"]}]}
    apply(cluster, binder)
    apply(cluster, binding("RoleBinding", "carol-binds", "ClusterRole", "bind-cluster-admin", [user("carol")], ns))
    apply(cluster, to_admin, carol)
    assert cluster.kubectl("auth", "can-i", "delete", "secrets", "-n", ns, kubeconfig=carol).stdout.strip() == "yes"
    assert cluster.kubectl("auth", "can-i", "get", "nodes", kubeconfig=carol, check=False).stdout.strip() == "no"


def test_labelled_cluster_roles_extend_view(cluster):
    ns = cluster.namespace("aggregated")
    apply(cluster, binding("RoleBinding", "dave-view", "ClusterRole", "view", [user("dave")], ns))
    dave = user_kubeconfig(cluster, "dave")
    assert cluster.kubectl("auth", "can-i", "list", "leases.coordination.k8s.io", "-n", ns, kubeconfig=dave,
                           check=False).stdout.strip() == "no"
    apply(cluster, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": "lease-reader",
                                 "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
                    "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                               "verbs": ["get", "list", "watch"]}]})
    eventually(lambda: cluster.kubectl("auth", "can-i", "list", "leases.coordination.k8s.io", "-n", ns,
                                       kubeconfig=dave, check=False).stdout.strip() == "yes",
               what="view to aggregate the labelled role")
    cluster.kubectl("get", "leases", "-n", ns, kubeconfig=dave)


def test_access_reviews_answer_for_others_and_list_rules(cluster):
    ns = cluster.namespace("reviews")
    apply(cluster, binding("RoleBinding", "erin-edit", "ClusterRole", "edit", [user("erin")], ns))
    api = client.AuthorizationV1Api(config.new_client_from_config(config_file=cluster.kubeconfig))

    def review(verb, resource, namespace=ns, **extra):
        body = {"spec": {"user": "erin", "groups": ["system:authenticated"],
                         "resourceAttributes": {"verb": verb, "resource": resource, "namespace": namespace, **extra}}}
        return api.create_subject_access_review(body).status
    allowed = review("create", "deployments", group="apps")
    assert allowed.allowed and allowed.reason == ('RBAC: allowed by RoleBinding "erin-edit" of namespace "reviews" '
                                                  'of ClusterRole "edit" to User "erin"')
    assert not review("create", "roles", group="rbac.authorization.k8s.io").allowed
    assert not review("list", "pods", namespace="default").allowed
    local = api.create_namespaced_local_subject_access_review(ns, {"spec": {
        "user": "erin", "resourceAttributes": {"verb": "get", "resource": "secrets", "namespace": ns}}})
    assert local.status.allowed
    with pytest.raises(ApiException) as elsewhere:
        api.create_namespaced_local_subject_access_review(ns, {"spec": {
            "user": "erin", "resourceAttributes": {"verb": "get", "resource": "secrets", "namespace": "other"}}})
    assert elsewhere.value.status == 422
    erin = user_kubeconfig(cluster, "erin")
    listed = cluster.kubectl("auth", "can-i", "--list", "-n", ns, kubeconfig=erin).stdout
    assert "deployments.apps" in listed and "secrets" in listed and "roles.rbac" not in listed


def test_anonymous_requests_see_health_only(cluster):
    import ssl
    import urllib.error
    import urllib.request
    ctx = ssl.create_default_context(cafile=cluster.ca)
    for path in ("/healthz", "/readyz", "/version"):
        with urllib.request.urlopen(cluster.url + path, context=ctx, timeout=5) as resp:
            assert resp.status == 200
    for path in ("/api/v1/namespaces", "/metrics", "/apis", "/openapi/v2"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(cluster.url + path, context=ctx, timeout=5)
        assert refused.value.code == 401, path


def test_impersonation_needs_its_own_permission(cluster):
    ns = cluster.namespace("impersonation")
    as_frank = cluster.kubectl("get", "pods", "-n", ns, "--as", "frank", "--as-group", "testers", check=False)
    assert 'User "frank" cannot list resource "pods"' in as_frank.stderr, as_frank.stderr
    who = json.loads(cluster.kubectl("auth", "whoami", "-o", "json", "--as", "frank", "--as-group", "testers").stdout)
    assert who["status"]["userInfo"]["groups"] == ["testers", "system:authenticated"]
    frank = user_kubeconfig(cluster, "frank")
    proc = cluster.kubectl("get", "pods", "--as", "admin", kubeconfig=frank, check=False)
    assert 'users "admin" is forbidden: User "frank" cannot impersonate resource "users" in API group "" at the ' \
           'cluster scope' in proc.stderr, proc.stderr


def test_python_client_creates_reads_and_deletes_rbac_objects(cluster):
    """What kubernetes-client/python's e2e tests do with RBAC (test_utils.test_create_rbac_role_from_yaml and its
    verbose twin), plus the binding calls of RbacAuthorizationV1Api."""
    api_client = config.new_client_from_config(config_file=cluster.kubeconfig)
    manifest = cluster.data_dir.parent / "rbac-role.yaml"
    manifest.write_text(POD_READER)
    rbac = client.RbacAuthorizationV1Api(api_client)
    for verbose in (False, True):
        utils.create_from_yaml(api_client, str(manifest), verbose=verbose)
        role = rbac.read_namespaced_role(name="pod-reader", namespace="default")
        assert role.metadata.name == "pod-reader" and role.rules[0].resources[0] == "pods"
        rbac.delete_namespaced_role(name="pod-reader", namespace="default", body={})
    made = rbac.create_cluster_role_binding(client.V1ClusterRoleBinding(
        metadata=client.V1ObjectMeta(name="py-view"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="view"),
        subjects=[client.RbacV1Subject(kind="Group", name="py", api_group="rbac.authorization.k8s.io")]))
    assert made.role_ref.name == "view"
    assert "py-view" in [b.metadata.name for b in rbac.list_cluster_role_binding().items]
    assert rbac.read_cluster_role("view").aggregation_rule.cluster_role_selectors[0].match_labels == {
        "rbac.authorization.k8s.io/aggregate-to-view": "true"}
    made.role_ref.name = "edit"
    with pytest.raises(ApiException) as immutable:
        rbac.replace_cluster_role_binding("py-view", made)
    assert immutable.value.status == 422 and "cannot change roleRef" in immutable.value.body
    rbac.delete_cluster_role_binding("py-view")
    api_client.close()


def test_bad_token_files_and_kubeconfig_requests_are_refused_before_anything_starts(tmp_path):
    bad = tmp_path / "tokens.csv"
    bad.write_text("only-a-token,alice\n")
    proc = subprocess.run([sys.executable, "-m", "portside", "up", "--data-dir", str(tmp_path / "d"),
                           "--token-auth-file", str(bad)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "line 1: expected at least 3 columns (token, user name, user uid), found 2" \
        in proc.stderr, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "portside", "up", "--data-dir", str(tmp_path / "d"),
                           "--authorization-mode", "Node,ABAC"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "unknown mode 'ABAC'" in proc.stderr, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "portside", "kubeconfig", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "--user NAME is required" in proc.stderr
