"""One userspace proxy worker process: ``python -m portside.proxy.worker FD``.

The proxy runs one worker per core. Each gets, over its control socket (an AF_UNIX SOCK_SEQPACKET pair, one
JSON message per packet), the listening sockets themselves (SCM_RIGHTS) and the backends behind them. The
parent binds every socket of a port (all with SO_REUSEPORT, one per worker), so the kernel spreads accepts over
the workers and a port conflict is found in one place, the parent. Workers never bind anything.

Messages in: ``listen`` (with one fd), ``configure``, ``close``. Out: ``listening`` once a port is being
accepted on, and ``stats`` once a second. When the control
socket ends (the parent is gone, even killed) the worker stops accepting, lets open connections finish for a
short grace, and exits.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
from typing import Any

from portside.proxy.balance import Backend, make_balancer
from portside.proxy.userspace import Downstream, Listener, Settings

__all__ = ["main"]

STATS_INTERVAL_S = 1.0
EXIT_GRACE_S = 3.0
MAX_MESSAGE = 1 << 20


def _backends(msg: dict[str, Any]) -> list[Backend]:
    return [Backend(ip, port) for ip, port in msg["backends"]]


class Worker:
    def __init__(self, control: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self.control, self.loop = control, loop
        self.listeners: dict[str, tuple[Listener, asyncio.Server]] = {}
        self.stopped = loop.create_future()

    async def listen(self, msg: dict[str, Any], fd: int) -> None:
        sock = socket.socket(fileno=fd)
        settings = Settings(msg["connect_timeout_s"], msg["idle_timeout_s"])
        listener = Listener(msg["key"], make_balancer(msg["algorithm"]), settings=settings)
        listener.configure(msg["algorithm"], _backends(msg), msg["affinity_s"])
        server = await self.loop.create_server(lambda: Downstream(listener), sock=sock, backlog=msg["backlog"])
        self.listeners[msg["key"]] = (listener, server)
        self._send({"op": "listening", "key": msg["key"]})

    def _send(self, msg: dict[str, Any]) -> bool:
        try:
            self.control.send(json.dumps(msg).encode())
            return True
        except OSError:
            return False

    def configure(self, msg: dict[str, Any]) -> None:
        entry = self.listeners.get(msg["key"])
        if entry is not None:
            entry[0].configure(msg["algorithm"], _backends(msg), msg["affinity_s"])

    def close(self, key: str) -> None:
        entry = self.listeners.pop(key, None)
        if entry is not None:
            entry[1].close()

    def handle(self, msg: dict[str, Any], fds: list[int]) -> None:
        op = msg["op"]
        if op == "listen":
            self.loop.create_task(self.listen(msg, fds[0]))
        elif op == "configure":
            self.configure(msg)
        elif op == "close":
            self.close(msg["key"])

    def report(self) -> None:
        stats = {key: {"refused": lst.refused, "backends": {b: s.as_list() for b, s in lst.stats.items()}}
                 for key, (lst, _) in self.listeners.items()}
        if self._send({"op": "stats", "listeners": stats}):
            self.loop.call_later(STATS_INTERVAL_S, self.report)

    def sweep(self) -> None:
        for listener, _ in self.listeners.values():
            if self.loop.time() - listener.last_sweep >= listener.settings.idle_timeout_s / 2:
                listener.sweep_idle()
                listener.last_sweep = self.loop.time()
            if listener.affinity is not None:
                listener.affinity.expire(self.loop.time())
        self.loop.call_later(STATS_INTERVAL_S, self.sweep)

    async def drain(self) -> None:
        """Stop accepting everywhere, then give open connections up to ``EXIT_GRACE_S`` to finish."""
        for listener, server in self.listeners.values():
            server.close()
            if not listener.pairs:
                listener.drained.set()
        waits = [listener.drained.wait() for listener, _ in self.listeners.values()]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), EXIT_GRACE_S)
        except TimeoutError:
            pass


def _read_control(worker: Worker) -> None:
    """Blocking reads on a thread: asyncio has no recvmsg with descriptors for SOCK_SEQPACKET."""
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(worker.control, MAX_MESSAGE, 4)
        except OSError:
            data, fds = b"", []
        if not data:
            worker.loop.call_soon_threadsafe(lambda: worker.stopped.done() or worker.stopped.set_result(None))
            return
        worker.loop.call_soon_threadsafe(worker.handle, json.loads(data), list(fds))


async def serve(control: socket.socket) -> None:
    worker = Worker(control, asyncio.get_running_loop())
    threading.Thread(target=_read_control, args=(worker,), daemon=True, name="control").start()
    worker.report()
    worker.sweep()
    await worker.stopped
    await worker.drain()


def main(argv: list[str]) -> int:
    control = socket.socket(fileno=int(argv[0]))
    try:
        import uvloop
        uvloop.run(serve(control))
    except ImportError:
        asyncio.run(serve(control))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
