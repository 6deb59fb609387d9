"""Authorization: what an authenticated caller may do, decided once per request before routing.

- ``attributes``: a request (or an access review) as verb, API group, resource, subresource, namespace and name;
- ``chain``: ``--authorization-mode`` (``Node,RBAC`` by default), Kubernetes' refusals;
- ``rbac``: Roles and bindings in memory, indexed by subject, rules cached per user; ``rules`` their semantics;
- ``policy`` and ``reconcile``: the default roles and bindings, brought into the store at each start;
- ``escalation``: nobody grants what they do not hold; ``impersonation``: ``kubectl --as``;
- ``reviews``: SelfSubjectAccessReview, SubjectAccessReview, SelfSubjectRulesReview, TokenReview, whoami.
"""
