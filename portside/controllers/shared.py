"""Informers shared between controllers: one list + watch per resource, however many controllers read it.

The ReplicaSet, Job and Endpoints controllers all follow every pod; run together (``workloads.py``), they share
one pod informer instead of decoding each pod event three times. Each controller still calls ``run()`` on its
informers (the base class does); a shared informer's first ``run()`` follows the API and later ones wait on that
same work, which stops when the last of them is cancelled.
"""

from __future__ import annotations

import asyncio

from portside import api
from portside.client import Client
from portside.controllers.informer import Informer


class SharedInformer(Informer):
    def __init__(self, client: Client, info: api.ResourceInfo) -> None:
        super().__init__(client, info)
        self._follow: asyncio.Task | None = None
        self._users = 0

    async def run(self) -> None:
        if self._follow is None or self._follow.done():
            self._follow = asyncio.get_running_loop().create_task(super().run(), name=f"shared:{self.info.plural}")
        follow = self._follow
        self._users += 1
        try:
            await asyncio.shield(follow)
        finally:
            self._users -= 1
            if self._users == 0 and not follow.done():
                follow.cancel()
                await asyncio.gather(follow, return_exceptions=True)


class InformerFactory:
    """Hands out one ``SharedInformer`` per resource; pass the same factory to every controller that may share."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._informers: dict[tuple[str, str], SharedInformer] = {}

    def get(self, info: api.ResourceInfo) -> SharedInformer:
        key = (info.group, info.plural)
        if key not in self._informers:
            self._informers[key] = SharedInformer(self.client, info)
        return self._informers[key]
