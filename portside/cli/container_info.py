"""Reading commands: ps, logs, inspect, port, stats (and volume, in ``volumes.py``). Output follows docker's tables and JSON."""

from __future__ import annotations

import json
import sys
import time

from portside.cli.containers import command, engine_at
from portside.cli.flags import Parser, flag
from portside.runtime.errors import InvalidArgument


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for row in [headers] + rows:
        sys.stdout.write("   ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")


def status_text(info: dict) -> str:
    from portside.engine.listing import status_text as text

    return text(info["State"])


def ports_text(info: dict) -> str:
    return ", ".join(f"{b['HostIp']}:{b['HostPort']}->{port}" for port, binds in
                     info["NetworkSettings"]["Ports"].items() for b in binds or ())


def ps_row(info: dict, no_trunc: bool) -> dict:
    command = " ".join([info["Path"]] + info["Args"])
    return {"ID": info["Id"] if no_trunc else info["Id"][:12], "Image": info["Config"]["Image"],
            "Command": command if no_trunc else (command[:20] + "…" if len(command) > 20 else command),
            "CreatedAt": info["Created"], "Status": status_text(info), "State": info["State"]["Status"],
            "Ports": ports_text(info), "Names": info["Name"].lstrip("/")}


@command
def cmd_ps(argv: list[str], root: str) -> int:
    flags = [flag("-a --all", "all", help="include stopped containers"),
             flag("-q --quiet", "quiet", help="only ids"), flag("--no-trunc", "no_trunc", help="full ids"),
             flag("--format", "format", "value", "table (default) or json"),
             flag("-f --filter", "filter", "list", "KEY=VALUE: docker's id, name, label, status, ancestor, exited, "
                                                   "network, volume, health, before, since, publish, expose")]
    opts, _ = Parser("ps", "[OPTIONS]", flags).parse(argv)
    if opts["format"] not in (None, "table", "json"):
        raise InvalidArgument(f"ps: unsupported --format {opts['format']!r} (expected table or json)")
    rows = [ps_row(i, opts["no_trunc"]) for i in _listed(engine_at(root), opts["all"], opts["filter"])]
    if opts["quiet"]:
        sys.stdout.writelines(r["ID"] + "\n" for r in rows)
    elif opts["format"] == "json":
        sys.stdout.writelines(json.dumps(r) + "\n" for r in rows)
    else:
        keys = ["ID", "Image", "Command", "CreatedAt", "Status", "Ports", "Names"]
        from portside.engine.listing import human_duration, unix

        for r in rows:
            r["CreatedAt"] = human_duration(time.time() - unix(r["CreatedAt"])) + " ago"
        print_table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
                    [[r[k] for k in keys] for r in rows])
    return 0


def _listed(engine, all: bool, filter_args: list[str]) -> list[dict]:
    """The containers ``ps`` shows: the running ones (every one with ``-a`` or a status filter, as docker's)
    that pass every filter (the Docker API's list filters, from ``engine.listing``)."""
    if not filter_args:
        return engine.list(all=all)
    from portside.engine.listing import matcher
    from portside.runtime.errors import PortsideError

    filters: dict[str, list[str]] = {}
    for text in filter_args:
        key, eq, value = text.partition("=")
        if not eq:
            raise InvalidArgument(f"ps --filter {text!r}: expected KEY=VALUE")
        filters.setdefault(key, []).append(value)

    def image_id(ref: str) -> str | None:
        try:
            return engine.images.resolve(ref).id
        except PortsideError:
            return None
    infos = engine.list(all=True)
    keep = matcher(filters, infos, image_id)
    show_all = all or "status" in filters
    return [i for i in infos if (show_all or i["State"]["Running"]) and keep(i)]


@command
def cmd_logs(argv: list[str], root: str) -> int:
    flags = [flag("-f --follow", "follow", help="keep printing new output"),
             flag("-n --tail", "tail", "value", "lines from the end (or all)"),
             flag("-t --timestamps", "timestamps", help="prefix each line with its time")]
    opts, args = Parser("logs", "[OPTIONS] CONTAINER", flags, interspersed=True).parse(argv)
    if len(args) != 1:
        raise InvalidArgument("logs: requires exactly one CONTAINER argument")
    tail = None if opts["tail"] in (None, "all") else _int(opts["tail"], "logs --tail")
    for entry in engine_at(root).logs(args[0], tail=tail, follow=opts["follow"]):
        out = sys.stdout if entry.stream == "stdout" else sys.stderr
        out.write(f"{entry.time} {entry.text}" if opts["timestamps"] else entry.text)
        if opts["follow"]:
            out.flush()
    return 0


@command
def cmd_inspect(argv: list[str], root: str) -> int:
    return inspect_each(argv, "inspect", "CONTAINER", "{{.State.Status}}", lambda: engine_at(root).inspect)


def inspect_each(argv: list[str], command: str, kind: str, example: str, inspector) -> int:
    """docker's ``inspect`` of containers, networks or volumes: a JSON array of the objects named, or with
    ``--format`` one line rendered from each. ``inspector()`` gives the function that inspects one name; it is
    called only once the arguments are read, so that a usage error opens nothing."""
    flags = [flag("-f --format", "format", "value", f"print one field, e.g. '{example}'")]
    opts, refs = Parser(command, f"[OPTIONS] {kind} [{kind}...]", flags, interspersed=True).parse(argv)
    if not refs:
        raise InvalidArgument(f"{command}: requires at least one {kind} argument")
    inspect = inspector()
    infos = [inspect(ref) for ref in refs]
    if opts["format"]:
        sys.stdout.writelines(render(opts["format"], info) + "\n" for info in infos)
    else:
        print(json.dumps(infos, indent=4))
    return 0


def render(template: str, info: dict) -> str:
    """The ``{{.A.B}}`` subset of docker's Go templates: field paths, printed as docker prints them."""
    out, rest = "", template
    while "{{" in rest:
        before, _, rest = rest.partition("{{")
        expr, _, rest = rest.partition("}}")
        out += before + _field(info, expr.strip())
    return out + rest


def _field(info: dict, expr: str) -> str:
    if not expr.startswith("."):
        raise InvalidArgument(f"inspect --format: unsupported expression {expr!r} (expected a path like .State.Pid)")
    value = info
    for key in filter(None, expr.split(".")):
        if not isinstance(value, dict) or key not in value:
            raise InvalidArgument(f"inspect --format: no field {key!r} in {expr!r}")
        value = value[key]
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


@command
def cmd_port(argv: list[str], root: str) -> int:
    _, args = Parser("port", "CONTAINER [PRIVATE_PORT[/PROTO]]", [], interspersed=True).parse(argv)
    if len(args) not in (1, 2):
        raise InvalidArgument("port: requires a CONTAINER and at most one PRIVATE_PORT[/PROTO]")
    mappings = engine_at(root).port(args[0])
    for m in mappings:
        key = f"{m.container_port}/{m.protocol}"
        if len(args) == 1 or args[1] in (key, str(m.container_port)):
            print((f"{key} -> " if len(args) == 1 else "") + f"{m.host_ip or '0.0.0.0'}:{m.host_port}")
    return 0


@command
def cmd_stats(argv: list[str], root: str) -> int:
    flags = [flag("--no-stream", "no_stream", help="print one sample and exit")]
    opts, refs = Parser("stats", "[OPTIONS] [CONTAINER...]", flags, interspersed=True).parse(argv)
    from portside.cli.stats import show

    return show(engine_at(root), refs, stream=not opts["no_stream"])


@command
def cmd_volume(argv: list[str], root: str) -> int:
    from portside.cli.volumes import cmd_volume

    return cmd_volume(argv, root)


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidArgument(f"{what}: expected a number or 'all', got {text!r}") from None
