"""Pod Security admission: the Pod Security Standards applied by namespace label, as Kubernetes' built-in
PodSecurity plugin applies them.

- A pod created (or updated in its images or seccomp annotations) is evaluated at its namespace's ``enforce``
  level: a violation is 403 ``pods "x" is forbidden: violates PodSecurity "restricted:latest": ...``. If allowed,
  the ``warn`` level's violations come back as Warning headers (kubectl prints ``Warning: would violate
  PodSecurity ...``), and the ``audit`` level's go to the server's log (``portside.audit``), where Kubernetes
  writes the ``pod-security.kubernetes.io/audit-violations`` annotation of its audit event.
- A workload with a pod template (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController,
  PodTemplate) is only warned and audited: its pods are refused when they are created.
- A namespace's labels must parse (422 otherwise); when its ``enforce`` level gets stricter, the pods already in
  it are checked and the client warned about each group of violators (``existing pods in namespace "x" violate
  the new PodSecurity enforce level "restricted:latest"``, then ``pod-a (and 2 other pods): ...``).

Exemptions (``--pod-security-config``, Kubernetes' PodSecurityConfiguration) skip requests by user name, pods
and workloads in a namespace, and pods by runtime class. As in Kubernetes nothing is exempt by default, and an
unlabelled namespace is ``privileged``: kube-system is only held to a standard once it is labelled.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from portside import api
from portside.api import podsecurity as ps
from portside.apiserver import errors
from portside.apiserver.objects import key, list_prefix
from portside.apiserver.watched import WatchedObjects
from portside.store import Store

if TYPE_CHECKING:
    from portside.apiserver.registry import WriteOptions

audit = logging.getLogger("portside.audit")
NAMESPACES = api.lookup("", "v1", "namespaces")
PODS = api.lookup("", "v1", "pods")
MAX_PODS_TO_CHECK = 3000  # Kubernetes' bounds on checking a namespace's pods when its level changes
POD_CHECK_TIMEOUT_S = 1.0
_SECCOMP_POD = "seccomp.security.alpha.kubernetes.io/pod"
_SECCOMP_CONTAINER = "container.seccomp.security.alpha.kubernetes.io/"


def significant_pod_update(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Only images, containers and seccomp annotations can change what a pod is allowed (Kubernetes' rule)."""
    new_meta, old_meta = new.get("metadata") or {}, old.get("metadata") or {}
    new_notes, old_notes = new_meta.get("annotations") or {}, old_meta.get("annotations") or {}
    if new_notes.get(_SECCOMP_POD) != old_notes.get(_SECCOMP_POD):
        return True
    new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    for part in ("containers", "initContainers", "ephemeralContainers"):
        pairs = list(zip(new_spec.get(part) or [], old_spec.get(part) or []))
        if len(new_spec.get(part) or []) != len(old_spec.get(part) or []):
            return True
        for c, was in pairs:
            seccomp = _SECCOMP_CONTAINER + c.get("name", "")
            if c.get("image") != was.get("image") or new_notes.get(seccomp) != old_notes.get(seccomp):
                return True
    return False


class PodSecurity:
    def __init__(self, store: Store, config: ps.Config | None = None) -> None:
        self.store = store
        self.config = config or ps.Config()
        self.namespaces = WatchedObjects(store, NAMESPACES)  # labels are read on every pod create

    async def on_create(self, info: api.ResourceInfo, obj: dict[str, Any], opts: WriteOptions | None) -> None:
        if info.kind == "Namespace" and not info.group:
            self._namespace_labels(obj)
        elif info.kind == "Pod" and not info.group:
            await self._pod(obj, opts)
        elif ps.pod_template(info.group, info.kind, obj) is not None:
            await self._workload(info, obj, opts)

    async def on_update(self, info: api.ResourceInfo, new: dict[str, Any], old: dict[str, Any],
                        opts: WriteOptions | None, subresource: str = "") -> None:
        if subresource:  # status, binding, scale... never change what a pod runs as
            return
        if info.kind == "Namespace" and not info.group:
            await self._namespace_update(new, old, opts)
        elif info.kind == "Pod" and not info.group:
            if significant_pod_update(new, old):
                await self._pod(new, opts)
        elif ps.pod_template(info.group, info.kind, new) is not None:
            await self._workload(info, new, opts)

    # -- what applies -------------------------------------------------------------------------------------------

    def _exempt(self, namespace: str, opts: WriteOptions | None) -> bool:
        user = getattr(opts, "user", "") if opts is not None else ""
        return namespace in self.config.namespaces or bool(user and user in self.config.usernames)

    async def _policy(self, namespace: str) -> ps.Policy:
        """From the watched namespaces; one this server has not seen yet (just created) is read from the store."""
        found = await self.namespaces.in_namespace(namespace)
        if found:
            ns = found[0]
        else:
            kv = await self.store.get(key(NAMESPACES, "", namespace))
            ns = json.loads(kv.value) if kv is not None else {}
        return ps.policy_from_labels((ns.get("metadata") or {}).get("labels"), self.config.defaults)[0]

    def _runtime_exempt(self, spec: dict[str, Any]) -> bool:
        runtime = spec.get("runtimeClassName")
        return bool(runtime and runtime in self.config.runtime_classes)

    # -- pods and workloads -------------------------------------------------------------------------------------

    async def _pod(self, pod: dict[str, Any], opts: WriteOptions | None) -> None:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        namespace = meta.get("namespace", "")
        if self._exempt(namespace, opts) or self._runtime_exempt(spec):
            return
        policy = await self._policy(namespace)
        if policy.enforce.level == policy.warn.level == policy.audit.level == "privileged":
            return
        refused = ps.evaluate(policy.enforce, meta, spec)
        if refused:
            reason = f'violates PodSecurity "{policy.enforce}": {ps.forbidden_detail(refused)}'
            self._audit(policy, PODS, namespace, meta.get("name", ""), meta, spec, opts)
            raise errors.forbidden_object(PODS, meta.get("name", ""), reason)
        self._warn_and_audit(policy, PODS, namespace, meta.get("name", ""), meta, spec, opts)

    async def _workload(self, info: api.ResourceInfo, obj: dict[str, Any], opts: WriteOptions | None) -> None:
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace", "")
        template_meta, spec = ps.pod_template(info.group, info.kind, obj)
        if self._exempt(namespace, opts) or self._runtime_exempt(spec):
            return
        policy = await self._policy(namespace)
        self._warn_and_audit(policy, info, namespace, meta.get("name", ""), template_meta, spec, opts)

    def _warn_and_audit(self, policy: ps.Policy, info: api.ResourceInfo, namespace: str, name: str,
                        meta: dict[str, Any], spec: dict[str, Any], opts: WriteOptions | None) -> None:
        warned = ps.evaluate(policy.warn, meta, spec)
        if warned and opts is not None:
            opts.warnings.append(f'would violate PodSecurity "{policy.warn}": {ps.forbidden_detail(warned)}')
        self._audit(policy, info, namespace, name, meta, spec, opts)

    @staticmethod
    def _audit(policy: ps.Policy, info: api.ResourceInfo, namespace: str, name: str, meta: dict[str, Any],
               spec: dict[str, Any], opts: WriteOptions | None) -> None:
        found = ps.evaluate(policy.audit, meta, spec)
        if found:
            user = getattr(opts, "user", "") or "unknown"
            audit.info('pod-security.kubernetes.io/audit-violations: %s "%s" in namespace "%s" (user "%s") would '
                       'violate PodSecurity "%s": %s', info.plural, name, namespace, user, policy.audit,
                       ps.forbidden_detail(found))

    # -- namespaces ---------------------------------------------------------------------------------------------

    @staticmethod
    def _namespace_labels(ns: dict[str, Any]) -> None:
        """422 when a new namespace's Pod Security labels do not parse."""
        meta = ns.get("metadata") or {}
        problems = ps.policy_from_labels(meta.get("labels"))[1]
        if problems:
            raise errors.invalid(api.Invalid("Namespace", meta.get("name", ""), problems))

    async def _namespace_update(self, new: dict[str, Any], old: dict[str, Any], opts: WriteOptions | None) -> None:
        name = (new.get("metadata") or {}).get("name", "")
        new_policy, problems = ps.policy_from_labels((new.get("metadata") or {}).get("labels"), self.config.defaults)
        old_policy, old_problems = ps.policy_from_labels((old.get("metadata") or {}).get("labels"),
                                                         self.config.defaults)
        if problems and [str(p) for p in problems] != [str(p) for p in old_problems]:
            raise errors.invalid(api.Invalid("Namespace", name, problems))
        enforce, before = new_policy.enforce, old_policy.enforce
        if enforce == before or enforce.level == "privileged" or name in self.config.namespaces:
            return
        if enforce.version == before.version and ps.compare_levels(enforce.level, before.level) < 1:
            return  # relaxed: nothing that ran before can break it
        if opts is not None:
            opts.warnings.extend(await self._existing_pods(name, enforce))

    def _violators(self, pods: list[dict[str, Any]], enforce: ps.LevelVersion) -> tuple[dict[str, list[str]], int]:
        """The names of the pods ``enforce`` refuses, by their reasons, and how many pods were checked within the
        time Kubernetes allows for it."""
        groups: dict[str, list[str]] = {}
        deadline = asyncio.get_running_loop().time() + POD_CHECK_TIMEOUT_S
        checked = 0
        for pod in pods:
            checked += 1
            spec = pod.get("spec") or {}
            found = [] if self._runtime_exempt(spec) else ps.evaluate(enforce, pod.get("metadata") or {}, spec)
            if found:
                groups.setdefault(ps.forbidden_reason(found), []).append(pod["metadata"].get("name", ""))
            if asyncio.get_running_loop().time() > deadline:
                break
        return groups, checked

    async def _existing_pods(self, namespace: str, enforce: ps.LevelVersion) -> list[str]:
        """Warnings about the namespace's pods that the new enforce level would refuse, grouped by reasons."""
        listed = await self.store.list(list_prefix(PODS, namespace))
        groups, checked = self._violators([json.loads(kv.value) for kv in listed.items[:MAX_PODS_TO_CHECK]], enforce)
        warnings = []
        if checked < len(listed.items):
            warnings.append(f"new PodSecurity enforce level only checked against the first {checked} of "
                            f"{len(listed.items)} existing pods")
        if groups:
            warnings.append(f'existing pods in namespace "{namespace}" violate the new PodSecurity enforce level '
                            f'"{enforce}"')
        return warnings + sorted(_pod_group(names, reason) for reason, names in groups.items())


def load_config_file(path: str) -> ps.Config:
    """``--pod-security-config``: a PodSecurityConfiguration, or an AdmissionConfiguration holding one, in YAML or
    JSON; raises ``ps.ConfigError`` naming the file and what is wrong."""
    import yaml

    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
        return ps.load_config(doc)
    except OSError as exc:
        raise ps.ConfigError(f"{path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ps.ConfigError(f"{path}: not YAML or JSON: {exc}") from None
    except ps.ConfigError as exc:
        raise ps.ConfigError(f"{path}: {exc}") from None


def _pod_group(names: list[str], reason: str) -> str:
    first, others = min(names), len(names) - 1
    if others == 0:
        return f"{first}: {reason}"
    return f"{first} (and {others} other {'pod' if others == 1 else 'pods'}): {reason}"
