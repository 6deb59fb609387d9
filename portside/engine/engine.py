"""The docker-style facade over the image store and the runtime: what the CLI, the node agent and a docker API
socket call.

One ``Engine`` per engine root. It keeps no state in memory beyond lazily built helpers, so any number of
processes (CLI invocations, monitors, daemons) can use the same root at once; the files under the root are the
truth (see ``records.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from portside.engine import create as creating
from portside.engine import lifecycle
from portside.engine.config import ContainerConfig
from portside.engine.records import Records, read_json, remove_tree, write_atomic
from portside.runtime import logfile
from portside.runtime.errors import ContainerNotFound, InvalidTransition
from portside.runtime.runc import Runc
from portside.runtime.state import Event, State, transition

FOLLOW_RECHECK_S = 5.0  # a safety net for ``logs -f``: appends and the monitor's end both wake a follower at once


class Engine:
    def __init__(self, root: Path, caller_exits: bool = False) -> None:
        """``caller_exits``: this engine serves one command that ends soon after (see ``monitor.spawn``)."""
        self.root = Path(root)
        self.caller_exits = caller_exits
        self.records = Records(self.root)
        self.runc = Runc(self.root / "runc")
        self._images = None
        self._network = None
        self._settings: dict | None = None

    @property
    def images(self):
        if self._images is None:
            from portside.image import ImageStore

            self._images = ImageStore(self.root / "image")
        return self._images

    @property
    def network(self):
        """The bridge network, as ``ROOT/engine.json`` configures it (``bridge``, ``subnet``, and on a node of a
        cluster ``cluster_cidr`` and ``mtu``: see ``runtime/net/names.py``)."""
        if self._network is None:
            from portside.runtime.network import BridgeNetwork

            settings = self.settings()
            self._network = BridgeNetwork(self.root / "network", settings.get("bridge", "portside0"),
                                          settings.get("subnet", "10.88.0.0/16"), settings.get("cluster_cidr", ""),
                                          int(settings.get("mtu", 0)))
        return self._network

    def settings(self) -> dict:
        """``ROOT/engine.json``: ``bridge``, ``subnet`` and ``cgroup_parent``, each optional."""
        if self._settings is None:
            try:
                self._settings = read_json(self.root / "engine.json")
            except FileNotFoundError:
                self._settings = {}
        return self._settings

    def cgroups_path(self, cid: str) -> str:
        """``/portside/<id>`` by default: one parent per engine makes "nothing left behind" checkable."""
        return f"/{self.settings().get('cgroup_parent', 'portside').strip('/')}/{cid}"

    # -- containers ------------------------------------------------------------------------------------------

    def create(self, cfg: ContainerConfig) -> str:
        """Validate everything, then write the record; bad input raises before anything exists."""
        image = self.images.resolve(cfg.image)
        cid = creating.new_id()
        name = cfg.name or f"portside_{cid[:8]}"
        record = creating.build_record(cid, name, logfile.rfc3339(), cfg, image, self.root / "volumes")
        self.records.claim_name(name, cid)
        paths = self.records.paths(cid)
        try:
            paths.dir.mkdir(parents=True)
            durable = not cfg.autoremove
            write_atomic(paths.state, {"Status": "created", "ExitCode": 0, "RestartCount": 0}, durable)
            write_atomic(paths.record, record, durable)
        except BaseException:
            remove_tree(paths.dir)
            self.records.release_name(name, cid)
            raise
        return cid

    def start(self, ref: str) -> str:
        """Start in the background; returns the container id once it runs (or raises why it could not)."""
        cid = self.records.find(ref)
        lifecycle.start(self, cid).close()
        return cid

    def start_attached(self, ref: str, stdout: int, stderr: int, stdin: int | None = None):
        """Start with the container's output copied to these fds (and ``stdin``, if given, as its input); the
        returned handle's ``finished()`` gives the exit (code, OOM) once it is recorded, and ``close()`` must
        follow."""
        return lifecycle.start(self, self.records.find(ref), (stdout, stderr), stdin)

    def stop(self, ref: str, timeout: float = 10) -> str:
        cid = self.records.find(ref)
        lifecycle.stop(self, cid, timeout)
        return cid

    def restart(self, ref: str, timeout: float = 10) -> str:
        return self.start(self.stop(ref, timeout))

    def kill(self, ref: str, signal: str = "KILL") -> str:
        cid = self.records.find(ref)
        state = self.state(cid)
        transition(cid, State(state["Status"]), Event.KILL)
        self.records.paths(cid).stop_marker.touch()  # docker: a killed container is not restarted either
        self.runc.kill(cid, signal.upper().removeprefix("SIG"))
        return cid

    def wait(self, ref: str) -> int:
        return lifecycle.wait_exit(self, self.records.find(ref))["ExitCode"]

    def remove(self, ref: str, force: bool = False) -> str:
        cid = self.records.find(ref)
        state = self.state(cid)
        transition(cid, State(state["Status"]), Event.FORCE_REMOVE if force else Event.REMOVE)
        if state["Status"] in ("running", "restarting"):
            self.records.paths(cid).stop_marker.touch()
            lifecycle.stop(self, cid, timeout=0, signal="KILL")
        shared = read_json(self.records.paths(cid).record)["HostConfig"]["NetworkMode"].startswith("ns:")
        lifecycle.release(self, cid)
        self.destroy(cid)
        if shared:
            from portside.engine.sandboxes import after_remove
            after_remove(self)
        return cid

    def destroy(self, cid: str) -> None:
        """Delete the files and the name of a container that no longer runs. Its runc record is not touched: the
        monitor deletes it at every exit (perhaps at this moment), ``reconcile`` when the monitor could not."""
        paths = self.records.paths(cid)
        record = read_json(paths.record)
        remove_tree(paths.dir)
        self.records.release_name(record["Name"], cid)

    def state(self, cid: str) -> dict:
        try:
            state = read_json(self.records.paths(cid).state)
        except FileNotFoundError:
            raise ContainerNotFound(cid) from None
        return lifecycle.reconcile(self, cid, state)

    def inspect(self, ref: str) -> dict:
        from portside.engine.inspect import inspect

        cid = self.records.find(ref)
        return inspect(read_json(self.records.paths(cid).record), self.state(cid))

    def list(self, all: bool = False) -> list[dict]:
        out = []
        for cid in self.records.ids():
            try:
                info = self.inspect(cid)
            except (ContainerNotFound, FileNotFoundError):
                continue  # removed while we looked
            if all or info["State"]["Running"]:
                out.append(info)
        return sorted(out, key=lambda i: i["Created"], reverse=True)

    def logs(self, ref: str, tail: int | None = None, follow: bool = False) -> Iterator[logfile.Entry]:
        """The log's entries; with ``follow``, then each new one as the monitor appends it (inotify wakes us),
        until the container is no longer running."""
        cid = self.records.find(ref)
        path = self.records.paths(cid).log
        watch = _watch(path) if follow else None  # before the first read: no write in between is missed
        try:
            entries, offset = logfile.read(path, tail)
            yield from entries
            while follow:
                state = self.state(cid)
                running = state["Status"] in ("running", "restarting")
                if running:
                    lifecycle.wait_output(state.get("MonitorPid") or state.get("Pid", 0), watch, FOLLOW_RECHECK_S)
                entries, offset = logfile.read(path, None, offset)
                yield from entries
                follow = running
        finally:
            if watch is not None:
                watch.close()

    def exec(self, ref: str, argv: list[str], stdio: tuple[int, int, int], env: list[str] = (),
             user: str = "", workdir: str = "", timeout: float | None = None, tty: bool = False,
             started=None) -> int:
        """Run ``argv`` in the running container; with ``timeout``, kill it then and raise TimeoutError; with
        ``tty``, on a terminal of its own whose other end is ``stdio`` (``started`` then gets runc's pid)."""
        cid = self.records.find(ref)
        state = self.state(cid)
        if state["Status"] != "running":
            raise InvalidTransition(cid, state["Status"], "exec in it (it is not running)")
        return self.runc.exec(cid, argv, stdio=stdio, env=list(env), cwd=workdir or None, user=user or None,
                              timeout=timeout, tty=tty, started=started)

    def stats(self, ref: str):
        from portside.runtime.cgroups import Cgroup

        cid = self.records.find(ref)
        return Cgroup(self.cgroups_path(cid)).stats()

    def port(self, ref: str) -> list[dict]:
        state = self.state(self.records.find(ref))
        return state.get("Network", {}).get("Ports", []) if state["Status"] == "running" else []

    @property
    def volumes(self):
        from portside.engine.volumes import Volumes

        return Volumes(self.root, self.records)

    def using_image(self, image_id: str) -> list[str]:
        ids = []
        for cid in self.records.ids():
            try:
                if read_json(self.records.paths(cid).record)["Image"] == image_id:
                    ids.append(cid)
            except (FileNotFoundError, ValueError, KeyError):
                continue
        return ids


def containers_using_image(root: Path, image_id: str) -> list[str]:
    """For ``rmi``: ids of containers (in any state) created from ``image_id``."""
    return Engine(root).using_image(image_id)


def _watch(path: Path):
    """A watch on the log, or None when it does not exist yet (never started): then followers poll."""
    from portside.runtime.inotify import FileWatch

    try:
        return FileWatch(path)
    except OSError:
        return None
