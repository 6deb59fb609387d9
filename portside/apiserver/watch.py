"""``?watch=1``: a chunked stream of JSON lines, one ``{"type": ..., "object": ...}`` per change.

Without a resourceVersion (or with "0") the watch first sends the current objects as ADDED and then follows from
the revision of that read; with one it follows from there, and a compacted revision gets the ERROR event with a
410 Status that tells a client to list again. BOOKMARK events carry a revision up to which nothing was skipped, so
a client that reconnects from its last seen revision misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web

from portside import api
from portside.apiserver import errors, query
from portside.apiserver.objects import list_prefix, view
from portside.store import Compacted, Event, EventType, Progress, Store

BOOKMARK_EVERY = 5.0


def _line(kind: str, obj: bytes) -> bytes:
    return b'{"type":"' + kind.encode() + b'","object":' + obj + b"}\n"


def _type(event: Event) -> str:
    if event.type is EventType.DELETE:
        return "DELETED"
    return "ADDED" if event.created else "MODIFIED"


class Watch:
    """One open watch: what it filters, how it renders, where it writes."""

    def __init__(self, info: api.ResourceInfo, q: query.ListQuery, request: web.Request,
                 resp: web.StreamResponse) -> None:
        self.info, self.q, self.request, self.resp = info, q, request, resp
        self.bookmarks = request.query.get("allowWatchBookmarks") in ("true", "1")

    def render(self, kind: str, raw: bytes, prev: bytes | None = None) -> bytes | None:
        """One event's line, the object as this watch's version shows it (``raw`` is as stored)."""
        if not self.q.filtered and not self.q.as_table:
            return _line(kind, view(self.info, raw))
        obj = json.loads(raw)
        kind = self._transition(kind, self.q.matches(obj), prev)
        if kind is None:
            return None
        if self.q.as_table:
            return _line(kind, query.table_bytes(self.info, [obj], self.q))
        return _line(kind, view(self.info, raw))

    def _transition(self, kind: str, now: bool, prev: bytes | None) -> str | None:
        """As Kubernetes filters watches: entering the selection is ADDED, leaving it is DELETED."""
        if kind != "MODIFIED" or prev is None or not self.q.filtered:
            return kind if now else None
        before = self.q.matches(json.loads(prev))
        if now:
            return kind if before else "ADDED"
        return "DELETED" if before else None

    def bookmark(self, revision: int) -> bytes:
        marker = {"kind": self.info.kind, "apiVersion": self.info.api_version,
                  "metadata": {"resourceVersion": str(revision)}}
        return _line("BOOKMARK", json.dumps(marker).encode())

    def gone(self) -> bool:
        transport = self.request.transport
        return transport is None or transport.is_closing()

    async def send(self, line: bytes | None) -> None:
        if line is not None:
            await self.resp.write(line)


async def serve(request: web.Request, store: Store, info: api.ResourceInfo, namespace: str,
                bookmark_every: float = BOOKMARK_EVERY) -> web.StreamResponse:
    q = query.parse(info, request.query, request.headers.get("Accept", ""))
    rv = request.query.get("resourceVersion", "")
    if rv and rv != "0" and not rv.isdigit():
        raise errors.bad_request(f'resourceVersion: Invalid value: "{rv}": must be an integer')
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    w = Watch(info, q, request, resp)
    seconds = float(request.query.get("timeoutSeconds") or 0) or None
    with contextlib.suppress(asyncio.TimeoutError, ConnectionResetError):
        async with asyncio.timeout(seconds):
            await _follow(w, store, list_prefix(info, namespace), rv, bookmark_every)
    return resp


async def _follow(w: Watch, store: Store, prefix: str, rv: str, bookmark_every: float) -> None:
    if rv in ("", "0"):
        listed = await store.list(prefix)
        initial = (w.render("ADDED", kv.value) for kv in listed.items)
        await w.send(b"".join(line for line in initial if line is not None) or None)
        start = listed.revision
    else:
        start = int(rv)
    try:
        stream = await store.watch(prefix, start, bookmark_every)
    except Compacted as exc:
        expired = errors.gone(f"too old resource version: {exc.revision} ({exc.compacted})")
        await w.send(_line("ERROR", expired.compact()))
        return
    try:
        async for batch in stream.batches:
            if isinstance(batch, Progress):
                if w.gone():  # a quiet watch learns of its client's departure here
                    return
                if w.bookmarks:
                    await w.send(w.bookmark(batch.revision))
                continue
            lines = (w.render(_type(e), e.kv.value, e.prev) for e in batch)
            await w.send(b"".join(line for line in lines if line is not None) or None)
    finally:
        stream.close()
