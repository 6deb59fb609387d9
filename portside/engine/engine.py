"""The docker-style facade over the image store and the runtime: what the CLI, the node agent and a docker API
socket call.

One ``Engine`` per engine root. It keeps no state in memory beyond lazily built helpers, so any number of
processes (CLI invocations, monitors, daemons) can use the same root at once; the files under the root are the
truth (see ``records.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from portside.engine import create as creating
from portside.engine.config import ContainerConfig, Resources
from portside.engine.lifecycle import Lifecycle, wait_output
from portside.engine.model import Container, ContainerRecord, ContainerState, PortBinding
from portside.engine.netattach import Networking
from portside.engine.records import Records, read_json, remove_tree
from portside.engine.waiting import Waiting, check_condition
from portside.runtime import logfile
from portside.runtime.errors import Conflict, ContainerNotFound, InvalidArgument, InvalidTransition, PortsideError
from portside.runtime.runc import Runc
from portside.runtime.state import Event, State, transition

FOLLOW_RECHECK_S = 5.0  # a safety net for ``logs -f``: appends and the monitor's end both wake a follower at once


class Engine:
    def __init__(self, root: Path, caller_exits: bool = False) -> None:
        """``caller_exits``: this engine serves one command that ends soon after (see ``monitor.spawn``)."""
        self.root = Path(root)
        self.caller_exits = caller_exits
        self._records = Records(self.root)
        self._runc = Runc(self.root / "runc")
        self._images = None
        self._network = None
        self._settings: dict | None = None
        self._networks = None
        self._networking = Networking(self.root, self._records, default=lambda: self.network,
                                      networks=lambda: self.networks,
                                      resolv_source=lambda: self.settings().get("resolv_conf") or "/etc/resolv.conf")
        self._lifecycle = Lifecycle(self._records, self._runc, networking=self._networking,
                                    images=lambda: self.images, cgroups_path=self.cgroups_path,
                                    seccomp_cache=self.root / "seccomp", caller_exits=caller_exits)

    @property
    def images(self):
        if self._images is None:
            from functools import partial

            from portside.engine.records import image_event
            from portside.image import ImageStore

            self._images = ImageStore(self.root / "image", on_event=partial(image_event, self.root))
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

    @property
    def networks(self):
        """The user-defined networks (``network create``, ``ls``, ``inspect``, ``rm``, ``prune``)."""
        if self._networks is None:
            from portside.engine.networks import Networks

            self._networks = Networks(self.root, self.settings(), default=lambda: self.network, alive=self._alive)
        return self._networks

    def _alive(self, cid: str) -> bool:
        try:
            return self.state(cid).live
        except (ContainerNotFound, FileNotFoundError):
            return False

    def settings(self) -> dict:
        """``ROOT/engine.json``: ``bridge``, ``subnet``, ``cgroup_parent``, ``resolv_conf`` (the host's resolvers,
        default /etc/resolv.conf) and ``default_address_pools`` (user networks' subnets), each optional."""
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

    def find(self, ref: str) -> str:
        """The full id of a container given by id, name or unique id prefix (docker's lookup order)."""
        return self._records.find(ref)

    def create(self, cfg: ContainerConfig) -> str:
        """Validate everything, then write the record; bad input raises before anything exists."""
        image = self.images.resolve(cfg.image)
        cfg, network_id = self._user_network(cfg)
        cid = creating.new_id()
        name = cfg.name or f"portside_{cid[:8]}"
        record = creating.build_record(cid, name, logfile.rfc3339(), cfg, image, self.root / "volumes", network_id,
                                       self._log_defaults())
        if any(m.name for m in record.mounts):
            record = self._named_volumes(record)
        self._records.claim_name(name, cid)
        try:
            self._records.write_new(record, durable=not cfg.autoremove)
        except BaseException:
            remove_tree(self._records.paths(cid).dir)
            self._records.release_name(name, cid)
            raise
        self._records.event("create", record)
        return cid

    def _named_volumes(self, record: ContainerRecord) -> ContainerRecord:
        """The volumes the container names, created now if missing (as docker's create does); a bind-form
        volume's mount is of its host directory."""
        volumes = self.volumes
        for mount in record.mounts:
            if mount.name:
                volumes.ensure(mount.name)
        return record.replace(mounts=tuple(m.replace(source=volumes.source(m.name)) if m.name else m
                                           for m in record.mounts))

    def _log_defaults(self) -> dict[str, str]:
        """engine.json's ``log_opts`` (docker's daemon.json ``log-opts``): every new container's, unless its own
        ``--log-opt`` says otherwise."""
        opts = self.settings().get("log_opts") or {}
        if not isinstance(opts, dict) or not all(isinstance(v, str) for v in opts.values()):
            raise InvalidArgument(f'{self.root / "engine.json"}: log_opts must map option names to strings, e.g. '
                                  '{"max-size": "10m", "max-file": "3"}')
        return opts

    def _user_network(self, cfg: ContainerConfig) -> tuple[ContainerConfig, str]:
        """The config with ``--network`` naming a user-defined network by its name, and that network's id (""
        for bridge, host, none and ns:PATH); NetworkNotFound for a network that does not exist."""
        from portside.engine.config import NETWORKS, check_network

        if cfg.network in NETWORKS or check_network(cfg.network).startswith("ns:"):
            return cfg, ""
        net = self.networks.find(cfg.network)
        if net.predefined:
            return cfg.replace(network=net.name), ""
        if net.internal and (cfg.publish or cfg.publish_all):
            flag = "-p" if cfg.publish else "-P"
            raise InvalidArgument(f"{flag} cannot be used with network {net.name}: it is internal (nothing is "
                                  "forwarded in or out of it)")
        return cfg.replace(network=net.name), net.id

    def connect(self, network: str, ref: str, aliases: tuple[str, ...] = (), ip: str = "") -> str:
        """``network connect``: the container joins ``network`` now if it runs, and at each start."""
        cid = self._records.find(ref)
        state = self.state(cid)
        endpoint = self._networking.connect(cid, network, tuple(aliases), ip, running=state.live,
                                            endpoints=state.endpoints)
        if endpoint is not None:  # running: joined now (else at its start, which tells it)
            self._records.update_state(cid, lambda s: s.replace(endpoints=s.endpoints + (endpoint,)))
            self._network_event("connect", network, cid)
        return cid

    def _network_event(self, action: str, network: str, cid: str) -> None:
        from portside.engine.networks import network_event

        network_event(self.root, action, self.networks.find(network), container=cid)

    def disconnect(self, network: str, ref: str) -> str:
        """``network disconnect``: the container leaves ``network`` now if it runs, and for good."""
        cid = self._records.find(ref)
        state = self.state(cid)
        net = self.networks.find(network)
        self._networking.disconnect(cid, network, running=state.live, endpoints=state.endpoints)
        self._records.update_state(cid, lambda s: s.replace(
            endpoints=tuple(e for e in s.endpoints if e.network_id != net.id)))
        if state.live:
            self._network_event("disconnect", net.id, cid)
        return cid

    def start(self, ref: str) -> str:
        """Start in the background; returns the container id once it runs (or raises why it could not)."""
        cid = self._records.find(ref)
        self._lifecycle.start(cid).close()
        return cid

    def start_attached(self, ref: str, stdout: int, stderr: int, stdin: int | None = None,
                       tell: tuple[int, Callable[[int], None]] | None = None, in_place: bool = False):
        """Start with the container's output written to these fds (and ``stdin``, if given, as its input); the
        returned handle's ``finished()`` gives the exit (code, OOM) once it is recorded, and ``close()`` must
        follow. ``tell`` (a descriptor and a function): called with the exit code from the container's monitor,
        before the handle learns it (a command served for a client that waits on that descriptor). With
        ``in_place`` (and ``tell``), this process becomes the monitor: the result is a ``monitor.InPlace``, whose
        ``serve()`` never returns."""
        return self._lifecycle.start(self._records.find(ref), (stdout, stderr), stdin, tell=tell, in_place=in_place)

    def start_interactive(self, ref: str, client: int):
        """Start with ``client`` (the monitor's end of ``runtime.attach.pair``) attached from the first byte of
        output on; the handle is as ``start_attached``'s."""
        return self._lifecycle.start(self._records.find(ref), client=client)

    def attach(self, ref: str):
        """An ``Attachment`` to the running container: its output from now on, its stdin when it keeps one open
        (``open_stdin``) or has a terminal (``tty``), and that terminal's size."""
        from portside.runtime.attach import connect

        cid = self._records.find(ref)
        state = self.state(cid)
        if not state.live:
            raise InvalidTransition(cid, state.status, "attach to it (it is not running)")
        return connect(self._records.paths(cid).attach_socket, cid)

    def resize(self, ref: str, rows: int, cols: int) -> str:
        """The container's terminal to ``rows`` x ``cols`` (the kernel tells its foreground process with SIGWINCH);
        nothing happens for a container without a terminal, as with docker."""
        cid = self._records.find(ref)
        if not self.state(cid).live:
            raise Conflict(f"Container {cid} is not running")  # docker's words
        conn = self.attach(cid)
        try:
            conn.resize(rows, cols)
            conn.finish()  # applied when this returns: a client's next resize must not overtake this one
        finally:
            conn.close()
        return cid

    def attach_next(self, ref: str):
        """A ``Waiting`` attachment to the container's next start, from its first byte of output on (docker's
        ``run`` and ``start -a`` attach before they start); readable once a start (by anyone) has begun."""
        from portside.runtime.attach import Waiting

        return Waiting(self._records.paths(self._records.find(ref)).dir)

    def stop(self, ref: str, timeout: float | None = None) -> str:
        """The stop signal, SIGKILL after ``timeout`` seconds (None: the container's own stop timeout, else 10)."""
        cid = self._records.find(ref)
        live = self.state(cid).live
        if live:  # docker's: the stop signal as a kill event, then die (from the monitor), then stop
            record = self._records.record(cid)
            self._records.event("kill", record, signal=_signal_number(record.config.stop_signal.upper()
                                                                      .removeprefix("SIG")))
        self._lifecycle.stop(cid, timeout)
        if live:
            self._records.event("stop", record)
        return cid

    def restart(self, ref: str, timeout: float | None = None) -> str:
        cid = self.start(self.stop(ref, timeout))
        self._records.event("restart", self._records.record(cid))
        return cid

    def kill(self, ref: str, signal: str = "KILL") -> str:
        """docker kill: the signal, and no restart after it (whatever the policy); a paused container is thawed
        after it, so that it is delivered. SIGKILL returns once the end is recorded, as dockerd's does: a ``rm``
        right after it must find the container exited; another signal returns once sent. A container between two
        runs of its restart policy is only kept from running again."""
        cid = self._records.find(ref)
        state = self.state(cid)
        transition(cid, State(state.status), Event.KILL)
        self._records.paths(cid).stop_marker.touch()
        name = signal.upper().removeprefix("SIG")
        number = _signal_number(name)
        if state.status == "restarting":  # dockerd's: between two runs the stop marker is enough (no event)
            self._lifecycle.signal(cid, name)  # unless the next run began meanwhile
        else:
            # told before it is sent: the monitor's die, which it may cause at once, must follow it in the log
            self._records.event("kill", self._records.record(cid), signal=number)
            self._runc.kill(cid, name)
        self._lifecycle.thaw(cid, state)
        if number == "9":
            self._lifecycle.wait_killed(cid)
        return cid

    def pause(self, ref: str) -> str:
        """Freeze the container's processes (``runc pause``); its monitor, network and ports stay."""
        cid = self._records.find(ref)
        transition(cid, State(self.state(cid).status), Event.PAUSE)
        self._runc.pause(cid)
        self._records.update_state(cid, lambda s: s.replace(status="paused") if s.status == "running" else s)
        self._records.event("pause", self._records.record(cid))
        return cid

    def unpause(self, ref: str) -> str:
        cid = self._records.find(ref)
        transition(cid, State(self.state(cid).status), Event.UNPAUSE)
        self._runc.resume(cid)
        self._records.update_state(cid, lambda s: s.replace(status="running") if s.status == "paused" else s)
        self._records.event("unpause", self._records.record(cid))
        return cid

    def rename(self, ref: str, name: str) -> str:
        """A new name, in any state: the new name is claimed before the old one is let go, so a name taken
        meanwhile fails the rename and leaves the container as it was."""
        from portside.engine.config import check_name

        cid = self._records.find(ref)
        new = check_name(name.lstrip("/"))
        old = self._records.record(cid).name
        if new == old:
            raise InvalidArgument(f"renaming a container with the same name as its current name: {new}")
        self._records.claim_name(new, cid)
        try:
            record = self._records.update_record(cid, lambda r: r.replace(name=new))
        except BaseException:
            self._records.release_name(new, cid)
            raise
        self._records.release_name(old, cid)
        self._records.event("rename", record, oldName="/" + old)
        state = self.state(cid)
        if state.live and state.endpoints:  # its user networks' DNS answers to the new name at once
            endpoints = self._networking.rename(record.replace(name=old), new, state.endpoints)
            self._records.update_state(cid, lambda s: s.replace(endpoints=tuple(
                next((e for e in endpoints if e.network_id == x.network_id), x) for x in s.endpoints)))
        return cid

    def update(self, ref: str, change: Resources) -> str:
        """docker update: new limits and restart policy in the record, for every later start and exit, and the
        limits applied at once to the cgroups of a running container."""
        from portside.engine import update

        cid = self._records.find(ref)
        record = self._records.record(cid)
        host = update.apply(record.host, change)
        if self.state(cid).status in ("running", "paused"):  # restarting: the next run's cgroup has them
            update.to_cgroup(self._runc, cid, record.host, host)
        record = self._records.update_record(cid, lambda r: r.replace(host=host))
        self._records.event("update", record)
        return cid

    def prune(self, keep: Callable[[Container], bool] = lambda c: False) -> tuple[list[str], int]:
        """Remove every container that does not run (``keep`` spares some: docker's prune filters); returns
        their ids and the bytes their writable layers held."""
        removed, reclaimed = [], 0
        for container in self.containers(all=True):
            if container.state.live or keep(container):
                continue
            cid = container.record.id
            size = self.size(cid)[0]
            try:
                self.remove(cid)
            except (ContainerNotFound, InvalidTransition):
                continue  # removed, or started, meanwhile
            removed.append(cid)
            reclaimed += size
        return removed, reclaimed

    def size(self, ref: str) -> tuple[int, int]:
        """(bytes written in the container's layer, those plus its image's): docker's SizeRw and SizeRootFs."""
        cid = self._records.find(ref)
        from portside.engine.volumes import disk_usage

        written = disk_usage(self._records.paths(cid).dir / "upper")
        try:
            image = self.images.resolve(self._records.record(cid).image).size
        except PortsideError:
            image = 0
        return written, written + image

    def signal(self, ref: str, signal: str) -> bool:
        """Pass ``signal`` to the container's process as it is (docker's --sig-proxy): unlike ``kill``, it changes
        nothing about restarts. False when there is nothing to signal."""
        return self._lifecycle.signal(self._records.find(ref), signal)

    def wait(self, ref: str, condition: str = "not-running", gone: Callable[[], bool] | None = None) -> int:
        """The exit code once ``condition`` holds (docker's wait conditions): ``not-running`` (at once for a
        container that does not run; else at the end of its run, even if its restart policy starts it again),
        ``next-exit`` (the end of its next run, waiting for a start if it does not run) or ``removed`` (its end,
        and then its removal). ``gone``: true once nobody waits any more (a client of the Docker API hung up);
        checked every few seconds, it ends the wait with WaitAbandoned."""
        waiting = self.waiting(ref, condition)
        try:
            return waiting.result(gone)
        finally:
            waiting.close()

    def waiting(self, ref: str, condition: str = "not-running") -> Waiting:
        """A wait registered now (the container looked up, ContainerNotFound at once if it is not there) and
        answered by its ``result``, which sees every end from now on, a ``--rm`` container's included; ``close``
        must follow (``engine/waiting.py``)."""
        check_condition(condition)
        return Waiting(self._lifecycle, self._records.find(ref), condition)

    def monitor_pid(self, ref: str) -> int:
        """The pid whose end means "the end is recorded" (the monitor's), for a caller that watches it with a
        pidfd; 0 when the container does not run."""
        state = self.state(self._records.find(ref))
        return state.monitor_pid if state.live else 0

    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> str:
        """Delete the container (with ``force``, a running one: killed first); with ``volumes``, its anonymous
        volumes too, that no other container uses."""
        cid = self._records.find(ref)
        state = self.state(cid)
        transition(cid, State(state.status), Event.FORCE_REMOVE if force else Event.REMOVE)
        if state.live:
            self._records.paths(cid).stop_marker.touch()
            self._records.event("kill", self._records.record(cid), signal="9")
            self._lifecycle.stop(cid, timeout=0, signal="KILL")
        record = self._records.record(cid)
        shared = record.host.network_mode.startswith("ns:")
        self._lifecycle.release(cid)
        self.destroy(cid)
        if volumes:
            self._remove_anonymous_volumes(record)
        if shared:
            from portside.engine.sandboxes import after_remove
            after_remove(self)
        return cid

    def _remove_anonymous_volumes(self, record: ContainerRecord) -> None:
        for mount in record.mounts:
            try:
                if mount.name and self.volumes.get(mount.name).anonymous and not self.volumes.users(mount.name):
                    self.volumes.remove(mount.name)
            except PortsideError:
                pass  # removed meanwhile

    def destroy(self, cid: str) -> None:
        """Delete the files and the name of a container that no longer runs. Its runc record is not touched: the
        monitor deletes it at every exit (perhaps at this moment), ``reconcile`` when the monitor could not."""
        record = self._records.record(cid)
        remove_tree(self._records.paths(cid).dir)
        self._records.release_name(record.name, cid)
        self._records.event("destroy", record)

    def state(self, cid: str) -> ContainerState:
        """The container's state (after re-adopting it if its monitor died); ContainerNotFound if it has none."""
        return self._lifecycle.state(cid)

    def record(self, ref: str) -> ContainerRecord:
        return self._records.record(self._records.find(ref))

    def container(self, ref: str) -> Container:
        """The record and the current state of one container."""
        cid = self._records.find(ref)
        return Container(self._records.record(cid), self.state(cid))

    def containers(self, all: bool = False) -> list[Container]:
        """The running containers, paused and restarting ones included (with ``all``, every one), newest first."""
        out = []
        for cid in self._records.ids():
            try:
                container = self.container(cid)
            except (ContainerNotFound, FileNotFoundError):
                continue  # removed while we looked
            if all or container.state.live:
                out.append(container)
        return sorted(out, key=lambda c: c.record.created, reverse=True)

    def inspect(self, ref: str) -> dict:
        """docker's inspect JSON (what users and the Docker API see)."""
        from portside.engine.inspect import inspect

        c = self.container(ref)
        return inspect(c.record, c.state, self._records.paths(c.record.id))

    def list(self, all: bool = False) -> list[dict]:
        """``containers`` as docker's inspect JSON, for ``ps``."""
        from portside.engine.inspect import inspect

        return [inspect(c.record, c.state, self._records.paths(c.record.id)) for c in self.containers(all)]

    def log_path(self, ref: str) -> Path:
        """The container's json-file log (``logfile.Follower`` reads it with the files rotated from it)."""
        return self._records.paths(self._records.find(ref)).log

    def logs(self, ref: str, tail: int | None = None, follow: bool = False, since: int = 0, until: int = 0,
             cancel: int = -1) -> Iterator[logfile.Entry]:
        """The log's entries, rotated files first; with ``follow``, then each new one as the monitor appends it
        (inotify on the container's directory wakes us, which also sees a rotation), until the container is no
        longer running, or ``cancel`` (a descriptor) becomes readable. ``since`` and ``until`` (nanoseconds since
        the epoch, 0 for none) keep the entries written in between, after ``tail`` took the last ones, as docker
        does; following ends at the first entry past ``until``."""
        cid = self._records.find(ref)
        paths = self._records.paths(cid)
        watch = _watch(paths.dir) if follow else None  # before the first read: no write in between is missed
        reader = logfile.Follower(paths.log)
        window = logfile.Window(since, until)
        try:
            yield from window.pick(reader.start(tail))
            while follow and not window.passed:
                state = self.state(cid)
                if state.live:
                    wait_output(state.monitor_pid or state.pid, watch, FOLLOW_RECHECK_S, cancel)
                    if _readable(cancel):
                        return
                yield from window.pick(reader.more())
                follow = state.live
        finally:
            reader.close()
            if watch is not None:
                watch.close()

    def exec(self, ref: str, argv: list[str], stdio: tuple[int, int, int], env: list[str] = (),
             user: str = "", workdir: str = "", timeout: float | None = None, tty: bool = False,
             started=None) -> int:
        """Run ``argv`` in the running container; with ``timeout``, kill it then and raise TimeoutError; with
        ``tty``, on a terminal of its own whose other end is ``stdio`` (``started`` then gets runc's pid)."""
        cid = self._records.find(ref)
        state = self.state(cid)
        if state.status != "running":
            raise InvalidTransition(cid, state.status, "exec in it (it is not running)")
        return self._runc.exec(cid, argv, stdio=stdio, env=list(env), cwd=workdir or None, user=user or None,
                               timeout=timeout, tty=tty, started=started)

    @property
    def execs(self):
        """docker's exec instances (``exec create``, ``start``, ``inspect``, ``resize``): see ``execs.py``."""
        from portside.engine.execs import Execs

        return Execs(self._records, self._runc, self.state,
                     allow_privileged=bool(self.settings().get("allow_privileged", False)))

    def exec_create(self, ref: str, spec) -> str:
        """A new exec instance (an ``execs.ExecSpec``) in the running container; returns its id."""
        return self.execs.create(self._records.find(ref), spec)

    def stats(self, ref: str):
        """One usage ``Sample`` (engine/usage.py): cgroup, network and host CPU counters, read together."""
        from portside.engine.usage import sample

        cid = self._records.find(ref)
        return sample(self.cgroups_path(cid), self.state(cid), self._records.record(cid).host.network_mode)

    def top(self, ref: str, ps_args: str = ""):
        """The container's processes as ``ps ps_args`` (default ``-ef``) shows them (a ``usage.Top``)."""
        from portside.engine.usage import top

        cid = self._records.find(ref)
        return top(cid, self.cgroups_path(cid), self.state(cid), ps_args)

    # -- files (engine/files.py): cp, diff, export -----------------------------------------------------------

    @property
    def files(self):
        from portside.engine.files import ContainerFiles

        return ContainerFiles(self._records, lambda: self.images)

    def changes(self, ref: str) -> list:
        """What the container changed in its image's files (``Change``s, docker's diff)."""
        return self.files.changes(self._records.find(ref))

    def export(self, ref: str, out) -> None:
        """The container's root filesystem as a tar written to ``out``, running or not."""
        self.files.export(self._records.find(ref), out)

    def stat_path(self, ref: str, path: str):
        """``path``'s ``PathStat`` inside the container; NotFound in docker's words when it is missing."""
        return self.files.stat(self._records.find(ref), path, ref)

    def archive(self, ref: str, path: str):
        """An open ``Archive`` of ``path`` (its stat now, its tar by ``write(out)``); close it after."""
        return self.files.archive(self._records.find(ref), path, ref)

    def extract(self, ref: str, path: str, source, allow_overwrite_dir: bool = True,
                copy_uid_gid: bool = False) -> None:
        """Unpack a tar read from ``source`` into the directory ``path`` of the container (running or not).
        ``copy_uid_gid``: the files belong to the container's user (``--user``) rather than the tar's owners."""
        cid = self._records.find(ref)
        owner = None
        user = self._records.record(cid).config.user
        if copy_uid_gid and user:
            owner = self.files.owner(cid, user)
        self.files.extract(cid, path, source, ref, allow_overwrite_dir, owner)

    def port(self, ref: str) -> tuple[PortBinding, ...]:
        """The published ports as bound while it runs (any host port 0 resolved); none when it does not run."""
        state = self.state(self._records.find(ref))
        return state.network.ports if state.status == "running" else ()

    @property
    def volumes(self):
        from portside.engine.volumes import Volumes

        return Volumes(self.root, self._records)

    def upper_dir(self, ref: str) -> Path:
        """The container's writable layer, where its changes to the image are (``commit`` reads it)."""
        return self._records.paths(self._records.find(ref)).dir / "upper"

    def using_image(self, image_id: str) -> list[str]:
        ids = []
        for cid in self._records.ids():
            try:
                if self._records.record(cid).image == image_id:
                    ids.append(cid)
            except (FileNotFoundError, ValueError, KeyError):
                continue
        return ids


def _signal_number(name: str) -> str:
    """docker's ``signal`` attribute: the number (``kill`` takes a name or a number)."""
    import signal

    if name.isdigit():
        return name
    try:
        return str(signal.Signals["SIG" + name].value)
    except KeyError:
        return name


def containers_using_image(root: Path, image_id: str) -> list[str]:
    """For ``rmi``: ids of containers (in any state) created from ``image_id``."""
    return Engine(root).using_image(image_id)




def _readable(fd: int) -> bool:
    import select

    return fd >= 0 and bool(select.select([fd], [], [], 0)[0])


def _watch(path: Path):
    """A watch on the container's directory (its log, and the rotated files it becomes), or None when it cannot
    be watched: then followers poll."""
    from portside.runtime.inotify import FileWatch

    try:
        return FileWatch(path)
    except OSError:
        return None
