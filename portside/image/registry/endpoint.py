"""Opening a conversation with a registry: plain HTTP or TLS, saved credentials, one HTTP session."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Coroutine, Iterable
from typing import Any

import aiohttp

from portside.image.registry.credentials import Credentials, CredentialStore
from portside.image.registry.settings import insecure_registries
from portside.image.registry.transport import Transport

# docker's default: at most three layers in flight per pull or push.
MAX_CONCURRENT = 3


@contextlib.asynccontextmanager
async def connect(root: str | os.PathLike[str], registry: str, api_host: str, *, insecure: bool = False,
                  credentials: Credentials | None = None) -> AsyncIterator[Transport]:
    """A transport to ``registry``; credentials default to the ones ``portside login`` saved for it."""
    plain = insecure or registry in insecure_registries(root)
    creds = credentials or CredentialStore(root).get(registry)
    connector = aiohttp.TCPConnector(limit=MAX_CONCURRENT * 2)
    async with aiohttp.ClientSession(connector=connector, headers={"User-Agent": "portside"}) as session:
        yield Transport(session, registry, api_host, insecure=plain, credentials=creds)


async def run_all(jobs: Iterable[Coroutine[Any, Any, Any]]) -> None:
    """Run ``jobs`` together; the first failure cancels the rest and is raised as itself, not as a group."""
    try:
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(job)
    except BaseExceptionGroup as group_error:
        raise _first_leaf(group_error) from None


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
