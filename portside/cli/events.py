"""``portside events``: docker's ``events`` over the engine's event log (``engine/events.py``), which the Docker
API's ``/events`` reads too: the past since ``--since``, then what happens, until ``--until`` or Ctrl-C."""

from __future__ import annotations

import json
import select
import sys
import time
from pathlib import Path

from portside.cli.containers import command
from portside.cli.flags import Parser, flag


@command
def cmd_events(argv: list[str], root: str) -> int:
    from portside.engine import filters
    from portside.engine.events import FILTERS, EventLog, parse_time

    flags = [flag("--since", "since", "value", "events since this time (Unix time, RFC 3339, or a duration "
                                                "such as 10m)"),
             flag("--until", "until", "value", "events until this time; stream until then"),
             flag("-f --filter", "filter", "list", "type=, event=, container=, image=, network=, volume=, label="),
             flag("--format", "format", "value", "'{{json .}}', or a template like '{{.Type}} {{.Action}}'")]
    opts, args = Parser("events", "[OPTIONS]", flags).parse(argv)
    if args:
        from portside.runtime.errors import InvalidArgument

        raise InvalidArgument("events: takes no arguments")
    since = parse_time(opts["since"], "--since") if opts["since"] else None
    until = parse_time(opts["until"], "--until") if opts["until"] else None
    with EventLog(Path(root), since, until, filters.parse(opts["filter"], FILTERS)) as log:
        if since is None and until is None:
            log.skip_past()  # as docker: the past only when asked for
        else:
            _print(log.replay(), opts["format"])
        while not log.done():
            wait = None if log.until is None else max(0.0, (log.until - time.time_ns()) / 1e9) + 0.01
            select.select([log], [], [], wait)
            _print(log.more(), opts["format"])
    return 0


def _print(events: list[dict], template: str | None) -> None:
    from portside.engine.events import format_line, to_docker

    for event in events:
        if template is None:
            sys.stdout.write(format_line(event) + "\n")
        elif template.strip() in ("{{json .}}", "json"):
            sys.stdout.write(json.dumps(to_docker(event)) + "\n")
        else:
            from portside.cli.container_info import render

            sys.stdout.write(render(template, to_docker(event)) + "\n")
    sys.stdout.flush()
