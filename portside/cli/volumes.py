"""``portside volume``: docker's volume commands (create, ls, inspect, rm, prune) over ``Engine.volumes``, which
the Docker API calls too; this module parses docker's flags and prints docker's output."""

from __future__ import annotations

import json
import sys

from portside.cli.container_info import inspect_each, print_table, render
from portside.cli.containers import each, engine_at
from portside.cli.flags import Parser, flag
from portside.runtime.errors import InvalidArgument

USAGE = """usage: portside volume COMMAND

Commands:
  create      Create a volume
  inspect     Display detailed information on one or more volumes
  ls          List volumes
  prune       Remove all unused volumes
  rm          Remove one or more volumes
"""


def cmd_volume(argv: list[str], root: str) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 1
    sub = {"list": "ls", "remove": "rm"}.get(argv[0], argv[0])
    handler = SUBCOMMANDS.get(sub)
    if handler is None:
        raise InvalidArgument(f"volume: unknown command {argv[0]!r} (expected create, inspect, ls, prune or rm)")
    return handler(argv[1:], root)


def _pairs(items: list[str], flag_name: str) -> dict[str, str]:
    from portside.engine.networks import parse_labels

    return parse_labels(items, flag_name)


def _create(argv: list[str], root: str) -> int:
    flags = [flag("-d --driver", "driver", "value", "volume driver (local, the only one)"),
             flag("--label", "label", "list", "set a label KEY=VALUE"),
             flag("-o --opt", "opt", "list", "driver option: type=none, o=bind, device=/host/dir"),
             flag("--name", "name", "value", "the volume's name")]
    opts, args = Parser("volume create", "[OPTIONS] [VOLUME]", flags, interspersed=True).parse(argv)
    if len(args) > 1 or (args and opts["name"] and args[0] != opts["name"]):
        raise InvalidArgument("volume create: at most one VOLUME name")
    name = opts["name"] or (args[0] if args else "")
    record = engine_at(root).volumes.create(name, _pairs(opts["label"], "--label"),
                                            _pairs(opts["opt"], "--opt") or None, driver=opts["driver"] or "local")
    print(record.name)
    return 0


def _ls(argv: list[str], root: str) -> int:
    from portside.engine import filters

    flags = [flag("-q --quiet", "quiet", help="only names"),
             flag("-f --filter", "filter", "list", "name=, label=, dangling=true|false, driver="),
             flag("--format", "format", "value", "table (default), json, or a template like '{{.Name}}'")]
    opts, _ = Parser("volume ls", "[OPTIONS]", flags).parse(argv)
    from portside.engine.volumes import LIST_FILTERS

    volumes = engine_at(root).volumes
    records = volumes.select(filters.parse(opts["filter"], LIST_FILTERS))
    if opts["quiet"]:
        sys.stdout.writelines(r.name + "\n" for r in records)
        return 0
    rows = [{"Driver": "local", "Labels": ",".join(f"{k}={v}" for k, v in (r.labels or {}).items()),
             "Mountpoint": str(volumes.mountpoint(r.name)), "Name": r.name, "Scope": "local",
             "CreatedAt": r.created} for r in records]
    if opts["format"] == "json":
        sys.stdout.writelines(json.dumps(row) + "\n" for row in rows)
    elif opts["format"] not in (None, "table"):
        sys.stdout.writelines(render(opts["format"], row) + "\n" for row in rows)
    else:
        print_table(["DRIVER", "VOLUME NAME"], [["local", row["Name"]] for row in rows])
    return 0


def _inspect(argv: list[str], root: str) -> int:
    return inspect_each(argv, "volume inspect", "VOLUME", "{{.Mountpoint}}", lambda: engine_at(root).volumes.inspect)


def _rm(argv: list[str], root: str) -> int:
    flags = [flag("-f --force", "force", help="remove even when in use; no error for a missing volume")]
    opts, names = Parser("volume rm", "[OPTIONS] VOLUME [VOLUME...]", flags, interspersed=True).parse(argv)
    from portside.runtime.errors import VolumeNotFound

    volumes, force = engine_at(root).volumes, opts["force"]
    return each("volume rm", "VOLUME", names, lambda name: volumes.remove(name, force=force),
                ignored=VolumeNotFound if force else ())


def _prune(argv: list[str], root: str) -> int:
    from portside.engine import filters
    from portside.engine.volumes import PRUNE_FILTERS

    flags = [flag("-f --force", "force", help="do not ask for confirmation"),
             flag("-a --all", "all", help="named volumes too, not only anonymous ones"),
             flag("--filter", "filter", "list", "label=, label!=")]
    opts, _ = Parser("volume prune", "[OPTIONS]", flags).parse(argv)
    wanted = filters.parse(opts["filter"], PRUNE_FILTERS)
    if not opts["force"]:
        what = "all local volumes" if opts["all"] else "all anonymous local volumes"
        sys.stdout.write(f"WARNING! This will remove {what} not used by at least one container.\n"
                         "Are you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    removed, freed = engine_at(root).volumes.prune(wanted, anonymous_only=not opts["all"])
    if removed:
        sys.stdout.write("Deleted Volumes:\n" + "".join(name + "\n" for name in removed) + "\n")
    print(f"Total reclaimed space: {_size(freed)}")
    return 0


def _size(n: int) -> str:
    """docker's HumanSize: decimal units, three significant digits."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.4g}{unit}" if unit != "B" else f"{n}B"
        n /= 1000
    return f"{n}B"


SUBCOMMANDS = {"create": _create, "ls": _ls, "inspect": _inspect, "rm": _rm, "prune": _prune}
