"""What binds a claim to a volume, in one place: the PV controller binds with it, the scheduler picks volumes for
claims that wait for their first pod with it, and the agent reads the annotations it names.

Pure functions over the typed models (``models.PersistentVolumeClaim``, ``models.PersistentVolume``,
``models.StorageClass``). The rules are Kubernetes' (``pkg/controller/volume/persistentvolume`` and
``component-helpers/storage/volume``):

- a volume satisfies a claim when its class equals the claim's (``""`` is a class: no class), its volume mode
  equals the claim's, its access modes include every one the claim asks for, its capacity is at least the
  claim's request, and the claim's selector (if any) matches the volume's labels;
- among the volumes that satisfy a claim, one pre-bound to it (``spec.claimRef`` naming it) wins, else the
  smallest; a volume bound or pre-bound to another claim, or being deleted, is never chosen;
- a claim whose class binds ``WaitForFirstConsumer`` is bound only once a node is chosen for it (the
  ``volume.kubernetes.io/selected-node`` annotation, or a volume the scheduler binds it to), and then only to a
  volume whose node affinity admits that node.
"""

from __future__ import annotations

import copy
from fractions import Fraction

from .models import Node, ObjectMeta, OwnerReference, PersistentVolume, PersistentVolumeClaim, StorageClass
from .quantity import QuantityError, parse_quantity
from .selectors import SelectorError, node_selector_from_object, selector_from_object

__all__ = [
    "ACCESS_MODES", "ACCESS_MODE_SHORT", "RECLAIM_POLICIES", "BINDING_MODES", "WAIT_FOR_FIRST_CONSUMER",
    "IMMEDIATE", "DEFAULT_CLASS_ANNOTATION", "SELECTED_NODE_ANNOTATION", "PROVISIONER_ANNOTATION",
    "BETA_PROVISIONER_ANNOTATION", "PROVISIONED_BY_ANNOTATION", "BOUND_BY_CONTROLLER_ANNOTATION",
    "BIND_COMPLETED_ANNOTATION", "PVC_PROTECTION", "PV_PROTECTION", "LOCAL_PATH_PROVISIONER", "LOCAL_PATH_CLASS",
    "STORAGE_DIR_ANNOTATION", "is_default_class", "default_class", "claim_class", "requested_bytes",
    "capacity_bytes", "access_modes_text", "satisfies", "mismatch", "admits_node", "find_volume", "is_pre_bound_to",
    "claim_names", "reclaimable_on", "claim_from_template", "is_free_for",
]

ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]
ACCESS_MODE_SHORT = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
                     "ReadWriteOncePod": "RWOP"}
RECLAIM_POLICIES = ["Delete", "Retain"]  # Recycle, deprecated in Kubernetes, is not offered
IMMEDIATE, WAIT_FOR_FIRST_CONSUMER = "Immediate", "WaitForFirstConsumer"
BINDING_MODES = [IMMEDIATE, WAIT_FOR_FIRST_CONSUMER]

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"  # the scheduler's choice, for the provisioner
PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner"  # the PV controller's ask to a provisioner
BETA_PROVISIONER_ANNOTATION = "volume.beta.kubernetes.io/storage-provisioner"
PROVISIONED_BY_ANNOTATION = "pv.kubernetes.io/provisioned-by"
BOUND_BY_CONTROLLER_ANNOTATION = "pv.kubernetes.io/bound-by-controller"
BIND_COMPLETED_ANNOTATION = "pv.kubernetes.io/bind-completed"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"

LOCAL_PATH_PROVISIONER = "portside.io/local-path"
LOCAL_PATH_CLASS = "local-path"
STORAGE_DIR_ANNOTATION = "portside.io/storage-dir"  # where a node's agent keeps local-path volumes


def _annotations(obj) -> dict[str, str]:
    return (obj.metadata.annotations if obj.metadata else None) or {}


def is_default_class(sc: StorageClass) -> bool:
    return _annotations(sc).get(DEFAULT_CLASS_ANNOTATION) == "true"


def default_class(classes: list[StorageClass]) -> StorageClass | None:
    """The default class; with several, the newest (Kubernetes' rule since 1.28), then by name."""
    marked = [c for c in classes if is_default_class(c) and not c.metadata.deletion_timestamp]
    if not marked:
        return None
    return max(marked, key=lambda c: (c.metadata.creation_timestamp or "", c.metadata.name or ""))


def claim_class(claim: PersistentVolumeClaim) -> str:
    """The claim's class name; "" is the class of volumes without one."""
    return (claim.spec.storage_class_name if claim.spec else None) or ""


def _bytes(value: str | None) -> Fraction | None:
    if value is None:
        return None
    try:
        return parse_quantity(value)
    except QuantityError:
        return None


def requested_bytes(claim: PersistentVolumeClaim) -> Fraction:
    resources = claim.spec.resources if claim.spec else None
    return _bytes(((resources.requests if resources else None) or {}).get("storage")) or Fraction(0)


def capacity_bytes(pv: PersistentVolume) -> Fraction:
    return _bytes(((pv.spec.capacity if pv.spec else None) or {}).get("storage")) or Fraction(0)


def access_modes_text(modes: list[str] | None) -> str:
    """``RWO,ROX``: kubectl's short forms, always in the same order."""
    present = set(modes or [])
    return ",".join(ACCESS_MODE_SHORT[m] for m in ACCESS_MODES if m in present)


def is_pre_bound_to(pv: PersistentVolume, claim: PersistentVolumeClaim) -> bool:
    """The volume's claimRef names this claim (by namespace and name, and uid when it has one)."""
    ref = pv.spec.claim_ref if pv.spec else None
    if ref is None or ref.name != claim.metadata.name or ref.namespace != claim.metadata.namespace:
        return False
    return not ref.uid or ref.uid == claim.metadata.uid


def mismatch(pv: PersistentVolume, claim: PersistentVolumeClaim) -> str:
    """Why the volume cannot hold the claim ("" when it can), in the PV controller's words."""
    spec, want = pv.spec, claim.spec
    if (spec.storage_class_name or "") != claim_class(claim):
        return "storageClassName does not match"
    if (spec.volume_mode or "Filesystem") != (want.volume_mode or "Filesystem"):
        return "incompatible volumeMode"
    if not set(want.access_modes or []) <= set(spec.access_modes or []):
        return "incompatible accessMode"
    if capacity_bytes(pv) < requested_bytes(claim):
        return "requested PV is too small"
    if want.selector is not None:
        try:
            if not selector_from_object(want.selector).matches(pv.metadata.labels or {}):
                return "volume labels do not match the claim's selector"
        except SelectorError as exc:
            return f"invalid selector: {exc}"
    return ""


def satisfies(pv: PersistentVolume, claim: PersistentVolumeClaim) -> bool:
    return not mismatch(pv, claim)


def admits_node(pv: PersistentVolume, node: Node | None) -> bool:
    """Whether the volume's node affinity admits ``node`` (a volume without one is reachable from every node)."""
    affinity = pv.spec.node_affinity if pv.spec else None
    if affinity is None or affinity.required is None:
        return True
    if node is None:
        return False
    try:
        selector = node_selector_from_object(affinity.required)
    except SelectorError:
        return False
    return selector is None or selector.matches(node.metadata.labels or {}, node.metadata.name or "")


def is_free_for(pv: PersistentVolume, claim: PersistentVolumeClaim) -> bool:
    """The volume may be bound to the claim: not bound or promised to another claim, not being deleted."""
    ref = pv.spec.claim_ref if pv.spec else None
    if pv.metadata.deletion_timestamp:
        return False
    if ref is not None:
        return is_pre_bound_to(pv, claim)
    return (pv.status.phase if pv.status else None) in (None, "Pending", "Available")


def find_volume(claim: PersistentVolumeClaim, volumes: list[PersistentVolume],
                node: Node | None = None, need_node: bool = False) -> PersistentVolume | None:
    """The volume the claim should bind to: one pre-bound to it, else the smallest free one that satisfies it.

    ``need_node``: the claim waits for its first consumer, so only volumes whose node affinity admits ``node``
    count (with no node chosen yet, none does)."""
    if need_node and node is None:
        return None
    best: PersistentVolume | None = None
    for pv in volumes:
        if not is_free_for(pv, claim) or not satisfies(pv, claim):
            continue
        if need_node and not admits_node(pv, node):
            continue
        if is_pre_bound_to(pv, claim):
            return pv
        if best is None or (capacity_bytes(pv), pv.metadata.name) < (capacity_bytes(best), best.metadata.name):
            best = pv
    return best


def claim_names(pod) -> list[str]:
    """The names of the claims a pod's volumes use, in the order of its volumes."""
    spec = pod.spec
    return [v.persistent_volume_claim.claim_name for v in (spec.volumes if spec else None) or []
            if v.persistent_volume_claim is not None]


def reclaimable_on(pv: PersistentVolume, node: Node) -> bool:
    """A volume ``node``'s agent should remove: made by the local-path provisioner on that node, Released (its
    claim is gone) and to be deleted. Volumes made by hand are never removed by a node (Kubernetes has no deleter
    for hostPath or local volumes either)."""
    spec = pv.spec
    return (_annotations(pv).get(PROVISIONED_BY_ANNOTATION) == LOCAL_PATH_PROVISIONER
            and (pv.status.phase if pv.status else None) == "Released"
            and spec.persistent_volume_reclaim_policy == "Delete"
            and spec.node_affinity is not None and admits_node(pv, node))


def claim_from_template(template: PersistentVolumeClaim, name: str, namespace: str,
                        labels: dict[str, str] | None = None,
                        owner: OwnerReference | None = None) -> PersistentVolumeClaim:
    """A claim a controller makes for its pods from a claim template (StatefulSet's ``volumeClaimTemplates``):
    the template's labels, annotations and spec under the given name, plus ``labels``. ``owner`` only when the
    claim should be deleted with its owner; claims usually outlive the pods that use them, which is their point.
    The class is left as the template has it: absent, admission gives the default class."""
    meta = template.metadata or ObjectMeta()
    return PersistentVolumeClaim(
        api_version="v1", kind="PersistentVolumeClaim",
        metadata=ObjectMeta(name=name, namespace=namespace, labels={**(meta.labels or {}), **(labels or {})} or None,
                            annotations=dict(meta.annotations) if meta.annotations else None,
                            owner_references=[owner] if owner is not None else None),
        spec=copy.deepcopy(template.spec))
