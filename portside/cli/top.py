"""``portside top services``: connections, bytes and errors per Service endpoint, as the proxy last published them.

The proxy publishes its counters in the ConfigMap ``kube-system/portside-proxy-metrics`` (see
``portside.proxy.metrics``); this command reads it through the API like any client, so it needs only a kubeconfig:
``--kubeconfig FILE``, else ``$KUBECONFIG``, else the one ``portside up`` wrote in its data directory.
"""

from __future__ import annotations

import asyncio
import json
import sys

from portside.cli.flags import HelpRequested, Parser, flag
from portside.runtime.errors import InvalidArgument

TOP = Parser("top", "services [OPTIONS]", [
    flag("--kubeconfig", "kubeconfig", "value", "kubeconfig of the cluster (default: $KUBECONFIG or DATA_DIR's)",
         "FILE"),
    flag("--data-dir", "data_dir", "value", "the data directory 'up' was started with", "DIR"),
    flag("-n --namespace", "namespace", "value", "only Services of this namespace", "NS"),
    flag("-o --output", "output", "value", "table (default) or json", "FORMAT"),
], interspersed=True)
HEADER = ["SERVICE", "ENDPOINT", "PLANE", "CONNECTIONS", "ACTIVE", "BYTES-IN", "BYTES-OUT", "ERRORS"]


def _fail(message: str, code: int = 125) -> int:
    sys.stderr.write(f"portside: {message}\n")
    return code


async def _fetch(kubeconfig: str) -> dict[str, str]:
    from portside.client import Client, NotFound
    from portside.proxy.metrics import CONFIGMAP, NAMESPACE
    async with Client.from_kubeconfig(kubeconfig) as client:
        try:
            return (await client.get("configmaps", CONFIGMAP, NAMESPACE)).data or {}
        except NotFound:
            return {}


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    return "".join("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n" for r in [HEADER, *rows])


def _parse(argv: list[str]) -> dict:
    opts, args = TOP.parse(argv)
    if args != ["services"] and args != ["svc"]:
        raise InvalidArgument(f"top: expected 'services', got {' '.join(args) or 'nothing'}")
    if opts["output"] not in (None, "table", "json"):
        raise InvalidArgument(f"top: --output: expected table or json, got {opts['output']!r}")
    return opts


def cmd_top(argv: list[str], root: str) -> int:
    try:
        opts = _parse(argv)
    except HelpRequested:
        return 0
    except InvalidArgument as exc:
        return _fail(str(exc), 2)
    from portside.client import ApiError, ConfigError
    from portside.proxy.metrics import rows
    try:
        from portside.cli.cluster import kubeconfig_path
        data = asyncio.run(_fetch(kubeconfig_path(opts)))
    except (ConfigError, ApiError, OSError) as exc:
        return _fail(f"top: {exc}", 1)
    if opts["namespace"]:
        data = {k: v for k, v in data.items() if k.split(".", 1)[0] == opts["namespace"]}
    if opts["output"] == "json":
        sys.stdout.write(json.dumps({k.replace(".", "/", 1): json.loads(v) for k, v in data.items()}, indent=2) + "\n")
    else:
        sys.stdout.write(_table(rows(data)))
    return 0
