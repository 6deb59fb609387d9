"""Authorization audited over the whole API, as discovery describes it: every resource and subresource, every
verb, in a namespace and at the cluster scope, tried for real.

- ``kubectl auth can-i --list`` (SelfSubjectRulesReview) must say exactly what the API allows: for a user with a
  RoleBinding, a ClusterRoleBinding and a rule limited by ``resourceNames``, every request is allowed exactly when
  a listed rule allows it, and ``kubectl auth can-i`` (SelfSubjectAccessReview) agrees request by request;
- with no credentials nothing but the health and version endpoints answer;
- another namespace's ServiceAccount token gets nothing beyond what RBAC grants it (a SubjectAccessReview asked
  by the admin is the oracle, and no Secret, pod or ConfigMap of the namespace is readable);
- a node's credential gets no read or write beyond the Node authorizer's rules (the objects its pods use, its own
  Node and Lease, Events) and RBAC's basics.

Writes name objects that do not exist, and collections are deleted with a selector that matches nothing, so the
audit changes nothing it is allowed to change: authorization is decided before the object is looked up.
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest
import yaml
from support.cluster import Cluster, only

WALK_NS, VICTIM_NS, OUTSIDER_NS = "walk", "victim", "outsider"
MISSING = "audit-missing"
PUBLIC = {"/healthz", "/livez", "/readyz", "/version"}
NON_RESOURCE = [*sorted(PUBLIC), "/metrics", "/openapi/v2", "/openapi/v3", "/api", "/api/v1", "/apis", "/apis/apps"]
SECRET_VALUE = "audit-secret-value"


@dataclass(frozen=True)
class Endpoint:
    group: str
    version: str
    resource: str
    subresource: str
    namespaced: bool
    verbs: tuple[str, ...]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with Cluster(tmp_path_factory.mktemp("audit") / "data", extra=only()) as c:
        for ns in (WALK_NS, VICTIM_NS, OUTSIDER_NS):
            c.namespace(ns)
        yield c


class Caller:
    """Plain HTTPS requests with one identity: a client certificate, a bearer token, or nothing."""

    def __init__(self, cluster, token: str = "", cert: tuple[str, str] | None = None) -> None:
        self.url, self.token = cluster.url, token
        self.ctx = ssl.create_default_context(cafile=cluster.ca)
        if cert:
            self.ctx.load_cert_chain(*cert)

    def __call__(self, method: str, path: str, body: dict | None = None, content_type: str = "application/json"
                 ) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": content_type} if data is not None else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, context=self.ctx, timeout=10) as resp:
                return resp.status, b"" if "watch=1" in path else resp.read(4096)  # a watch: its headers say
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def endpoints(cluster) -> list[Endpoint]:
    """Every resource and subresource in discovery (the legacy per-version lists, which carry subresources)."""
    admin = Caller(cluster, cluster.tokens()["admin"])
    versions = [("", "v1")]
    for g in json.loads(_full(admin, "/apis"))["groups"]:
        versions.append((g["name"], g["preferredVersion"]["version"]))
    out = []
    for group, version in versions:
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        for r in json.loads(_full(admin, path))["resources"]:
            resource, _, sub = r["name"].partition("/")
            out.append(Endpoint(group, version, resource, sub, r["namespaced"], tuple(r["verbs"])))
    return out


def _full(caller, path: str) -> bytes:
    request = urllib.request.Request(caller.url + path, headers={"Authorization": f"Bearer {caller.token}"})
    with urllib.request.urlopen(request, context=caller.ctx, timeout=10) as resp:
        return resp.read()


def requests_for(e: Endpoint, namespace: str, name: str = MISSING):
    """(verb, method, path, body, content type) for every verb the endpoint serves; for a name other than
    ``MISSING`` only the verbs that name an object."""
    base = f"/apis/{e.group}/{e.version}" if e.group else f"/api/{e.version}"
    base += f"/namespaces/{namespace}/{e.resource}" if e.namespaced else f"/{e.resource}"
    one = f"{base}/{name}" + (f"/{e.subresource}" if e.subresource else "")
    merge = "application/merge-patch+json"
    for verb in e.verbs:
        if name not in (MISSING, namespace) and not e.subresource and \
                verb in ("list", "watch", "create", "deletecollection"):
            continue
        if e.subresource:
            yield from {"get": [(verb, "GET", one, None, "")], "update": [(verb, "PUT", one, {}, "application/json")],
                        "patch": [(verb, "PATCH", one, {}, merge)],
                        "create": [(verb, "POST", one, {}, "application/json")]}.get(verb, [])
            continue
        yield from {
            "list": [(verb, "GET", base, None, "")],
            "watch": [(verb, "GET", base + "?watch=1&timeoutSeconds=1&labelSelector=audit-none%3Dx", None, "")],
            "get": [(verb, "GET", one, None, "")],
            "create": [(verb, "POST", base, {}, "application/json")],
            "update": [(verb, "PUT", one, {"metadata": {"name": name}}, "application/json")],
            "patch": [(verb, "PATCH", one, {}, merge)],
            "delete": [(verb, "DELETE", one, None, "")],
            "deletecollection": [(verb, "DELETE", base + "?labelSelector=audit-none%3Dx", None, "")],
        }.get(verb, [])


def scope(e: Endpoint, namespace: str) -> str:
    """The namespace a request on ``e`` is in: its own for a namespace object, as the server reads the path."""
    return namespace if e.namespaced or e.resource == "namespaces" else ""


def object_names(e: Endpoint, namespace: str, more: list[str]) -> list[str]:
    """The names to try: one that does not exist and ``more``; for namespaces, the namespace itself (a namespace
    is its own scope: a RoleBinding lets one read the namespace it is in)."""
    return [namespace] if e.resource == "namespaces" else [MISSING, *more]


def refused(code: int) -> bool:
    return code in (401, 403)


# -- can-i --list against the API ---------------------------------------------------------------------------

def rules_from_can_i(text: str) -> list[tuple[str, str, set[str], set[str], set[str]]]:
    """(group, resource, names, verbs, urls) rows of ``kubectl auth can-i --list``'s table."""
    rows = []
    for line in text.splitlines()[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) == 3:  # a non-resource row: no Resources cell
            cells = ["", *cells]
        resource, urls, names, verbs = cells
        base, _, sub = resource.partition("/")
        plural, _, group = base.partition(".")
        rows.append((group, plural + (f"/{sub}" if sub else ""), _cell(names), _cell(verbs), _cell(urls)))
    return rows


def _cell(text: str) -> set[str]:
    """``[a b c]`` -> {a, b, c}."""
    return set(text.strip("[]").split())


def rules_from_review(caller: Caller, namespace: str) -> list[tuple[str, str, set[str], set[str], set[str]]]:
    """The same rows from a SelfSubjectRulesReview (for the cluster scope, which kubectl does not ask about)."""
    answer = json.loads(_review_body(caller, namespace))["status"]
    rows = []
    for r in answer["resourceRules"]:
        for group in r.get("apiGroups") or [""]:
            for resource in r.get("resources") or []:
                rows.append((group, resource, set(r.get("resourceNames") or []), set(r["verbs"]), set()))
    rows += [("", "", set(), set(r["verbs"]), set(r["nonResourceURLs"])) for r in answer["nonResourceRules"]]
    return rows


def _review_body(caller: Caller, namespace: str) -> bytes:
    """The whole answer (``Caller`` keeps only the start of one)."""
    request = urllib.request.Request(caller.url + "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                                     data=json.dumps({"spec": {"namespace": namespace}}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=caller.ctx, timeout=10) as resp:
        return resp.read()


def listed_allows(rows, group: str, resource: str, verb: str, name: str) -> bool:
    for g, r, names, verbs, urls in rows:
        if urls or not (verb in verbs or "*" in verbs):
            continue
        if g != "*" and g != group:
            continue
        base, _, sub = resource.partition("/")
        if r not in ("*", resource) and not (sub and r == f"*/{sub}"):
            continue
        if names and name not in names:
            continue
        return True
    return False


def user_credentials(cluster, user: str) -> tuple[str, tuple[str, str]]:
    """(kubeconfig, (cert file, key file)) for ``user``, minted by ``portside kubeconfig``."""
    base = cluster.data_dir.parent
    kubeconfig = base / f"{user}.kubeconfig"
    subprocess.run([sys.executable, "-m", "portside", "kubeconfig", "--data-dir", str(cluster.data_dir), "--user",
                    user, "-o", str(kubeconfig)], check=True, capture_output=True, timeout=30)
    import base64
    entry = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]
    cert, key = base / f"{user}.crt", base / f"{user}.key"
    cert.write_bytes(base64.b64decode(entry["client-certificate-data"]))
    key.write_bytes(base64.b64decode(entry["client-key-data"]))
    return str(kubeconfig), (str(cert), str(key))


def test_can_i_list_says_exactly_what_the_api_allows(cluster):
    def apply(doc):
        cluster.kubectl("apply", "-f", "-", input=json.dumps(doc))
    rbac = "rbac.authorization.k8s.io"
    apply({"apiVersion": f"{rbac}/v1", "kind": "RoleBinding", "metadata": {"name": "walker-edit", "namespace": WALK_NS},
           "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "edit"},
           "subjects": [{"kind": "User", "apiGroup": rbac, "name": "walker"}]})
    apply({"apiVersion": f"{rbac}/v1", "kind": "ClusterRole", "metadata": {"name": "walker-nodes"},
           "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]},
                     {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["get"],
                      "resourceNames": ["named-only"]}]})
    apply({"apiVersion": f"{rbac}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "walker-nodes"},
           "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "walker-nodes"},
           "subjects": [{"kind": "User", "apiGroup": rbac, "name": "walker"}]})
    kubeconfig, cert = user_credentials(cluster, "walker")
    walker = Caller(cluster, cert=cert)
    rows = {WALK_NS: rules_from_can_i(cluster.kubectl("auth", "can-i", "--list", "-n", WALK_NS,
                                                      kubeconfig=kubeconfig).stdout),
            "": rules_from_review(walker, "")}  # what applies at the cluster scope (no namespace)
    checked = 0
    for e in endpoints(cluster):
        resource = e.resource + (f"/{e.subresource}" if e.subresource else "")
        for name in object_names(e, WALK_NS, ["named-only"]):
            for verb, method, path, body, ctype in requests_for(e, WALK_NS, name):
                named = name if verb not in ("list", "watch", "create", "deletecollection") or e.subresource else ""
                namespace = scope(e, WALK_NS) if (e.namespaced or named) else ""
                expected = listed_allows(rows[namespace], e.group, resource, verb, named)
                code, answer = walker(method, path, body, ctype)
                assert refused(code) != expected, (verb, path, code, answer[:300], "can-i --list says", expected)
                review = {"spec": {"resourceAttributes": {
                    "verb": verb, "group": e.group, "resource": e.resource, "subresource": e.subresource,
                    "name": named, "namespace": namespace}}}
                status, said = walker("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review)
                assert status == 201 and json.loads(said)["status"]["allowed"] == expected, (verb, path, said)
                checked += 1
    assert checked > 300
    for path in NON_RESOURCE:
        code, _ = walker("GET", path)
        allowed = any(("*" in v or "get" in v) and any(u == path or u == "*" or
                                                        (u.endswith("*") and path.startswith(u[:-1])) for u in urls)
                      for _, _, _, v, urls in rows[WALK_NS])
        assert refused(code) != allowed, (path, code)


# -- the audit -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def victim(cluster) -> str:
    """Objects worth stealing in the victim namespace, and a pod bound to another node that uses them."""
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "loot", "namespace": VICTIM_NS},
              "stringData": {"k": SECRET_VALUE}}
    plans = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plans", "namespace": VICTIM_NS},
             "data": {"k": "v"}}
    for obj in (secret, plans):
        cluster.kubectl("apply", "-f", "-", input=json.dumps(obj))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "worker", "namespace": VICTIM_NS},
           "spec": {"nodeName": "elsewhere", "containers": [{"name": "c", "image": "busybox", "envFrom": [
               {"secretRef": {"name": "loot"}}, {"configMapRef": {"name": "plans"}}]}]}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
    return VICTIM_NS


def sar_allows(admin: Caller, user: str, groups: list[str], verb: str, e: Endpoint, namespace: str,
               name: str) -> bool:
    review = {"spec": {"user": user, "groups": groups, "resourceAttributes": {
        "verb": verb, "group": e.group, "resource": e.resource, "subresource": e.subresource, "name": name,
        "namespace": namespace}}}
    status, body = admin("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
    assert status == 201, body
    return json.loads(body)["status"]["allowed"]


def walk(cluster, caller: Caller, namespace: str):
    """(endpoint, verb, method, path, code, body) for every request of the discovery walk in ``namespace``."""
    for e in endpoints(cluster):
        loot = {"secrets": ["loot"], "pods": ["worker"], "configmaps": ["plans"]}.get(e.resource, [])
        for name in object_names(e, namespace, loot):
            for verb, method, path, body, ctype in requests_for(e, namespace, name):
                code, answer = caller(method, path, body, ctype)
                yield e, verb, name, path, code, answer


def test_no_credentials_reach_nothing_but_health_and_version(cluster):
    anonymous = Caller(cluster)
    for _, verb, _, path, code, _ in walk(cluster, anonymous, VICTIM_NS):
        assert code == 401, (verb, path, code)
    for path in NON_RESOURCE:
        code, _ = anonymous("GET", path)
        assert (code == 200) == (path in PUBLIC) and code in (200, 401), (path, code)


def test_another_namespaces_service_account_gets_only_what_rbac_grants(cluster, victim):
    cluster.kubectl("create", "rolebinding", "own", "--clusterrole=edit", f"--serviceaccount={OUTSIDER_NS}:default",
                    "-n", OUTSIDER_NS)
    token = cluster.kubectl("create", "token", "default", "-n", OUTSIDER_NS).stdout.strip()
    outsider, admin = Caller(cluster, token), Caller(cluster, cluster.tokens()["admin"])
    user = f"system:serviceaccount:{OUTSIDER_NS}:default"
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{OUTSIDER_NS}", "system:authenticated"]
    allowed = []
    for e, verb, name, path, code, answer in walk(cluster, outsider, VICTIM_NS):
        named = name if verb not in ("list", "watch", "create", "deletecollection") or e.subresource else ""
        expected = sar_allows(admin, user, groups, verb, e, scope(e, VICTIM_NS), named)
        assert refused(code) != expected, (verb, path, code, answer[:300])
        assert SECRET_VALUE.encode() not in answer
        if expected:
            allowed.append((e.group, e.resource, verb))
    assert set(allowed) == {("authorization.k8s.io", "selfsubjectaccessreviews", "create"),
                            ("authorization.k8s.io", "selfsubjectrulesreviews", "create"),
                            ("authentication.k8s.io", "selfsubjectreviews", "create")}, allowed


def node_credential(cluster, node: str) -> str:
    join = cluster.data_dir.joinpath("node-token").read_text().strip().split("::")[1]
    anonymous = Caller(cluster, join)
    code, body = anonymous("POST", "/v1-portside/node-credential", {"nodeName": node})
    assert code == 200, body
    return json.loads(body)["token"]


NODE_READS = {("", "nodes"), ("", "services"), ("", "endpoints"), ("", "namespaces"),
              ("discovery.k8s.io", "endpointslices"), ("", "persistentvolumes"), ("networking.k8s.io", "networkpolicies")}
BASICS = {("authorization.k8s.io", "selfsubjectaccessreviews"), ("authorization.k8s.io", "selfsubjectrulesreviews"),
          ("authentication.k8s.io", "selfsubjectreviews")}


def node_may(e: Endpoint, verb: str, name: str, node: str) -> bool:
    """The Node authorizer's rules (and RBAC's basics), written out independently of the server's code."""
    key = (e.group, e.resource)
    if key == ("", "pods") and name == MISSING and verb == "get" and e.subresource in ("", "status"):
        return True  # a pod that does not exist may be asked for: the answer is 404 to anyone
    if key == ("", "pods") and not e.subresource and verb in ("list", "watch"):
        return True  # every pod's labels and address: the node's network policy enforcer needs them
    if key in BASICS:
        return verb == "create"
    if key in NODE_READS and not e.subresource and verb in ("get", "list", "watch"):
        return True
    if key == ("", "nodes") and e.subresource in ("", "status") and verb in ("create", "update", "patch"):
        return name == node or (verb == "create" and not e.subresource and name == "")
    if key == ("", "events") and verb in ("create", "update", "patch"):
        return True
    return False  # pods, secrets, configmaps of pods bound elsewhere; every other resource and verb


def test_a_node_credential_reaches_only_what_the_node_authorizer_grants(cluster, victim):
    node = "audit-node"
    caller = Caller(cluster, node_credential(cluster, node))
    for e, verb, name, path, code, answer in walk(cluster, caller, VICTIM_NS):
        if verb == "create" and not e.subresource and e.resource == "nodes":
            continue  # its name is in the body (checked below)
        expected = node_may(e, verb, name, node)
        assert refused(code) != expected, (verb, path, code, answer[:300])
        assert SECRET_VALUE.encode() not in answer
    # its own Node, yes; another's, no; the secret once a pod of its uses it
    node_body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}}
    assert caller("POST", "/api/v1/nodes", node_body)[0] == 201
    assert caller("POST", "/api/v1/nodes", {**node_body, "metadata": {"name": "other"}})[0] == 403
    assert caller("GET", f"/api/v1/pods?fieldSelector=spec.nodeName%3D{node}")[0] == 200
    assert caller("GET", f"/api/v1/namespaces/{VICTIM_NS}/secrets/loot")[0] == 403
    mine = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "mine", "namespace": VICTIM_NS},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox",
                                                        "envFrom": [{"secretRef": {"name": "loot"}}]}]}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(mine))
    code, body = caller("GET", f"/api/v1/namespaces/{VICTIM_NS}/secrets/loot")
    assert code == 200 and json.loads(body)["metadata"]["name"] == "loot"
    assert caller("GET", f"/api/v1/namespaces/{VICTIM_NS}/configmaps/plans")[0] == 403  # not named by its pod
