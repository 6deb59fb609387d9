"""etcd's v3 API through its JSON gateway (``/v3/kv/...``, ``/v3/watch``), over several members.

A request goes to the member that answered last. When that member cannot be reached, times out, or answers that
it has no leader, the gateway moves to the next member. Reads (``call``) are then retried there, since a read
can be repeated freely; a write (``send``) is not: its outcome is unknown, so the gateway raises ``Unavailable``
and the store decides, from what the cluster shows, whether the write took effect (see ``etcd.py``).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from portside.store.types import KeyValue, StoreError

REQUEST_TIMEOUT_S = 5.0  # etcd's own proposal timeout is about this long; a slower answer is a member in trouble
CONNECT_TIMEOUT_S = 1.0
RETRY_FOR_S = 30.0  # an election takes about a second; a cluster that cannot elect in this long is down
BACKOFF_S = (0.05, 0.1, 0.2, 0.4, 0.8)
# etcd's "require leader" metadata: a member cut off from its leader cancels the watch instead of keeping it open
# and silent, so the watcher moves to a member that still hears of changes.
REQUIRE_LEADER = {"Grpc-Metadata-hasleader": "true"}
_MEMBER_TROUBLE = ("leader", "timed out", "too many requests", "stopped", "not capable", "unhealthy")


class Unavailable(StoreError):
    """No member answered, or the one asked was in no state to (no leader, stopping): the request may or may not
    have reached the cluster."""

    def __init__(self, detail: str) -> None:
        super().__init__("etcd", f"unavailable: {detail}")


class EtcdError(Exception):
    """etcd refused the request itself (a compacted or future revision, a malformed request)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def compacted(self) -> bool:
        return "compacted" in str(self)

    @property
    def future_revision(self) -> bool:
        return "future revision" in str(self)


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def range_end(prefix: str) -> str:
    """etcd's end of the range of keys starting with ``prefix`` (base64): the prefix with its last byte raised."""
    raw = bytearray(prefix.encode())
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return b64(b"\0")  # "\0" as range_end means: every key from the start key on
    raw[-1] += 1
    return b64(bytes(raw))


def key_value(kv: dict[str, Any]) -> KeyValue:
    return KeyValue(unb64(kv["key"]).decode(), unb64(kv.get("value")), int(kv.get("create_revision", 0)),
                    int(kv.get("mod_revision", 0)))


def parse_endpoints(location: str) -> list[str]:
    """``H1:2379,H2:2379`` (or with ``http://``) into base URLs; a clear error for an empty or odd entry."""
    out = []
    for part in location.split(","):
        part = part.strip().rstrip("/")
        host = part.removeprefix("http://")
        if not host or "/" in host or ":" not in host:
            raise ValueError(f"etcd endpoint {part!r} in {location!r}: expected HOST:PORT, e.g. 127.0.0.1:2379")
        out.append("http://" + host)
    return out


def _is_member_trouble(status: int, body: dict[str, Any]) -> bool:
    message = str(body.get("message") or body.get("error") or "")
    return status in (502, 503, 504) or body.get("code") in (4, 14) or any(m in message for m in _MEMBER_TROUBLE)


class Gateway:
    def __init__(self, endpoints: list[str]) -> None:
        self.endpoints = endpoints
        self.current = 0
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S))

    def _next_member(self, failed: int) -> None:
        if self.current == failed:
            self.current = (failed + 1) % len(self.endpoints)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        member = self.current
        try:
            async with self._session.post(self.endpoints[member] + path, json=body) as resp:
                answer = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as exc:
            self._next_member(member)
            raise Unavailable(f"{self.endpoints[member]}: {exc or type(exc).__name__}") from None
        if resp.status == 200:
            return answer
        if _is_member_trouble(resp.status, answer):
            self._next_member(member)
            raise Unavailable(f"{self.endpoints[member]}: {answer.get('message')}")
        raise EtcdError(int(answer.get("code", 0)), str(answer.get("message") or answer))

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A read: retried on the next member until one answers or ``RETRY_FOR_S`` has passed."""
        loop = asyncio.get_running_loop()
        deadline, attempt = loop.time() + RETRY_FOR_S, 0
        while True:
            try:
                return await self._post(path, body)
            except Unavailable:
                if loop.time() > deadline:
                    raise
            await backoff(attempt)
            attempt += 1

    async def send(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A write: sent once; ``Unavailable`` means its outcome is unknown."""
        return await self._post(path, body)

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """One watch on the current member: its responses until the connection ends (then ``Unavailable``)."""
        member = self.current
        timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT_S)
        try:
            async with self._session.post(self.endpoints[member] + "/v3/watch", json=body, timeout=timeout,
                                          headers=REQUIRE_LEADER) as resp:
                buffered = b""
                async for chunk in resp.content.iter_any():
                    buffered += chunk
                    *lines, buffered = buffered.split(b"\n")
                    for line in lines:
                        if line.strip():
                            yield _watch_result(json.loads(line))
        except (aiohttp.ClientError, json.JSONDecodeError) as exc:
            self._next_member(member)
            raise Unavailable(f"watch on {self.endpoints[member]}: {exc or type(exc).__name__}") from None
        self._next_member(member)
        raise Unavailable(f"watch on {self.endpoints[member]} ended")

    async def close(self) -> None:
        await self._session.close()


def _watch_result(message: dict[str, Any]) -> dict[str, Any]:
    if "error" in message:
        raise Unavailable(f"watch: {message['error']}")
    return message.get("result", {})


async def backoff(attempt: int) -> None:
    """Wait before asking again: a member that just lost its leader needs an election first."""
    await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
