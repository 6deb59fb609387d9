"""``portside network``: docker's network commands (create, ls, inspect, rm, prune, connect, disconnect).

Each one is a call of the engine (``Engine.networks``, ``Engine.connect``, ``Engine.disconnect``), which the
Docker API calls too; this module only parses docker's flags and prints docker's output.
"""

from __future__ import annotations

import json
import sys

from portside.cli.container_info import inspect_each, print_table
from portside.cli.containers import command, each, engine_at
from portside.cli.flags import Parser, flag
from portside.runtime.errors import InvalidArgument

USAGE = """usage: portside network COMMAND

Commands:
  create      Create a network
  connect     Connect a container to a network
  disconnect  Disconnect a container from a network
  inspect     Display detailed information on one or more networks
  ls          List networks
  prune       Remove all unused networks
  rm          Remove one or more networks
"""


@command
def cmd_network(argv: list[str], root: str) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 1
    sub = {"list": "ls", "remove": "rm"}.get(argv[0], argv[0])
    handler = SUBCOMMANDS.get(sub)
    if handler is None:
        raise InvalidArgument(f"network: unknown command {argv[0]!r} (expected create, connect, disconnect, "
                              "inspect, ls, prune or rm)")
    return handler(argv[1:], root)


def _create(argv: list[str], root: str) -> int:
    flags = [flag("--subnet", "subnet", "value", "subnet in CIDR form, e.g. 10.89.5.0/24 (default: from the pool)"),
             flag("--gateway", "gateway", "value", "the bridge's address (default: the subnet's first)"),
             flag("--ip-range", "ip_range", "value", "give containers addresses from this part of the subnet"),
             flag("--aux-address", "aux", "list", "NAME=IP: an address of the subnet never given out"),
             flag("--internal", "internal", help="no traffic in or out of the network"),
             flag("--label", "label", "list", "set a label KEY=VALUE"),
             flag("-d --driver", "driver", "value", "bridge (the only driver)")]
    opts, args = Parser("network create", "[OPTIONS] NETWORK", flags, interspersed=True).parse(argv)
    if len(args) != 1:
        raise InvalidArgument("network create: requires exactly one NETWORK argument")
    if opts["driver"] not in (None, "bridge"):
        raise InvalidArgument(f"network create: driver {opts['driver']!r} is not supported (only bridge)")
    from portside.engine.networks import parse_labels

    record = engine_at(root).networks.create(args[0], subnet=opts["subnet"] or "", gateway=opts["gateway"] or "",
                                             internal=opts["internal"], labels=parse_labels(opts["label"]),
                                             ip_range=opts["ip_range"] or "",
                                             aux_addresses=parse_labels(opts["aux"], "--aux-address"))
    print(record.id)
    return 0


def _ls(argv: list[str], root: str) -> int:
    flags = [flag("-q --quiet", "quiet", help="only ids"), flag("--no-trunc", "no_trunc", help="full ids"),
             flag("-f --filter", "filter", "list", "name=, id=, label=, driver=, type=custom|builtin, dangling="),
             flag("--format", "format", "value", "table (default) or json")]
    opts, _ = Parser("network ls", "[OPTIONS]", flags).parse(argv)
    if opts["format"] not in (None, "table", "json"):
        raise InvalidArgument(f"network ls: unsupported --format {opts['format']!r} (expected table or json)")
    from portside.engine import filters
    from portside.engine.networks import LIST_FILTERS

    records = engine_at(root).networks.select(filters.parse(opts["filter"], LIST_FILTERS))
    ids = [r.id if opts["no_trunc"] else r.id[:12] for r in records]
    if opts["quiet"]:
        sys.stdout.writelines(i + "\n" for i in ids)
    elif opts["format"] == "json":
        sys.stdout.writelines(json.dumps({"ID": i, "Name": r.name, "Driver": r.driver, "Scope": "local",
                                          "Internal": str(r.internal).lower(), "Labels": _labels(r.labels)}) + "\n"
                              for i, r in zip(ids, records))
    else:
        print_table(["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
                    [[i, r.name, r.driver, "local"] for i, r in zip(ids, records)])
    return 0


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _inspect(argv: list[str], root: str) -> int:
    return inspect_each(argv, "network inspect", "NETWORK", "{{.IPAM.Config}}", lambda: engine_at(root).networks.inspect)


def _rm(argv: list[str], root: str) -> int:
    flags = [flag("-f --force", "force", help="no error for a network that does not exist")]
    opts, refs = Parser("network rm", "NETWORK [NETWORK...]", flags, interspersed=True).parse(argv)
    from portside.runtime.errors import NetworkNotFound

    networks = engine_at(root).networks
    return each("network rm", "NETWORK", refs, networks.remove, ignored=NetworkNotFound if opts["force"] else ())


def _prune(argv: list[str], root: str) -> int:
    flags = [flag("-f --force", "force", help="do not ask for confirmation")]
    opts, _ = Parser("network prune", "[OPTIONS]", flags).parse(argv)
    if not opts["force"]:
        sys.stdout.write("WARNING! This will remove all custom networks not used by at least one container.\n"
                         "Are you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    removed = engine_at(root).networks.prune()
    if removed:
        sys.stdout.write("Deleted Networks:\n" + "".join(r.name + "\n" for r in removed))
    return 0


def _connect(argv: list[str], root: str) -> int:
    flags = [flag("--alias", "alias", "list", "a name the container answers to on this network"),
             flag("--ip", "ip", "value", "the container's IPv4 address on this network")]
    opts, args = Parser("network connect", "[OPTIONS] NETWORK CONTAINER", flags, interspersed=True).parse(argv)
    if len(args) != 2:
        raise InvalidArgument("network connect: requires a NETWORK and a CONTAINER")
    engine_at(root).connect(args[0], args[1], tuple(opts["alias"]), opts["ip"] or "")
    return 0


def _disconnect(argv: list[str], root: str) -> int:
    flags = [flag("-f --force", "force", help="accepted for docker compatibility")]
    _, args = Parser("network disconnect", "[OPTIONS] NETWORK CONTAINER", flags, interspersed=True).parse(argv)
    if len(args) != 2:
        raise InvalidArgument("network disconnect: requires a NETWORK and a CONTAINER")
    engine_at(root).disconnect(args[0], args[1])
    return 0


SUBCOMMANDS = {"create": _create, "ls": _ls, "inspect": _inspect, "rm": _rm, "prune": _prune, "connect": _connect,
               "disconnect": _disconnect}
