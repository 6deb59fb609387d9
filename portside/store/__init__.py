"""The revisioned key-value store under the API server: one store-wide revision, compare-and-swap, watch.

Backends are picked by URL scheme from ``BACKENDS``: ``sqlite:///path/to/db`` (or a bare path), and
``etcd://H1:2379,H2:2379,H3:2379`` (etcd's v3 API through its JSON gateway, over every member listed).
``Follower`` keeps a caller's in-memory view of one prefix current (list, then watch, resume, reload).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from portside.store.follower import Follower
from portside.store.types import (
    Closed,
    Compacted,
    Conflict,
    Create,
    Delete,
    Event,
    EventType,
    KeyExists,
    KeyNotFound,
    KeyValue,
    ListResult,
    Progress,
    Store,
    StoreError,
    Update,
    Value,
    WatchStream,
    Write,
)


async def _open_sqlite(location: str) -> Store:
    from portside.store.sqlite import SQLiteStore
    return await SQLiteStore.open(location)


async def _open_etcd(location: str) -> Store:
    from portside.store.etcd import EtcdStore
    return await EtcdStore.open(location)


BACKENDS: dict[str, Callable[[str], Awaitable[Store]]] = {
    "sqlite": _open_sqlite,
    "etcd": _open_etcd,
}


async def open_store(url: str) -> Store:
    """Open the store named by ``url`` (``scheme://location``; a bare path means sqlite)."""
    scheme, sep, location = url.partition("://")
    if not sep:
        scheme, location = "sqlite", url
    opener = BACKENDS.get(scheme)
    if opener is None:
        raise ValueError(f"store URL {url!r}: unknown scheme {scheme!r} (expected one of {sorted(BACKENDS)})")
    return await opener(location)


__all__ = [
    "BACKENDS", "Closed", "Compacted", "Conflict", "Create", "Delete", "Event", "EventType", "Follower", "KeyExists",
    "KeyNotFound", "KeyValue", "ListResult", "Progress", "Store", "StoreError", "Update", "Value", "WatchStream",
    "Write", "open_store",
]
