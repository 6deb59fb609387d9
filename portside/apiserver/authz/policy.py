"""The default roles and bindings every cluster has, reconciled at each start (Kubernetes' bootstrap policy).

The user-facing roles are Kubernetes' own, rule for rule, so that manifests written for Kubernetes (a RoleBinding
to ``edit``, a ClusterRole labelled ``aggregate-to-view``) mean the same here: ``cluster-admin``, and ``admin``,
``edit`` and ``view``, which are aggregated from the ``system:aggregate-to-*`` roles by label. Their rules name
resources this server may not serve yet; a rule for an absent resource grants nothing until it exists.

The control plane's own identities get least privilege:

- ``system:kube-scheduler``: read what placement reads, bind pods, write pod status and Events, its Lease;
  ``system:volume-scheduler``: bind claims to volumes;
- ``system:kube-controller-manager``: what portside's controllers write (ReplicaSets, pods, Endpoints, Node
  lifecycle, ServiceAccounts, the aggregated ClusterRoles, budgets' status, leader election), no Secrets;
- ``system:controller:generic-garbage-collector``: read and delete anything, as Kubernetes' collector may;
- ``system:kube-proxy`` (``system:node-proxier`` and portside's status report): Services, Endpoints, Nodes;
- ``system:kube-dns``: Services, Endpoints and Nodes to read; its own Service and Endpoints in ``kube-system``;
- nodes (``system:nodes``) are the Node authorizer's, which RBAC only adds the basics to.

Reconciling adds what is missing (rules, subjects, labels) and never removes what an administrator added; a role
annotated ``rbac.authorization.kubernetes.io/autoupdate: "false"`` is left alone, as on Kubernetes.
"""

from __future__ import annotations

from typing import Any

AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAP_LABEL = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"
RBAC = "rbac.authorization.k8s.io"
READ = ("get", "list", "watch")
WRITE = ("create", "delete", "deletecollection", "patch", "update")
READ_WRITE = READ + WRITE
MASTERS, AUTHENTICATED, UNAUTHENTICATED = "system:masters", "system:authenticated", "system:unauthenticated"
MONITORING = "system:monitoring"
SERVICE_ACCOUNTS = "system:serviceaccounts"  # every ServiceAccount's group
SCHEDULER_USER = "system:kube-scheduler"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
GARBAGE_COLLECTOR_USER = "system:controller:generic-garbage-collector"
PROXY_USER = "system:kube-proxy"
DNS_USER = "system:kube-dns"
AUTOSCALER_USER = "system:controller:horizontal-pod-autoscaler"
VOLUMES_USER = "system:controller:persistent-volume-binder"
QUOTA_USER = "system:controller:resourcequota-controller"
Obj = dict[str, Any]


def rule(verbs: tuple[str, ...] | str, groups: tuple[str, ...] | str, resources: tuple[str, ...] | str,
         names: tuple[str, ...] = ()) -> Obj:
    def listed(v: tuple[str, ...] | str) -> list[str]:
        return [v] if isinstance(v, str) else list(v)
    out: Obj = {"verbs": listed(verbs), "apiGroups": listed(groups), "resources": listed(resources)}
    if names:
        out["resourceNames"] = list(names)
    return out


def urls(verbs: tuple[str, ...] | str, paths: tuple[str, ...]) -> Obj:
    return {"verbs": [verbs] if isinstance(verbs, str) else list(verbs), "nonResourceURLs": list(paths)}


def _events() -> Obj:
    return rule(("create", "update", "patch"), ("", "events.k8s.io"), "events")


def cluster_role(name: str, rules: list[Obj], labels: dict[str, str] | None = None,
                 aggregate_from: str = "") -> Obj:
    meta: Obj = {"name": name, "labels": {**BOOTSTRAP_LABEL, **(labels or {})},
                 "annotations": {AUTOUPDATE: "true"}}
    role: Obj = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": meta, "rules": rules}
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {AGGREGATE + aggregate_from: "true"}}]}
    return role


def _aggregates_to(*roles: str) -> dict[str, str]:
    return {AGGREGATE + r: "true" for r in roles}


def _view_rules() -> list[Obj]:
    return [
        rule(READ, "", ("pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                        "services", "services/status", "endpoints", "persistentvolumeclaims",
                        "persistentvolumeclaims/status", "configmaps")),
        rule(READ, "", ("limitranges", "resourcequotas", "bindings", "events", "pods/status", "resourcequotas/status",
                        "namespaces/status", "replicationcontrollers/status", "pods/log")),
        rule(READ, "", "namespaces"),
        rule(READ, "discovery.k8s.io", "endpointslices"),
        rule(READ, "apps", ("controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
                            "daemonsets", "daemonsets/status", "deployments", "deployments/status",
                            "deployments/scale", "replicasets", "replicasets/status", "replicasets/scale")),
        rule(READ, "autoscaling", ("horizontalpodautoscalers", "horizontalpodautoscalers/status")),
        rule(READ, "batch", ("jobs", "cronjobs", "cronjobs/status", "jobs/status")),
        rule(READ, "extensions", ("daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                                  "deployments/status", "ingresses", "ingresses/status", "replicasets",
                                  "replicasets/scale", "replicasets/status", "replicationcontrollers/scale",
                                  "networkpolicies")),
        rule(READ, "policy", ("poddisruptionbudgets", "poddisruptionbudgets/status")),
        rule(READ, "networking.k8s.io", ("networkpolicies", "ingresses", "ingresses/status")),
    ]


def _edit_rules() -> list[Obj]:
    connect = ("pods/attach", "pods/proxy", "pods/exec", "pods/portforward")
    return [
        rule(READ, "", (*connect, "secrets", "services/proxy")),
        rule("impersonate", "", "serviceaccounts"),
        rule(WRITE, "", ("pods", *connect)),
        rule("create", "", "pods/eviction"),
        rule(WRITE, "", ("replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                         "services/proxy", "persistentvolumeclaims", "configmaps", "secrets", "events")),
        rule("create", "", "serviceaccounts/token"),
        rule(WRITE, "apps", ("statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
                             "deployments/rollback", "replicasets", "replicasets/scale")),
        rule(WRITE, "autoscaling", "horizontalpodautoscalers"),
        rule(WRITE, "batch", ("jobs", "cronjobs")),
        rule(WRITE, "extensions", ("daemonsets", "deployments", "deployments/scale", "deployments/rollback",
                                   "ingresses", "replicasets", "replicasets/scale", "replicationcontrollers/scale",
                                   "networkpolicies")),
        rule(WRITE, "policy", "poddisruptionbudgets"),
        rule(WRITE, "networking.k8s.io", ("networkpolicies", "ingresses")),
    ]


def _admin_rules() -> list[Obj]:
    return [rule("create", "authorization.k8s.io", "localsubjectaccessreviews"),
            rule(READ_WRITE, RBAC, ("roles", "rolebindings"))]


def _user_roles() -> list[Obj]:
    return [
        cluster_role("cluster-admin", [rule("*", "*", "*"), urls("*", ("*",))]),
        cluster_role("admin", [], aggregate_from="admin"),
        cluster_role("edit", [], _aggregates_to("admin"), aggregate_from="edit"),
        cluster_role("view", [], _aggregates_to("admin", "edit"), aggregate_from="view"),
        cluster_role("system:aggregate-to-admin", _admin_rules(), _aggregates_to("admin")),
        cluster_role("system:aggregate-to-edit", _edit_rules(), _aggregates_to("admin", "edit")),
        cluster_role("system:aggregate-to-view", _view_rules(), _aggregates_to("admin", "edit", "view")),
        cluster_role("system:aggregated-metrics-reader", [rule(READ, "metrics.k8s.io", ("pods", "nodes"))],
                     _aggregates_to("admin", "edit", "view")),
    ]


def _basic_roles() -> list[Obj]:
    health = ("/healthz", "/livez", "/readyz", "/version", "/version/")
    return [
        cluster_role("system:discovery", [urls("get", ("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                                       "/openapi", "/openapi/*", "/readyz", "/version", "/version/"))]),
        cluster_role("system:public-info-viewer", [urls("get", health)]),
        cluster_role("system:service-account-issuer-discovery", [urls("get", (
            "/.well-known/openid-configuration", "/.well-known/openid-configuration/", "/openid/v1/jwks",
            "/openid/v1/jwks/"))]),
        cluster_role("system:basic-user", [
            rule("create", "authorization.k8s.io", ("selfsubjectaccessreviews", "selfsubjectrulesreviews")),
            rule("create", "authentication.k8s.io", "selfsubjectreviews")]),
        cluster_role("system:monitoring", [urls("get", ("/healthz", "/healthz/*", "/livez", "/livez/*", "/readyz",
                                                        "/readyz/*", "/metrics", "/metrics/slis"))]),
        cluster_role("system:auth-delegator", [rule("create", "authentication.k8s.io", "tokenreviews"),
                                               rule("create", "authorization.k8s.io", "subjectaccessreviews")]),
        cluster_role("system:portside-node", [urls("post", ("/v1-portside/node-serving-certificate",))]),
    ]


def _scheduler_rules() -> list[Obj]:
    return [
        _events(),
        rule("create", "coordination.k8s.io", "leases"),
        rule(("get", "update"), "coordination.k8s.io", "leases", ("kube-scheduler",)),
        rule(READ, "", "nodes"),
        rule(("get", "list", "watch", "delete", "patch"), "", "pods"),
        rule("create", "", ("pods/binding", "bindings")),
        rule(("patch", "update"), "", "pods/status"),
        rule(READ, "", ("services", "replicationcontrollers", "namespaces", "persistentvolumeclaims",
                        "persistentvolumes")),
        rule(READ, "apps", ("replicasets", "statefulsets")),
        rule(READ, "batch", "jobs"),
        rule(READ, "policy", "poddisruptionbudgets"),
        rule(READ, "scheduling.k8s.io", "priorityclasses"),
        rule(READ, "storage.k8s.io", ("storageclasses", "csinodes", "csidrivers", "csistoragecapacities")),
        rule("create", "authentication.k8s.io", "tokenreviews"),
        rule("create", "authorization.k8s.io", "subjectaccessreviews"),
    ]


def _controller_manager_rules() -> list[Obj]:
    return [
        _events(),
        rule(READ_WRITE, "coordination.k8s.io", "leases"),
        rule(READ_WRITE, "", ("pods", "endpoints", "serviceaccounts", "persistentvolumeclaims")),
        rule(("update", "patch"), "", ("pods/status", "nodes/status", "namespaces/status")),
        rule("create", "", "pods/eviction"),
        rule(("get", "list", "watch", "update", "patch", "delete"), "", "nodes"),
        rule(READ, "", ("namespaces", "services", "configmaps", "persistentvolumes")),
        rule(("create", "update", "patch"), "", "configmaps"),
        rule(READ_WRITE, "apps", ("replicasets", "deployments", "controllerrevisions", "daemonsets", "statefulsets")),
        rule(("update", "patch"), "apps", ("replicasets/status", "deployments/status", "daemonsets/status",
                                           "statefulsets/status")),
        rule(READ_WRITE, "batch", ("jobs", "cronjobs")),
        rule(("update", "patch"), "batch", ("jobs/status", "cronjobs/status")),
        rule(READ, "policy", "poddisruptionbudgets"),
        rule(("update", "patch"), "policy", "poddisruptionbudgets/status"),
        rule(READ, "scheduling.k8s.io", "priorityclasses"),
        rule(READ, "discovery.k8s.io", "endpointslices"),
        rule(READ, RBAC, "clusterroles"),
        rule(("update", "patch"), RBAC, "clusterroles", ()),
        rule("escalate", RBAC, "clusterroles"),
        rule("create", "", "serviceaccounts/token"),
        rule("create", "authentication.k8s.io", "tokenreviews"),
        rule("create", "authorization.k8s.io", "subjectaccessreviews"),
    ]


def _component_roles() -> list[Obj]:
    return [
        cluster_role("system:kube-scheduler", _scheduler_rules()),
        cluster_role("system:kube-controller-manager", _controller_manager_rules()),
        cluster_role("system:volume-scheduler", [
            rule(("get", "list", "watch", "patch", "update"), "", ("persistentvolumes", "persistentvolumeclaims")),
            rule(READ, "storage.k8s.io", "storageclasses")]),
        cluster_role("system:controller:generic-garbage-collector",
                     [rule(("get", "list", "watch", "patch", "update", "delete"), "*", "*")]),
        cluster_role("system:node-proxier", [
            rule(("list", "watch"), "", ("services", "endpoints")),
            rule(("get", "list", "watch"), "", "nodes"),
            _events(),
            rule(("list", "watch"), "discovery.k8s.io", "endpointslices")]),
        cluster_role("system:portside-proxy-status", [rule(("update", "patch"), "", "services/status")]),
        cluster_role("system:kube-dns", [rule(("get", "list", "watch"), "", ("endpoints", "services", "nodes")),
                                         rule(("list", "watch"), "discovery.k8s.io", "endpointslices")]),
        cluster_role(AUTOSCALER_USER, [
            _events(),
            rule(READ, "autoscaling", "horizontalpodautoscalers"),
            rule(("update", "patch"), "autoscaling", "horizontalpodautoscalers/status"),
            rule(READ, "apps", ("deployments", "replicasets", "statefulsets")),
            rule(("get", "update", "patch"), "apps", ("deployments/scale", "replicasets/scale", "statefulsets/scale")),
            rule(READ, "", "pods"),
            rule(("get", "list"), "metrics.k8s.io", "pods")]),
        cluster_role(VOLUMES_USER, [  # the binder, the protection finalizers and the local-path provisioner
            _events(),
            rule(READ_WRITE, "", "persistentvolumes"),
            rule(("update", "patch"), "", ("persistentvolumes/status", "persistentvolumeclaims/status")),
            rule(("get", "list", "watch", "update", "patch"), "", "persistentvolumeclaims"),
            rule(READ + ("create", "update", "patch"), "storage.k8s.io", "storageclasses"),  # the default class
            rule(READ, "", ("pods", "nodes"))]),
        cluster_role(QUOTA_USER, [  # usage is counted for any kind a quota names (count/<resource>.<group>)
            _events(),
            rule(("list", "watch"), "*", "*"),
            rule(READ, "", "resourcequotas"),
            rule(("update", "patch"), "", "resourcequotas/status")]),
    ]


def role(namespace: str, name: str, rules: list[Obj]) -> Obj:
    return {"apiVersion": f"{RBAC}/v1", "kind": "Role",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(BOOTSTRAP_LABEL),
                         "annotations": {AUTOUPDATE: "true"}}, "rules": rules}


def roles() -> list[Obj]:
    """What components may write in ``kube-system`` only (a create cannot be confined by name)."""
    return [
        role("kube-system", "system:portside-proxy-metrics", [
            rule("create", "", "configmaps"),
            rule(("get", "update", "patch"), "", "configmaps", ("portside-proxy-metrics",))]),
        role("kube-system", "system:portside-dns-service", [
            rule("create", "", ("services", "endpoints")),
            rule(("get", "update", "patch"), "", ("services", "endpoints"), ("kube-dns",))]),
    ]


def role_bindings() -> list[Obj]:
    def binding(namespace: str, name: str, user: str) -> Obj:
        return {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": namespace, "labels": dict(BOOTSTRAP_LABEL),
                             "annotations": {AUTOUPDATE: "true"}},
                "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": name},
                "subjects": [_subject("User", user)]}
    return [binding("kube-system", "system:portside-proxy-metrics", PROXY_USER),
            binding("kube-system", "system:portside-dns-service", DNS_USER)]


def cluster_roles() -> list[Obj]:
    return [*_user_roles(), *_basic_roles(), *_component_roles()]


def _subject(kind: str, name: str) -> Obj:
    return {"kind": kind, "apiGroup": RBAC, "name": name}


def cluster_binding(name: str, role: str, subjects: list[Obj]) -> Obj:
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": dict(BOOTSTRAP_LABEL), "annotations": {AUTOUPDATE: "true"}},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role}, "subjects": subjects}


def cluster_bindings(readonly_user: str = "readonly") -> list[Obj]:
    """``readonly_user``: the legacy read-only token's user, bound to ``view`` and in ``system:monitoring``."""
    group, user = (lambda n: _subject("Group", n)), (lambda n: _subject("User", n))
    return [
        cluster_binding("cluster-admin", "cluster-admin", [group(MASTERS)]),
        cluster_binding("system:discovery", "system:discovery", [group(AUTHENTICATED)]),
        cluster_binding("system:basic-user", "system:basic-user", [group(AUTHENTICATED)]),
        cluster_binding("system:public-info-viewer", "system:public-info-viewer",
                        [group(AUTHENTICATED), group(UNAUTHENTICATED)]),
        cluster_binding("system:monitoring", "system:monitoring", [group(MONITORING)]),
        cluster_binding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
                        [group(SERVICE_ACCOUNTS)]),
        cluster_binding("system:kube-scheduler", "system:kube-scheduler", [user(SCHEDULER_USER)]),
        cluster_binding("system:volume-scheduler", "system:volume-scheduler", [user(SCHEDULER_USER)]),
        cluster_binding("system:kube-controller-manager", "system:kube-controller-manager",
                        [user(CONTROLLER_MANAGER_USER)]),
        cluster_binding("system:controller:generic-garbage-collector", "system:controller:generic-garbage-collector",
                        [user(GARBAGE_COLLECTOR_USER)]),
        cluster_binding("system:node-proxier", "system:node-proxier", [user(PROXY_USER)]),
        cluster_binding("system:portside-proxy-status", "system:portside-proxy-status", [user(PROXY_USER)]),
        cluster_binding("system:kube-dns", "system:kube-dns", [user(DNS_USER)]),
        cluster_binding(AUTOSCALER_USER, AUTOSCALER_USER, [user(AUTOSCALER_USER)]),
        cluster_binding(VOLUMES_USER, VOLUMES_USER, [user(VOLUMES_USER)]),
        cluster_binding(QUOTA_USER, QUOTA_USER, [user(QUOTA_USER)]),
        cluster_binding("system:portside-node", "system:portside-node", [group("system:nodes")]),
        cluster_binding("portside:readonly", "view", [user(readonly_user)]),
    ]
