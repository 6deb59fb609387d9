"""The claims, volumes and storage classes the scheduler places pods against, and the choices it has made that
the API does not show yet (kube-scheduler's assume cache for volume binding).

The daemon feeds it from its watches (``followed`` then True); the simulator leaves it empty and unfollowed,
so simulated pods that name claims are placed as if their storage were anywhere. Objects are the typed API
models, read through ``portside.api.volumes`` (the PV controller's own matching rules), plus each volume's node
affinity compiled once with the project's selector implementation.

Choices. When a pod that uses a claim waiting for its first consumer is reserved on a node, the scheduler
decides for that claim: an existing free volume on that node (the volume's ``claimRef`` is then written), or a
new one to be provisioned there (the claim's ``volume.kubernetes.io/selected-node`` is written). Until the watch
shows a choice, it is assumed here, so the next pod does not take the same volume or send a claim's first pods
to two nodes; a bind that fails drops its pod's choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portside.api import volumes as vol
from portside.api.models import PersistentVolume, PersistentVolumeClaim, StorageClass
from portside.api.selectors import NodeSelector, SelectorError, node_selector_from_object

__all__ = ["Choice", "VolumeView", "NOWHERE"]

NOWHERE = NodeSelector(())  # a volume whose node affinity cannot be read: reachable from no node


@dataclass(frozen=True, slots=True)
class Choice:
    """What PreBind writes for one claim of a reserved pod: bind it to ``volume``, or provision it on ``node``."""

    claim: str  # namespace/name
    node: str
    volume: str = ""


@dataclass
class VolumeView:
    followed: bool = False
    claims: dict[str, PersistentVolumeClaim] = field(default_factory=dict)  # namespace/name
    volumes: dict[str, PersistentVolume] = field(default_factory=dict)
    classes: dict[str, StorageClass] = field(default_factory=dict)
    affinity: dict[str, NodeSelector | None] = field(default_factory=dict)  # volume -> its node affinity
    taken: dict[str, str] = field(default_factory=dict)  # assumed: volume -> claim it was chosen for
    placed: dict[str, str] = field(default_factory=dict)  # assumed: claim -> node chosen for it
    choices: dict[str, list[Choice]] = field(default_factory=dict)  # pod uid -> what its PreBind writes

    # -- what the watches bring ---------------------------------------------------------------------------------

    def set_claim(self, claim: PersistentVolumeClaim) -> None:
        key = f"{claim.metadata.namespace}/{claim.metadata.name}"
        self.claims[key] = claim
        if claim.spec.volume_name or vol.SELECTED_NODE_ANNOTATION in (claim.metadata.annotations or {}):
            self.placed.pop(key, None)  # the API shows a choice now (ours, or someone's)

    def remove_claim(self, namespace: str, name: str) -> None:
        self.claims.pop(f"{namespace}/{name}", None)
        self.placed.pop(f"{namespace}/{name}", None)

    def set_volume(self, pv: PersistentVolume) -> None:
        name = pv.metadata.name
        self.volumes[name] = pv
        self.affinity[name] = _affinity(pv)
        if pv.spec.claim_ref is not None:
            self.taken.pop(name, None)

    def remove_volume(self, name: str) -> None:
        for table in (self.volumes, self.affinity, self.taken):
            table.pop(name, None)

    def set_class(self, sc: StorageClass) -> None:
        self.classes[sc.metadata.name] = sc

    def remove_class(self, name: str) -> None:
        self.classes.pop(name, None)

    # -- what placement asks ------------------------------------------------------------------------------------

    def waits_for_consumer(self, claim: PersistentVolumeClaim) -> bool:
        sc = self.classes.get(vol.claim_class(claim))
        return sc is not None and sc.volume_binding_mode == vol.WAIT_FOR_FIRST_CONSUMER

    def chosen_node(self, key: str, claim: PersistentVolumeClaim) -> str:
        """The node a waiting claim's volume will be on, if one was chosen (by the API or assumed)."""
        return (claim.metadata.annotations or {}).get(vol.SELECTED_NODE_ANNOTATION) or self.placed.get(key, "")

    def can_provision(self, claim: PersistentVolumeClaim) -> bool:
        sc = self.classes.get(vol.claim_class(claim))
        return sc is not None and sc.provisioner not in ("", "kubernetes.io/no-provisioner")

    def candidates(self, claim: PersistentVolumeClaim) -> list[PersistentVolume]:
        """Free volumes (not chosen for another claim either) that satisfy the claim, smallest first."""
        key = f"{claim.metadata.namespace}/{claim.metadata.name}"
        free = [pv for pv in self.volumes.values() if self.taken.get(pv.metadata.name, key) == key
                and vol.is_free_for(pv, claim) and vol.satisfies(pv, claim)]
        return sorted(free, key=lambda pv: (not vol.is_pre_bound_to(pv, claim), vol.capacity_bytes(pv),
                                            pv.metadata.name))

    # -- choices --------------------------------------------------------------------------------------------

    def choose(self, pod_uid: str, choices: list[Choice]) -> None:
        for c in choices:
            if c.volume:
                self.taken[c.volume] = c.claim
            self.placed[c.claim] = c.node
        if choices:
            self.choices[pod_uid] = choices

    def drop(self, pod_uid: str) -> None:
        """The pod's bind failed (or the pod is gone): its choices were never written, or no longer matter."""
        for c in self.choices.pop(pod_uid, []):
            if c.volume and self.taken.get(c.volume) == c.claim:
                del self.taken[c.volume]
            if self.placed.get(c.claim) == c.node:
                del self.placed[c.claim]

    def take_choices(self, pod_uid: str) -> list[Choice]:
        """For PreBind: the choices to write (they stay assumed until the watch shows them)."""
        return self.choices.pop(pod_uid, [])


def _affinity(pv: PersistentVolume) -> NodeSelector | None:
    affinity = pv.spec.node_affinity
    if affinity is None or affinity.required is None:
        return None
    try:
        return node_selector_from_object(affinity.required)
    except SelectorError:
        return NOWHERE

