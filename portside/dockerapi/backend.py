"""The API's edge to the engine: every engine call runs in a thread, since the engine blocks on runc and files."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from portside.engine import Engine


class Backend:
    def __init__(self, engine: Engine, threads: int = 32) -> None:
        self.engine = engine
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="dockerapi")

    async def call(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` in the pool: the event loop keeps serving other clients meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


BACKEND = web.AppKey("backend", Backend)


def backend(request: web.Request) -> Backend:
    return request.app[BACKEND]
