"""The workload controllers as one ``portside up`` component: ReplicaSet, Deployment, DaemonSet, StatefulSet, Job,
CronJob and Endpoints on one API connection pool and shared informers, ready once every one of them has filled its
caches."""

from __future__ import annotations

import asyncio
from typing import Any

from portside.client import Client
from portside.controllers.base import Controller
from portside.controllers.cronjob import CronJobController
from portside.controllers.daemonset import DaemonSetController
from portside.controllers.deployment import DeploymentController
from portside.controllers.endpoints import EndpointsController
from portside.controllers.job import JobController
from portside.controllers.replicaset import ReplicaSetController
from portside.controllers.shared import InformerFactory
from portside.controllers.statefulset import StatefulSetController

WORKLOAD_CONTROLLERS: tuple[type[Controller], ...] = (
    ReplicaSetController, DeploymentController, DaemonSetController, StatefulSetController, JobController,
    CronJobController, EndpointsController)


async def run_controllers(client: Client, ready: asyncio.Event | None = None,
                          kinds: tuple[type[Controller], ...] = WORKLOAD_CONTROLLERS) -> None:
    """Run ``kinds`` on one client, sharing informers (one pod watch for all of them)."""
    informers = InformerFactory(client)
    controllers = [kind(client, informers) for kind in kinds]  # every handler registered before any list
    events = [asyncio.Event() for _ in kinds]
    async with asyncio.TaskGroup() as group:
        for controller, event in zip(controllers, events):
            group.create_task(controller.run(event), name=controller.name)
        await asyncio.gather(*(e.wait() for e in events))
        if ready is not None:
            ready.set()


async def run_workload_controllers(ctx: Any, ready: asyncio.Event) -> None:
    """The supervisor's entry point: ``ctx`` is its Context (it hands out clients for the admin kubeconfig)."""
    async with ctx.client() as client:
        await run_controllers(client, ready)
