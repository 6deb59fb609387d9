"""The ``pods/eviction`` subresource: a deletion that asks the pod's PodDisruptionBudget first.

An Eviction (``policy/v1``, or ``policy/v1beta1`` from older clients) names the pod and carries DeleteOptions.
The order follows Kubernetes' eviction REST:

1. A pod that disrupts nothing by going (Pending, finished, or already being deleted) is deleted outright.
2. More than one budget selecting the pod is a 500: which one would decide is undefined.
3. An unready pod under a budget is deleted without spending the budget when the policy is ``AlwaysAllow``, or
   (``IfHealthyBudget``, the default) when the budget is met without it; the deletion then pins the pod's
   resourceVersion, so a pod that turned Ready meanwhile answers 429 and the client retries.
4. Otherwise one allowance is taken: ``disruptionsAllowed`` goes down by one and the pod enters
   ``disruptedPods`` (so the disruption controller stops counting it healthy before it is gone), written with
   compare-and-swap on the budget's resourceVersion. Two evictions racing for the last allowance cannot both
   win: the loser re-reads the budget, finds 0 and answers 429 TooManyRequests, which ``kubectl drain`` retries.
"""

from __future__ import annotations

import json
from typing import Any

from portside import api
from portside.apiserver import errors
from portside.apiserver.deletion import DeleteOptions, Deleter
from portside.apiserver.objects import Target, decode, now
from portside.apiserver.registry import Registry
from portside.store import KeyValue

PDBS = api.lookup("policy", "v1", "poddisruptionbudgets")
API_VERSIONS = ("policy/v1", "policy/v1beta1")
RETRIES = 5
MAX_DISRUPTED_PODS = 2000  # Kubernetes' bound on evictions the controller has not yet confirmed
VIOLATES = "Cannot evict pod as it would violate the pod's disruption budget."
TOO_MANY_BUDGETS = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
SUCCESS = b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","code":201}'


def too_many_requests(why: str) -> errors.ApiError:
    return errors.ApiError(429, "TooManyRequests", VIOLATES, {"causes": [{"reason": "DisruptionBudget",
                                                                          "message": why}]})


def parse(t: Target, body: Any, dry_run: bool) -> DeleteOptions:
    """The Eviction's DeleteOptions, after checking it is an Eviction for the pod on the URL."""
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be an Eviction object")
    if body.get("kind", "Eviction") != "Eviction" or body.get("apiVersion", "policy/v1") not in API_VERSIONS:
        raise errors.bad_request(f'the request body must be a policy/v1 Eviction, not {body.get("apiVersion")} '
                                 f'{body.get("kind")}')
    name = (body.get("metadata") or {}).get("name")
    if name != t.name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    options = body.get("deleteOptions") or {}
    if not isinstance(options, dict):
        raise errors.bad_request("deleteOptions must be an object")
    opts = DeleteOptions.parse(options, {})
    opts.dry_run = opts.dry_run or dry_run
    return opts


def ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def disrupts_nothing(pod: dict[str, Any]) -> bool:
    """Kubernetes' ``canIgnorePDB``: the pod is not running yet, has finished, or is already going."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Pending", "Succeeded", "Failed") or bool(pod["metadata"].get("deletionTimestamp"))


def selects(pdb: dict[str, Any], pod: dict[str, Any]) -> bool:
    """policy/v1: a missing selector selects nothing, an empty one every pod in the namespace."""
    try:
        selector = api.selector_from_object((pdb.get("spec") or {}).get("selector"))
    except api.SelectorError:
        return False
    return selector.matches(pod["metadata"].get("labels") or {})


def spend(pdb: dict[str, Any], pod_name: str) -> dict[str, Any]:
    """``pdb`` with one disruption taken by ``pod_name``; raises the 429/403 Kubernetes answers when none is left."""
    m, status = pdb["metadata"], dict(pdb.get("status") or {})
    name, allowed = m["name"], status.get("disruptionsAllowed", 0)
    if status.get("observedGeneration", 0) < m.get("generation", 1):
        raise too_many_requests(f"The disruption budget {name} is still being processed by the server.")
    if allowed < 0:
        raise _forbidden(name, "pdb disruptions allowed is negative")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
        raise _forbidden(name, "DisruptedPods map too big - too many evictions not confirmed by PDB controller")
    if allowed == 0:
        raise too_many_requests(f"The disruption budget {name} needs {status.get('desiredHealthy', 0)} healthy pods "
                                f"and has {status.get('currentHealthy', 0)} currently")
    status["disruptionsAllowed"] = allowed - 1
    status["disruptedPods"] = {**(status.get("disruptedPods") or {}), pod_name: now()}
    if allowed == 1:
        status["conditions"] = disruption_allowed(status.get("conditions") or [], False,
                                                  status.get("observedGeneration", 0), now())
    return {**pdb, "status": status}


def disruption_allowed(conditions: list[dict[str, Any]], allowed: bool, generation: int,
                       stamp: str) -> list[dict[str, Any]]:
    """``conditions`` with DisruptionAllowed set as Kubernetes' helper sets it (the transition time moves only
    when the status does)."""
    want = {"type": "DisruptionAllowed", "status": "True" if allowed else "False",
            "reason": "SufficientPods" if allowed else "InsufficientPods", "message": ""}
    old = next((c for c in conditions if c.get("type") == "DisruptionAllowed"), None)
    since = old["lastTransitionTime"] if old and old.get("status") == want["status"] else stamp
    new = {**want, "observedGeneration": generation, "lastTransitionTime": since}
    return [c for c in conditions if c.get("type") != "DisruptionAllowed"] + [new]


def _forbidden(name: str, why: str) -> errors.ApiError:
    return errors.ApiError(403, "Forbidden", f'poddisruptionbudgets.policy "{name}" is forbidden: {why}',
                           {"name": name, "group": "policy", "kind": "poddisruptionbudgets"})


class Evictions:
    def __init__(self, registry: Registry, deleter: Deleter) -> None:
        self.registry, self.deleter = registry, deleter

    async def evict(self, t: Target, body: Any, dry_run: bool) -> bytes:
        opts = parse(t, body, dry_run)
        pod_t = Target(t.info, t.namespace, t.name)
        kv = await self.registry.read(pod_t)
        pod = decode(kv)
        if disrupts_nothing(pod):
            await self._delete(pod_t, opts, kv, None)
            return SUCCESS
        budgets = await self._budgets(pod)
        if len(budgets) > 1:
            raise errors.ApiError(500, "", TOO_MANY_BUDGETS)
        pinned_by = None
        if budgets:
            pdb = decode(budgets[0])
            if not ready(pod) and _unready_goes_free(pdb):
                pinned_by = pdb["metadata"]["name"]
            else:
                await self._take(budgets[0], t.name, opts.dry_run)
        await self._delete(pod_t, opts, kv, pinned_by)
        return SUCCESS

    async def _budgets(self, pod: dict[str, Any]) -> list[KeyValue]:
        listed = await self.registry.list(PDBS, pod["metadata"]["namespace"])
        return [kv for kv in listed.items if selects(decode(kv), pod)]

    async def _take(self, kv: KeyValue, pod_name: str, dry_run: bool) -> None:
        """Spend one allowance with compare-and-swap, re-reading the budget whenever another write won."""
        pdb = decode(kv)
        target = Target(PDBS, pdb["metadata"]["namespace"], pdb["metadata"]["name"])
        for _ in range(RETRIES):
            new = spend(pdb, pod_name)
            if dry_run:
                return
            try:
                await self.registry.replace_changed(target, kv, pdb, new)
                return
            except errors.ApiError as exc:
                if exc.reason != "Conflict":
                    raise
            kv = await self.registry.read(target)
            pdb = decode(kv)
        raise errors.ApiError(504, "Timeout", f'Timeout: couldn\'t update PodDisruptionBudget "{target.name}" due '
                                              f'to conflicts', {"retryAfterSeconds": 10})

    async def _mark(self, t: Target, opts: DeleteOptions) -> None:
        """Say in the pod's status why it goes (``kubectl describe``, a Job's pod failure policy read it); the
        deletion's preconditions hold for this write too, and a pinned version moves to the one written here."""
        for _ in range(RETRIES):
            kv = await self.registry.read(t)
            pod = decode(kv)
            Deleter.preconditions(t, pod, kv, opts)
            try:
                stored = await self.registry.replace_changed(t, kv, pod, disruption_target(pod))
            except errors.ApiError as exc:
                if exc.reason == "Conflict" and opts.resource_version is None:
                    continue
                raise
            if opts.resource_version is not None:
                opts.resource_version = json.loads(stored)["metadata"]["resourceVersion"]
            return
        raise errors.stale(t.info, t.name)

    async def _delete(self, t: Target, opts: DeleteOptions, kv: KeyValue, pinned_by: str | None) -> None:
        """Delete as DELETE would; an eviction decided on the pod's state pins the state it saw (unless the
        client pinned a version itself), and a pod that changed meanwhile is a 429 to retry, not a 409."""
        own_pin = opts.resource_version is not None
        if pinned_by is not None and not own_pin:
            opts.resource_version = str(kv.mod_revision)
        try:
            if not opts.dry_run:
                await self._mark(t, opts)
            await self.deleter.delete(t, opts)
        except errors.ApiError as exc:
            if exc.reason == "Conflict" and pinned_by is not None and not own_pin:
                raise too_many_requests(f"The disruption budget {pinned_by} is still being processed by the "
                                        f"server.") from None
            raise


def disruption_target(pod: dict[str, Any]) -> dict[str, Any]:
    """``pod`` with the DisruptionTarget condition Kubernetes sets on a pod it evicts."""
    status = dict(pod.get("status") or {})
    kept = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
    status["conditions"] = kept + [{"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                                    "lastTransitionTime": now(), "reason": "EvictionByEvictionAPI",
                                    "message": "Eviction API: evicting"}]
    return {**pod, "status": status}


def _unready_goes_free(pdb: dict[str, Any]) -> bool:
    """May an unready pod go without spending the budget? Always under ``AlwaysAllow``; under
    ``IfHealthyBudget`` (the default) only while the budget is met without it."""
    if (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
        return True
    status = pdb.get("status") or {}
    desired = status.get("desiredHealthy", 0)
    return desired > 0 and status.get("currentHealthy", 0) >= desired
