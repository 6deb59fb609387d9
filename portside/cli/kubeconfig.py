"""``portside kubeconfig --user NAME [--group G ...] -o FILE``: a kubeconfig for a named user of a cluster.

The user authenticates with a client certificate the cluster CA signs here (Common Name the user, Organizations
the groups), so nothing is stored on the server: what the user may do is what RBAC bindings to that name and
those groups grant (none at first). It needs the cluster's data directory (the CA key lives there) and reads the
server's address from the admin kubeconfig there, unless ``--server`` names another.
"""

from __future__ import annotations

import datetime
import os
import sys

import yaml

from portside.cli.flags import HelpRequested, Parser, flag
from portside.runtime.errors import InvalidArgument

KUBECONFIG = Parser("kubeconfig", "--user NAME [OPTIONS]", [
    flag("--data-dir", "data_dir", "value", "the cluster's data directory (its CA signs the certificate)", "DIR"),
    flag("--user", "user", "value", "the user name (the certificate's Common Name)", "NAME"),
    flag("--group", "group", "list", "a group the user is in (repeatable, or comma-separated)", "GROUP"),
    flag("--server", "server", "value", "the API server's URL (default: the admin kubeconfig's)", "URL"),
    flag("-n --namespace", "namespace", "value", "the context's namespace (default: default)", "NS"),
    flag("--days", "days", "value", "how long the certificate is valid (default 365)", "DAYS"),
    flag("-o --output", "output", "value", "where to write it (default: standard output)", "FILE"),
], interspersed=True)


def _fail(message: str, code: int = 125) -> int:
    sys.stderr.write(f"portside: {message}\n")
    return code


def _server(data_dir: str) -> str:
    path = os.path.join(data_dir, "kubeconfig.yaml")
    try:
        with open(path) as f:
            doc = yaml.safe_load(f) or {}
        return doc["clusters"][0]["cluster"]["server"]
    except (OSError, KeyError, IndexError, TypeError) as exc:
        raise InvalidArgument(f"kubeconfig: cannot read the server's address from {path} ({exc}); give --server"
                              ) from None


def _days(value: str | None) -> int:
    if value is None:
        return 365
    if not value.isdigit() or int(value) < 1:
        raise InvalidArgument(f"kubeconfig: --days: expected a whole number of days, at least 1, got {value!r}")
    return int(value)


def cmd_kubeconfig(argv: list[str], root: str) -> int:
    from portside.apiserver import usercerts
    from portside.cli.cluster import DEFAULT_DATA_DIR
    try:
        opts, args = KUBECONFIG.parse(argv)
        if args:
            raise InvalidArgument(f"kubeconfig: unexpected argument {args[0]!r}")
        if not opts["user"]:
            raise InvalidArgument("kubeconfig: --user NAME is required")
        data_dir = os.path.abspath(opts["data_dir"] or os.environ.get("PORTSIDE_DATA_DIR") or DEFAULT_DATA_DIR)
        pki = os.path.join(data_dir, "pki")
        if not os.path.exists(os.path.join(pki, "ca.key")):
            raise InvalidArgument(f"kubeconfig: {pki}/ca.key not found: is {data_dir} a cluster's data directory "
                                  f"(portside up --data-dir)?")
        server, days = opts["server"] or _server(data_dir), _days(opts["days"])
    except HelpRequested:
        return 0
    except InvalidArgument as exc:
        return _fail(str(exc), 2)
    groups = tuple(dict.fromkeys(g.strip() for value in opts["group"] for g in value.split(",") if g.strip()))
    from pathlib import Path
    cert, key = usercerts.issue(Path(pki), opts["user"], groups, datetime.timedelta(days=days))
    with open(os.path.join(pki, "ca.crt"), "rb") as f:
        text = usercerts.kubeconfig(server, f.read(), cert, key, opts["user"], opts["namespace"] or "default")
    if not opts["output"]:
        sys.stdout.write(text)
        return 0
    fd = os.open(opts["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    sys.stderr.write(f"portside: wrote {opts['output']} for user {opts['user']!r}"
                     f"{' in ' + ', '.join(groups) if groups else ''}\n")
    return 0
