"""A pod's persistent volumes on this node: each claim it names resolved to the directory of the volume bound to
it, made when the volume says so, and the local-path volumes of this node removed once they are reclaimed.

Mounting. A claim must exist, not be being deleted, and be Bound; its volume must be bound back to it. The
volume's directory is then bind-mounted into the pod's containers (``translate.mounts``), read-only when the
pod's volume says ``readOnly``. A ``hostPath`` volume of type DirectoryOrCreate (what the local-path
provisioner makes) is created on first mount, world-writable as k3s' provisioner makes its directories, so that
a container running as any user can write to its claim; type Directory and ``local`` volumes must exist. A pod
whose claim is not ready never gets a directory of its own in its place: its containers wait
(``ContainerCreating``), and a ``FailedMount`` Event says why, once the wait is longer than a provisioning
takes.

Resolution happens once per pod (the kubelet's volume manager mounts a pod's volumes once): later container
starts reuse it, so a claim deleted while its pod runs (pvc-protection keeps it) does not stop the pod's
restarts.

Reclaiming. The agent follows the volumes; one made by the local-path provisioner on this node that is Released
with reclaim policy Delete has its directory removed, and then its object deleted (the Node authorizer lets a
node delete exactly those). Only directories under this node's storage directory are ever removed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from portside.agent import events
from portside.api import volumes as vol
from portside.api.models import PersistentVolume, Pod
from portside.client import ApiError, Client, NotFound
from portside.engine.records import remove_tree

log = logging.getLogger("portside.agent")
FOLLOW_RETRY_S = 30.0
QUIET_S = 5.0  # how long a claim may be unbound before the wait is reported: provisioning takes about a second


class ClaimError(Exception):
    """A claim the pod cannot mount yet; ``transient`` when it is only not bound yet (it is being provisioned)."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Mount:
    path: str
    read_only: bool


def failed_mount(volumes: list[str], why: str) -> events.Said:
    return events.Said(events.WARNING, "FailedMount",
                       f"Unable to attach or mount volumes: unmounted volumes=[{' '.join(volumes)}]: {why}")


def source_path(pv: PersistentVolume) -> str:
    source = pv.spec.host_path or pv.spec.local
    if source is None:
        raise ClaimError(f"persistentvolume {pv.metadata.name!r} has no hostPath or local source this node can "
                         f"mount")
    return source.path


def prepare_dir(pv: PersistentVolume) -> str:
    """The volume's directory, made when its type asks for it (blocking: runs in an engine thread)."""
    path = source_path(pv)
    host = pv.spec.host_path
    if host is not None and host.type in ("DirectoryOrCreate", "", None):
        if not os.path.isdir(path):
            os.makedirs(path, exist_ok=True)
            if vol.PROVISIONED_BY_ANNOTATION in (pv.metadata.annotations or {}):
                os.chmod(path, 0o777)
        return path
    if not os.path.isdir(path):
        what = "hostPath type check failed" if host is not None else "local volume"
        raise ClaimError(f"{what}: path {path!r} does not exist or is not a directory")
    return path


class Claims:
    """The agent's part of persistent storage: the pods' mounts and this node's reclaimed volumes."""

    def __init__(self, client: Client, node: str, storage_dir: str, engine_call) -> None:
        self.client, self.node, self.storage_dir = client, node, os.path.realpath(storage_dir) if storage_dir else ""
        self.call = engine_call  # runs a blocking function in the engine's threads
        self.mounted: dict[str, dict[str, Mount]] = {}  # pod uid -> volume name -> mount
        self.waiting_since: dict[str, float] = {}

    async def mounts(self, pod: Pod) -> dict[str, Mount]:
        """Volume name -> mount for every claim of the pod; ClaimError when one cannot be mounted yet."""
        uid = pod.metadata.uid
        if uid in self.mounted:
            return self.mounted[uid]
        wanted = [v for v in pod.spec.volumes or [] if v.persistent_volume_claim is not None]
        out = {}
        for v in wanted:
            source = v.persistent_volume_claim
            pv = await self._bound_volume(pod.metadata.namespace, source.claim_name)
            out[v.name] = Mount(await self.call(prepare_dir, pv), bool(source.read_only))
        self.mounted[uid] = out
        self.waiting_since.pop(uid, None)
        return out

    def quiet(self, pod: Pod, exc: ClaimError) -> bool:
        """Whether this wait is still too young to report (an unbound claim being provisioned)."""
        first = self.waiting_since.setdefault(pod.metadata.uid, time.monotonic())
        return exc.transient and time.monotonic() - first < QUIET_S

    def forget(self, uid: str) -> None:
        self.mounted.pop(uid, None)
        self.waiting_since.pop(uid, None)

    async def _bound_volume(self, namespace: str, name: str) -> PersistentVolume:
        try:
            claim = await self.client.get("persistentvolumeclaims", name, namespace)
        except NotFound:
            raise ClaimError(f'persistentvolumeclaim "{name}" not found') from None
        if claim.metadata.deletion_timestamp:
            raise ClaimError(f'persistentvolumeclaim "{name}" is being deleted')
        phase = (claim.status.phase if claim.status else None) or ""
        if phase != "Bound" or not claim.spec.volume_name:
            raise ClaimError(f'PVC {namespace}/{name} has non-bound phase ("{phase}") or empty pvc.Spec.VolumeName '
                             f'("{claim.spec.volume_name or ""}")', transient=phase != "Lost")
        try:
            pv = await self.client.get("persistentvolumes", claim.spec.volume_name)
        except NotFound:
            raise ClaimError(f'persistentvolume "{claim.spec.volume_name}" not found') from None
        ref = pv.spec.claim_ref
        if ref is None or ref.uid != claim.metadata.uid:
            raise ClaimError(f"persistentvolume {pv.metadata.name!r} is not bound to claim {namespace}/{name}",
                             transient=True)
        return pv

    # -- reclaiming -----------------------------------------------------------------------------------------

    async def follow(self) -> None:
        """Remove this node's reclaimed local-path volumes, those found at start and those released later. The
        watch resumes by itself; a refusal (a server that does not let nodes read volumes) is retried after a
        pause rather than ending the agent."""
        while True:
            try:
                listed = await self.client.list("persistentvolumes")
                for pv in listed.items:
                    await self.reclaim(pv)
                async for event in self.client.watch("persistentvolumes", resource_version=listed.resource_version,
                                                     known=listed.items):
                    if event.type != "DELETED":
                        await self.reclaim(event.object)
            except ApiError as exc:
                log.warning("node %s: cannot follow persistent volumes (%s); trying again in %.0f s", self.node,
                            exc, FOLLOW_RETRY_S)
            await asyncio.sleep(FOLLOW_RETRY_S)

    async def reclaim(self, pv: PersistentVolume) -> None:
        if pv.metadata.deletion_timestamp or (pv.status.phase if pv.status else None) != "Released":
            return  # the cheap tests first: most events are of other volumes, or of volumes in use
        try:
            node = await self.client.get("nodes", self.node)
            if not vol.reclaimable_on(pv, node):
                return
            path = source_path(pv)
            if not self._owns(path):
                log.warning("volume %s: not removing %s, which is outside this node's storage directory %s",
                            pv.metadata.name, path, self.storage_dir)
                return
            await self.call(remove_tree, Path(path))
            log.info("volume %s: released with reclaim policy Delete; removed %s", pv.metadata.name, path)
            await self.client.delete("persistentvolumes", pv.metadata.name)
        except NotFound:
            return
        except (ApiError, ClaimError, OSError) as exc:
            log.warning("volume %s: could not reclaim: %s", pv.metadata.name, exc)

    def _owns(self, path: str) -> bool:
        if not self.storage_dir:
            return False
        real = os.path.realpath(path)
        return real != self.storage_dir and os.path.commonpath([real, self.storage_dir]) == self.storage_dir
