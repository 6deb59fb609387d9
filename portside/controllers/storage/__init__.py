"""Persistent storage: the PV controller (binding, phases, reclaim), in-use protection of claims and volumes,
and the built-in local-path provisioner with the default StorageClass.

Two ``portside up`` components: ``volume-controllers`` (binder and protection, on shared informers) and
``local-storage`` (the provisioner; ``--disable local-storage`` leaves the cluster without a default class, as
k3s' flag of that name does).
"""

from __future__ import annotations

import asyncio
from typing import Any

from portside.controllers.storage.binder import PersistentVolumeController
from portside.controllers.storage.localpath import LocalPathProvisioner, default_class, volume_for
from portside.controllers.storage.protection import ProtectionController
from portside.controllers.workloads import run_controllers

__all__ = ["PersistentVolumeController", "ProtectionController", "LocalPathProvisioner", "default_class",
           "volume_for", "run_volume_controllers", "run_local_storage"]


async def run_volume_controllers(ctx: Any, ready: asyncio.Event) -> None:
    async with ctx.client("volumes") as client:
        await run_controllers(client, ready, (PersistentVolumeController, ProtectionController))


async def run_local_storage(ctx: Any, ready: asyncio.Event) -> None:
    async with ctx.client("volumes") as client:
        await LocalPathProvisioner(client).run(ready)
