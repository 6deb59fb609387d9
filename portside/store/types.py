"""The store's contract: a revisioned key-value map with compare-and-swap and watch.

The store knows keys, bytes and revisions, never object kinds. Every write takes the next value of one store-wide
revision counter; that counter is what the API calls resourceVersion. A value may be given as a function of the
revision it will be written at, so the caller can embed the revision in the stored bytes and readers can serve
those bytes without re-encoding them.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

Value = bytes | Callable[[int], bytes]


class StoreError(Exception):
    """Root of the store's errors; each names the key it is about."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


class KeyExists(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(key, "already exists")


class KeyNotFound(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(key, "not found")


class Conflict(StoreError):
    """The key's mod revision is not the one the caller read: someone wrote in between."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(key, f"modified at revision {actual}, caller expected {expected}")
        self.expected, self.actual = expected, actual


class Compacted(StoreError):
    """The revision asked for is older than the history the store still keeps."""

    def __init__(self, revision: int, compacted: int) -> None:
        super().__init__("", f"revision {revision} is compacted (oldest kept is {compacted + 1})")
        self.revision, self.compacted = revision, compacted


class Closed(StoreError):
    def __init__(self) -> None:
        super().__init__("", "store is closed")


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


class EventType(enum.Enum):
    PUT = "PUT"
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class Event:
    """One change. For DELETE, ``kv.value`` is the tombstone value the deleter wrote (or the last value).

    ``prev`` is the value before a live change (None for creations and for changes replayed from history), so a
    filtering watcher can tell an object that stopped matching from one that never matched.
    """

    type: EventType
    kv: KeyValue
    prev: bytes | None = None

    @property
    def created(self) -> bool:
        return self.type is EventType.PUT and self.kv.create_revision == self.kv.mod_revision

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


@dataclass(frozen=True, slots=True)
class Progress:
    """A watch heard nothing for a while; every change under its prefix up to ``revision`` has been delivered."""

    revision: int


@dataclass(frozen=True, slots=True)
class ListResult:
    items: list[KeyValue]
    revision: int
    more: bool = False
    next_key: str | None = None


@dataclass(frozen=True, slots=True)
class Create:
    key: str
    value: Value


@dataclass(frozen=True, slots=True)
class Update:
    """Write ``value`` if the key's mod revision is still ``expect`` (0: any existing revision)."""

    key: str
    value: Value
    expect: int = 0


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete if the key's mod revision is still ``expect`` (0: any); ``tombstone`` becomes the event's value."""

    key: str
    expect: int = 0
    tombstone: Value | None = None


Write = Create | Update | Delete


@dataclass(slots=True)
class WatchStream:
    """An open watch: iterate for events (or take ``batches``, lists of events committed together); ``close()``
    ends it. Use one of the two ways of reading, not both."""

    batches: AsyncIterator[list[Event] | Progress]
    close: Callable[[], None] = field(default=lambda: None)

    def __aiter__(self) -> AsyncIterator[Event | Progress]:
        from portside.store.hub import flatten
        return flatten(self.batches)


class Store(Protocol):
    """What every backend provides. All methods are coroutines safe to call from one event loop."""

    async def get(self, key: str) -> KeyValue | None: ...

    async def list(self, prefix: str, *, revision: int = 0, start: str = "", limit: int = 0) -> ListResult: ...

    async def count(self, prefix: str) -> int: ...

    async def commit(self, writes: list[Write]) -> list[KeyValue]:
        """All-or-nothing; each write takes its own revision, in order. Raises the first failing write's error."""
        ...

    async def create(self, key: str, value: Value) -> KeyValue: ...

    async def update(self, key: str, value: Value, expect: int = 0) -> KeyValue: ...

    async def delete(self, key: str, expect: int = 0, tombstone: Value | None = None) -> KeyValue: ...

    async def current_revision(self) -> int: ...

    async def watch(self, prefix: str, revision: int, progress_every: float = 0) -> WatchStream:
        """Events on keys under ``prefix`` with revision > ``revision``; raises Compacted if too old.

        With ``progress_every`` > 0, a quiet stream yields ``Progress`` that often (for bookmarks).
        """
        ...

    async def compact(self, revision: int) -> None: ...

    async def compacted_revision(self) -> int: ...

    def end_watches(self) -> None:
        """End every open watch stream (a stopping server does this before draining requests)."""
        ...

    async def close(self) -> None: ...
