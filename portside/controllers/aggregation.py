"""ClusterRole aggregation: a ClusterRole with an ``aggregationRule`` gets the rules of every ClusterRole its
selectors match, as Kubernetes' clusterrole-aggregation controller keeps ``admin``, ``edit`` and ``view``.

Labelling a ClusterRole ``rbac.authorization.k8s.io/aggregate-to-view: "true"`` therefore extends ``view`` for
everyone bound to it, without touching any binding. Any ClusterRole change requeues every aggregating role (the
change may add, remove or relabel a source); ``sync`` recomputes the union of the matching roles' rules, in name
order without duplicates, and writes it only when it differs.
"""

from __future__ import annotations

import logging

from portside import api
from portside.api.aggregation import aggregated_rules
from portside.client import Client, NotFound
from portside.controllers.base import Controller
from portside.controllers.informer import Informer

log = logging.getLogger("portside.controllers.aggregation")
CLUSTER_ROLES = api.lookup("rbac.authorization.k8s.io", "v1", "clusterroles")


class AggregationController(Controller):
    name = "clusterrole-aggregation"
    workers = 1

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self.roles = self.informer(Informer(client, CLUSTER_ROLES))
        self.roles.on_change(lambda kind, obj, prev: self._requeue_aggregating())

    def _requeue_aggregating(self) -> None:
        for role in self.roles.cache.values():
            if role.aggregation_rule is not None:
                self.queue.add(role.metadata.name)

    async def sync(self, key: str) -> None:
        role = self.roles.get("", key)
        if role is None or role.aggregation_rule is None:
            return
        rules = aggregated_rules(role, list(self.roles.cache.values()))
        if [r.to_dict() for r in rules] == [r.to_dict() for r in role.rules or []]:
            return
        try:
            await self.client.patch(CLUSTER_ROLES, key, {"rules": [r.to_dict() for r in rules]})
        except NotFound:
            return
        log.info("clusterrole %s: aggregated %d rules", key, len(rules))
