"""The agent's edge to the container engine: every call runs in a thread (the engine blocks on runc and on
files), and a container's end is an event, not a poll.

A container's monitor process exits right after it has recorded the container's exit in ``state.json``, so a
pidfd on the monitor (readable once the process has ended) in the event loop says "read the state again"
without any polling loop.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from portside.agent.model import LABEL_CLUSTER, LABEL_UID, Run, run_from
from portside.engine import ContainerConfig, Engine
from portside.runtime.errors import ContainerNotFound, PortsideError

MAX_EXEC_OUTPUT = 10 * 1024


class RunError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class PodEngine:
    def __init__(self, root: Path, threads: int = 32) -> None:
        self.engine = Engine(Path(root))
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="agent-engine")

    async def call(self, fn, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(self.pool, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def all_runs(self, cluster: str) -> dict[str, list[Run]]:
        """Pod uid -> its runs in ``cluster``, as the engine has them (what adoption starts from)."""
        containers = await self.call(self.engine.containers, all=True)
        out: dict[str, list[Run]] = {}
        for container in containers:
            run = run_from(container)
            labels = container.record.config.labels
            if run is not None and labels.get(LABEL_CLUSTER) == cluster:
                out.setdefault(labels[LABEL_UID], []).append(run)
        return out

    async def inspect(self, cid: str) -> Run | None:
        try:
            return run_from(await self.call(self.engine.container, cid))
        except (ContainerNotFound, FileNotFoundError):
            return None

    async def run(self, cfg: ContainerConfig, created: Callable[[], None] = lambda: None) -> str:
        """Create and start; raises RunError (with Kubernetes' reason) and leaves nothing behind if refused.
        ``created`` is called between the two, where the kubelet records its Created Event."""
        try:
            cid = await self.call(self.engine.create, cfg)
        except PortsideError as exc:
            raise RunError("CreateContainerError", str(exc)) from None
        created()
        try:
            await self.call(self.engine.start, cid)
        except BaseException as exc:
            await self.call(self._remove, cid)
            if isinstance(exc, PortsideError):
                raise RunError("RunContainerError", str(exc)) from None
            raise
        return cid

    def _remove(self, cid: str) -> None:
        try:
            self.engine.remove(cid, force=True)
        except (ContainerNotFound, FileNotFoundError):
            pass

    async def remove(self, cid: str) -> None:
        await self.call(self._remove, cid)

    def _signal(self, cid: str, sig: str) -> bool:
        """False when there is nothing (left) to signal."""
        try:
            self.engine.kill(cid, sig)
            return True
        except (ContainerNotFound, FileNotFoundError, PortsideError):
            return False

    async def stop(self, cid: str, grace: float, kill_wait: float = 10.0) -> None:
        """SIGTERM, SIGKILL after ``grace`` seconds; returns once the end is recorded. No thread waits meanwhile
        (the end is the monitor's pidfd event), so cancelling the caller leaves nothing blocked."""
        ended = asyncio.Event()
        cancel = self.watch_exit(cid, ended.set)
        try:
            if not await self.call(self._signal, cid, "TERM"):
                return
            try:
                await asyncio.wait_for(ended.wait(), grace)
            except TimeoutError:
                await self.call(self._signal, cid, "KILL")
                await asyncio.wait_for(ended.wait(), kill_wait)  # raises only if SIGKILL did not end it
        finally:
            cancel()

    async def exec(self, cid: str, argv: list[str], timeout: float) -> tuple[int, str]:
        """The command's exit code and its output (stdout and stderr together, the first ``MAX_EXEC_OUTPUT``
        bytes, as the kubelet keeps of a probe's); TimeoutError (a probe failure) once it ran ``timeout``
        seconds, and then it has been killed, as the kubelet kills a probe that timed out."""
        devnull = os.open(os.devnull, os.O_RDONLY)
        try:
            with tempfile.TemporaryFile() as out:  # a file, not a pipe: a chatty command never blocks on it
                code = await self.call(self.engine.exec, cid, argv, (devnull, out.fileno(), out.fileno()),
                                       timeout=timeout)
                out.seek(0)
                return code, out.read(MAX_EXEC_OUTPUT).decode(errors="replace")
        finally:
            os.close(devnull)

    def watch_exit(self, cid: str, on_exit: Callable[[], None]) -> Callable[[], None]:
        """Call ``on_exit`` (in the loop) once the container's end is recorded; returns a cancel function."""
        loop = asyncio.get_running_loop()
        try:
            pid = self.engine.monitor_pid(cid)
            fd = os.pidfd_open(pid) if pid > 0 else -1
        except (ContainerNotFound, ProcessLookupError, FileNotFoundError, OSError):
            fd = -1
        if fd < 0:
            loop.call_soon(on_exit)
            return lambda: None

        def fire() -> None:
            cancel()
            on_exit()

        def cancel() -> None:
            if fd not in closed:
                loop.remove_reader(fd)
                os.close(fd)
                closed.add(fd)
        closed: set[int] = set()
        loop.add_reader(fd, fire)
        return cancel
