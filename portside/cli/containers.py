"""Container commands with docker's names and flags: run, create, start, stop, kill, restart, rm, wait, exec,
attach, rename, pause, unpause, update, and ``container`` (prune, and docker's ``container VERB`` spellings).

The listing and reading commands (ps, logs, inspect, port, stats, volume) live in ``container_info.py``; they are
registered here because the dispatcher maps every container command to this module. Nothing heavy is imported at
module level: ``portside run`` pays only for what it uses.
"""

from __future__ import annotations

import gc
import os
import sys
from functools import wraps
from pathlib import Path

from portside.cli.flags import HelpRequested, Parser, flag
from portside.cli.main import exit_now, own_process
from portside.cli.runopts import RUN_FLAGS, config_from
from portside.runtime.errors import PortsideError


def command(func):
    """One error line (``portside: ...``) and docker's exit codes for every failure a user can cause."""
    @wraps(func)
    def run(argv: list[str], root: str) -> int:
        try:
            return func(argv, root)
        except HelpRequested:
            return 0
        except KeyboardInterrupt:  # logs -f, stats, wait: Ctrl-C is the normal way out
            return 130
        except PortsideError as exc:
            from portside.cli.main import fail

            return exc.exit_code if exc.reported else fail(str(exc), exc.exit_code)
    return run


def engine_at(root: str):
    from portside.engine.engine import Engine

    return Engine(Path(root), caller_exits=own_process())


def each(command: str, kind: str, refs: list[str], action, *, echo: bool = True,
         ignored: type[PortsideError] | tuple[type[PortsideError], ...] = ()) -> int:
    """Docker's commands over several names, for containers, networks and volumes alike: ``action`` on each ref
    even when an earlier one failed (printing the ref after it when ``echo``), each failure one ``portside: ...``
    line, exit 1 if any failed. An error of an ``ignored`` type (``rm -f`` of a missing name) is no failure."""
    if not refs:
        from portside.runtime.errors import InvalidArgument

        raise InvalidArgument(f"{command}: requires at least one {kind} argument")
    failed = 0
    for ref in refs:
        try:
            action(ref)
            if echo:
                print(ref)
        except ignored:
            pass
        except PortsideError as exc:
            sys.stderr.write(f"portside: {exc}\n")
            failed = 1
    return failed


def _parse_create(name: str, argv: list[str], flags: list) -> tuple[dict, object]:
    opts, args = Parser(name, "[OPTIONS] IMAGE [COMMAND] [ARG...]", flags).parse(argv)
    if not args:
        from portside.runtime.errors import InvalidArgument

        raise InvalidArgument(f"{name}: requires an IMAGE argument")
    return opts, config_from(opts, args)


@command
def cmd_create(argv: list[str], root: str) -> int:
    _, cfg = _parse_create("create", argv, [f for f in RUN_FLAGS if f.dest != "detach"])
    print(engine_at(root).create(cfg))
    return 0


@command
def cmd_run(argv: list[str], root: str) -> int:
    if own_process():
        # This process ends in os._exit, soon: the collector's passes over the engine's imports (a dozen, about
        # a millisecond) would free nothing that matters. The monitor forked from here turns it back on.
        gc.disable()
    opts, cfg = _parse_create("run", argv, RUN_FLAGS)
    if not opts["detach"]:
        from portside.cli.attach import check_terminal

        check_terminal(opts["tty"], opts["interactive"])
    engine = engine_at(root)
    cid = engine.create(cfg)
    if opts["detach"]:
        _start_or_remove(engine, cid, lambda: engine.start(cid))
        sys.stdout.write(cid + "\n")
        return exit_now(0)
    if opts["tty"]:
        return exit_now(_on_terminal(engine, cid, stdin=opts["interactive"]))
    return exit_now(_attached(engine, cid, stdin=0 if opts["interactive"] else None))


def _start_or_remove(engine, cid: str, start):
    """``run`` leaves nothing behind when the container cannot start (e.g. its command is missing)."""
    try:
        return start()
    except BaseException:
        try:
            engine.remove(cid, force=True)
        except PortsideError:
            pass
        raise


def _attached(engine, cid: str, stdin: int | None) -> int:
    """Foreground run: the container's output reaches this command's stdout and stderr until it exits; exit with
    its code. The monitor writes to them itself, and with ``-i`` the container reads this command's stdin (the
    monitor hands the descriptor to runc)."""
    from portside.cli.attach import FORWARDED, SignalProxy, exit_code

    sys.stdout.flush()
    sys.stderr.flush()
    from portside.cli import main

    proxy = SignalProxy(engine, cid)  # before the start: the output may reach the user before we hear "started"
    # Served by a daemon: the monitor tells the client the code itself, first; and this process, which would
    # only wait for the exit, becomes that monitor instead of forking one (see ``monitor.start_in_place``). It
    # says so to the daemon before the start: then a client that goes at the first sight of the output leaves
    # the container monitored, and its signals wait in the connection until the monitor reads them.
    teller = main.report_exit
    tell = (teller.fileno(), teller) if teller is not None else None
    out, err = _open_or_null(1), _open_or_null(2)
    in_place = teller is not None
    if in_place:
        teller.hand_over()
    handle = _start_or_remove(engine, cid, lambda: engine.start_attached(cid, out, err, stdin, tell, in_place))
    proxy.started()
    if in_place:
        handle.serve(FORWARDED)  # never returns
    return exit_code(handle)


def _open_or_null(fd: int) -> int:
    """``fd``, or /dev/null in its place when the caller closed it (``portside run ... >&-``)."""
    try:
        os.fstat(fd)
        return fd
    except OSError:
        return os.open(os.devnull, os.O_WRONLY)


def _on_terminal(engine, cid: str, stdin: bool) -> int:
    """Foreground ``run -t``: attached before the start, so the first prompt shows; Ctrl-P Ctrl-Q detaches."""
    from portside.cli.attach import DETACHED, exit_code, session
    from portside.runtime.attach import Attachment, pair

    ours, theirs = pair()
    try:
        handle = _start_or_remove(engine, cid, lambda: engine.start_interactive(cid, theirs.fileno()))
    finally:
        theirs.close()
    conn = Attachment(ours)
    try:
        if session(engine, cid, conn, stdin=stdin, tty=True) == DETACHED:
            handle.close()
            return 0
    finally:
        conn.close()
    return exit_code(handle)


@command
def cmd_attach(argv: list[str], root: str) -> int:
    flags = [flag("--no-stdin", "no_stdin", help="do not attach stdin"),
             flag("--detach-keys", "detach_keys", "value", "keys that detach, e.g. ctrl-p,ctrl-q (the default)")]
    opts, args = Parser("attach", "[OPTIONS] CONTAINER", flags).parse(argv)
    if len(args) != 1:
        from portside.runtime.errors import InvalidArgument

        raise InvalidArgument("attach: requires exactly one CONTAINER argument")
    from portside.cli.attach import DETACH_KEYS, DETACHED, check_terminal, parse_keys, session

    engine = engine_at(root)
    cid = engine.find(args[0])
    config = engine.record(cid).config
    stdin = config.open_stdin and not opts["no_stdin"]
    check_terminal(config.tty, stdin)
    keys = parse_keys(opts["detach_keys"]) if opts["detach_keys"] is not None else DETACH_KEYS
    conn = engine.attach(cid)
    try:
        ended = session(engine, cid, conn, stdin=stdin, tty=config.tty, detach_keys=keys)
    finally:
        conn.close()
    return 0 if ended == DETACHED else engine.wait(cid)


@command
def cmd_start(argv: list[str], root: str) -> int:
    _, refs = Parser("start", "CONTAINER [CONTAINER...]", [], interspersed=True).parse(argv)
    engine = engine_at(root)
    return each("start", "CONTAINER", refs, engine.start)


@command
def cmd_stop(argv: list[str], root: str) -> int:
    flags = [flag("-t --time --timeout", "time", "value", "seconds to wait before SIGKILL (default 10)")]
    opts, refs = Parser("stop", "[OPTIONS] CONTAINER [CONTAINER...]", flags, interspersed=True).parse(argv)
    timeout = _seconds(opts["time"], "stop")
    engine = engine_at(root)
    return each("stop", "CONTAINER", refs, lambda ref: engine.stop(ref, timeout))


@command
def cmd_restart(argv: list[str], root: str) -> int:
    flags = [flag("-t --time --timeout", "time", "value", "seconds to wait before SIGKILL (default 10)")]
    opts, refs = Parser("restart", "[OPTIONS] CONTAINER [CONTAINER...]", flags, interspersed=True).parse(argv)
    timeout = _seconds(opts["time"], "restart")
    engine = engine_at(root)
    return each("restart", "CONTAINER", refs, lambda ref: engine.restart(ref, timeout))


@command
def cmd_kill(argv: list[str], root: str) -> int:
    flags = [flag("-s --signal", "signal", "value", "signal to send (default KILL)")]
    opts, refs = Parser("kill", "[OPTIONS] CONTAINER [CONTAINER...]", flags, interspersed=True).parse(argv)
    engine = engine_at(root)
    return each("kill", "CONTAINER", refs, lambda ref: engine.kill(ref, opts["signal"] or "KILL"))


@command
def cmd_rm(argv: list[str], root: str) -> int:
    flags = [flag("-f --force", "force", help="kill a running container first"),
             flag("-v --volumes", "volumes", help="remove its anonymous volumes too")]
    opts, refs = Parser("rm", "[OPTIONS] CONTAINER [CONTAINER...]", flags, interspersed=True).parse(argv)
    engine = engine_at(root)
    return each("rm", "CONTAINER", refs, lambda ref: engine.remove(ref, force=opts["force"], volumes=opts["volumes"]))


@command
def cmd_wait(argv: list[str], root: str) -> int:
    flags = [flag("--condition", "condition", "value", "not-running (default), next-exit or removed")]
    opts, refs = Parser("wait", "[OPTIONS] CONTAINER [CONTAINER...]", flags, interspersed=True).parse(argv)
    engine = engine_at(root)
    condition = opts["condition"] or "not-running"
    return each("wait", "CONTAINER", refs, lambda ref: print(engine.wait(ref, condition)), echo=False)


@command
def cmd_exec(argv: list[str], root: str) -> int:
    flags = [flag("-d --detach", "detach", help="run the command in the background"),
             flag("-i --interactive", "interactive", help="keep stdin open"),
             flag("-t --tty", "tty", help="give the command a terminal (with -i: this one's keys)"),
             flag("-e --env", "env", "list", "set an environment variable"),
             flag("-u --user", "user", "value", "UID[:GID]"), flag("-w --workdir", "workdir", "value", "directory")]
    opts, args = Parser("exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", flags).parse(argv)
    if len(args) < 2:
        from portside.runtime.errors import InvalidArgument

        raise InvalidArgument("exec: requires a CONTAINER and a COMMAND")
    if opts["detach"]:
        from portside.engine.execs import ExecSpec

        engine = engine_at(root)
        spec = ExecSpec(args[1:], env=opts["env"], user=opts["user"] or "", workdir=opts["workdir"] or "",
                        tty=opts["tty"], stdout=False, stderr=False)
        engine.execs.start_detached(engine.exec_create(args[0], spec))
        return 0
    with open(os.devnull, "rb") as null:
        stdin = 0 if opts["interactive"] else null.fileno()
        return engine_at(root).exec(args[0], args[1:], (stdin, 1, 2), env=opts["env"], user=opts["user"] or "",
                                    workdir=opts["workdir"] or "", tty=opts["tty"])


def _seconds(text: str | None, name: str) -> float | None:
    """``-t``'s seconds; None when not given: the container's own --stop-timeout, else 10."""
    if text is None:
        return None
    from portside.engine.config import parse_int

    return parse_int(text, f"{name} -t", 0)


@command
def cmd_rename(argv: list[str], root: str) -> int:
    _, args = Parser("rename", "CONTAINER NEW_NAME", []).parse(argv)
    if len(args) != 2:
        from portside.runtime.errors import InvalidArgument

        raise InvalidArgument("rename: requires exactly 2 arguments: CONTAINER NEW_NAME")
    engine_at(root).rename(args[0], args[1])
    return 0


@command
def cmd_pause(argv: list[str], root: str) -> int:
    _, refs = Parser("pause", "CONTAINER [CONTAINER...]", [], interspersed=True).parse(argv)
    engine = engine_at(root)
    return each("pause", "CONTAINER", refs, engine.pause)


@command
def cmd_unpause(argv: list[str], root: str) -> int:
    _, refs = Parser("unpause", "CONTAINER [CONTAINER...]", [], interspersed=True).parse(argv)
    engine = engine_at(root)
    return each("unpause", "CONTAINER", refs, engine.unpause)


UPDATE_FLAGS = [
    flag("-m --memory", "memory", "value", "memory limit, e.g. 256m"),
    flag("--cpus", "cpus", "value", "CPU quota in cores, e.g. 1.5"),
    flag("-c --cpu-shares", "cpu_shares", "value", "relative CPU weight"),
    flag("--cpu-quota", "cpu_quota", "value", "CFS quota in microseconds (-1: none)"),
    flag("--cpu-period", "cpu_period", "value", "CFS period in microseconds"),
    flag("--pids-limit", "pids_limit", "value", "maximum number of processes (-1: no limit)"),
    flag("--restart", "restart", "value", "no | on-failure[:N] | always | unless-stopped"),
]


@command
def cmd_update(argv: list[str], root: str) -> int:
    """New limits, applied now to a running container and kept for its later starts."""
    opts, refs = Parser("update", "[OPTIONS] CONTAINER [CONTAINER...]", UPDATE_FLAGS, interspersed=True).parse(argv)
    from portside.engine import config as c

    def number(name: str, flag_name: str, minimum: int | None = None) -> int | None:
        return c.parse_int(opts[name], flag_name, minimum) if opts[name] is not None else None

    change = c.Resources(
        memory=c.parse_memory(opts["memory"]) if opts["memory"] else None,
        cpus=c.parse_cpus(opts["cpus"]) if opts["cpus"] else None,
        cpu_shares=number("cpu_shares", "--cpu-shares", 2), cpu_quota=number("cpu_quota", "--cpu-quota", -1),
        cpu_period=number("cpu_period", "--cpu-period", 0), pids_limit=number("pids_limit", "--pids-limit", -1),
        restart=opts["restart"])
    engine = engine_at(root)
    return each("update", "CONTAINER", refs, lambda ref: engine.update(ref, change))


@command
def cmd_container_prune(argv: list[str], root: str) -> int:
    flags = [flag("-f --force", "force", help="do not ask for confirmation"),
             flag("--filter", "filter", "list", "label=KEY[=VALUE], label!=KEY[=VALUE] or until=TIMESTAMP")]
    opts, args = Parser("container prune", "[OPTIONS]", flags).parse(argv)
    if args:
        from portside.runtime.errors import InvalidArgument

        raise InvalidArgument(f"container prune: takes no arguments, got {args[0]!r}")
    from portside.engine.pruning import prune_filter

    filters: dict[str, list[str]] = {}
    for key, value in map(_filter_pair, opts["filter"]):
        filters.setdefault(key, []).append(value)
    keep = prune_filter(filters)
    if not opts["force"] and not _confirm("WARNING! This will remove all stopped containers.\n"
                                          "Are you sure you want to continue? [y/N] "):
        return 0
    removed, reclaimed = engine_at(root).prune(keep)
    if removed:
        print("Deleted Containers:")
        print("\n".join(removed))
        print()
    from portside.engine.pruning import human_size

    print(f"Total reclaimed space: {human_size(reclaimed)}")
    return 0


def _filter_pair(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq:
        from portside.runtime.errors import InvalidArgument

        raise InvalidArgument(f"container prune --filter {text!r}: expected KEY=VALUE")
    return key, value


def _confirm(question: str) -> bool:
    sys.stdout.write(question)
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _info(name: str):
    def run(argv: list[str], root: str) -> int:
        from portside.cli import container_info

        return getattr(container_info, "cmd_" + name)(argv, root)
    return run


cmd_ps = _info("ps")
cmd_logs = _info("logs")
cmd_inspect = _info("inspect")
cmd_port = _info("port")
cmd_stats = _info("stats")
cmd_volume = _info("volume")


def _files(name: str):
    def run(argv: list[str], root: str) -> int:
        from portside.cli import container_files

        return getattr(container_files, "cmd_" + name)(argv, root)
    return run


cmd_cp = _files("cp")
cmd_diff = _files("diff")
cmd_export = _files("export")
cmd_container = _files("container")


def cmd_network(argv: list[str], root: str) -> int:
    from portside.cli.networks import cmd_network

    return cmd_network(argv, root)
