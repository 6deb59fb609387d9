"""One way for a test to wait: ``eventually(check)``, on a watch where the API offers one, never a fixed sleep.

A test waits for something that will become true (a pod Ready, a port answering, a file written). A fixed sleep
is too short on a busy CI machine and too long everywhere else; a wait on the condition ends as soon as it holds
and, when it never does, fails naming ``what`` it waited for.

- ``eventually(check, watch=Watch(...))``: ``check({name: object})`` runs on the listed objects and again after
  every watch event, so the wait ends at the very event that satisfies it (and sees every state in between,
  which sampling can miss).
- ``eventually(check)``: for what no watch reports (files, ports, processes, command output), ``check()`` is
  evaluated again every ``interval`` seconds.

``eventually_async`` is the same for code already running on an event loop.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.05


@dataclass(frozen=True)
class Watch:
    """An API resource to follow: ``client`` is a ``portside.client.Client`` on a running loop, or (for the
    synchronous ``eventually``) the path of a kubeconfig, for which one is opened for the wait."""

    client: Any
    resource: str
    namespace: str = ""
    label_selector: str = ""


def eventually(check: Callable[..., Any], timeout: float = DEFAULT_TIMEOUT_S, interval: float = POLL_INTERVAL_S,
               what: str = "", *, watch: Watch | None = None) -> Any:
    """The first truthy value of ``check``; AssertionError naming ``what`` after ``timeout`` seconds."""
    if watch is None:
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {_name(what, check)}")
            time.sleep(interval)
    return asyncio.run(eventually_async(check, timeout, what=what, watch=watch))


async def eventually_async(check: Callable[..., Any], timeout: float = DEFAULT_TIMEOUT_S,
                           interval: float = POLL_INTERVAL_S, what: str = "", *, watch: Watch | None = None) -> Any:
    """``eventually`` on a running loop; ``check`` may be a coroutine function when there is no ``watch``."""
    try:
        async with asyncio.timeout(timeout):
            if watch is not None:
                return await _follow(watch, check)
            while True:
                value = check()
                if inspect.isawaitable(value):
                    value = await value
                if value:
                    return value
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {_name(what, check)}") from None


async def _follow(watch: Watch, check: Callable[[dict[str, dict]], Any]) -> Any:
    if isinstance(watch.client, str):
        from portside.client import Client

        async with Client.from_kubeconfig(watch.client) as client:
            return await _follow(Watch(client, watch.resource, watch.namespace, watch.label_selector), check)
    client = watch.client.raw  # checks read objects as the API sends them, as kubectl's JSON shows them
    listed = await client.list(watch.resource, watch.namespace, label_selector=watch.label_selector)
    objs = {o["metadata"]["name"]: o for o in listed.items}
    if value := check(objs):
        return value
    async for event in client.watch(watch.resource, watch.namespace, label_selector=watch.label_selector,
                                    resource_version=listed.resource_version, known=list(objs.values())):
        if event.type == "DELETED":
            objs.pop(event.name, None)
        else:
            objs[event.name] = event.object
        if value := check(objs):
            return value
    raise AssertionError(f"the watch of {watch.resource} ended")  # it reconnects by itself: not expected


def _name(what: str, check: Callable) -> str:
    return what or getattr(check, "__qualname__", repr(check))
