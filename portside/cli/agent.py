"""``portside agent``: run a node of a cluster whose server is elsewhere; ``portside agent stop``: stop it.

``agent`` runs in the foreground until SIGTERM or SIGINT, or with ``-d`` detaches as ``up -d`` does (its log in
``ROOT/agent/agent.log``; the parent returns once the node has joined). One agent per engine root (a lock in
``ROOT/agent``); ``stop --root DIR`` signals it and waits for its orderly stop. Pods keep running, for the next
agent to adopt.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys

from portside.cli.flags import HelpRequested, Parser, flag
from portside.runtime.errors import InvalidArgument

DETACH_TIMEOUT_S = 120.0
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                        r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_NODE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

AGENT = Parser("agent", "--server https://HOST:PORT --token TOKEN [OPTIONS] | stop --root DIR", [
    flag("--server", "server", "value", "the API server to join, as 'portside up' prints it; several servers of one "
                                      "cluster comma-separated, the agent moving to another when one stops "
                                      "answering", "URL[,URL...]"),
    flag("--token", "token", "value", "the join token (the server's DATA_DIR/node-token)", "TOKEN"),
    flag("--node-name", "node_name", "value", "this node's name (default: the host name)", "NAME"),
    flag("--root", "root", "value", "this node's engine root (default: the global --root)", "DIR"),
    flag("--node-ip", "node_ip", "value", "this node's address (default: the one it reaches the server from)",
         "IP"),
    flag("--labels", "labels", "list", "labels of the Node, k=v[,k=v...] (repeatable)", "LABELS"),
    flag("--taints", "taints", "list", "taints of the Node, k=v:Effect[,...] (repeatable)", "TAINTS"),
    flag("--metrics-period", "metrics_period", "value", "seconds between usage samples (default 10)", "SECONDS"),
    flag("--node-monitor-grace", "node_monitor_grace", "value", "the server's --node-monitor-grace (default 5; "
         "must match it): cut off this long plus a Job pod's unreachable toleration, the pod is stopped here, "
         "as the server replaces it elsewhere", "SECONDS"),
    flag("--resolv-conf", "resolv_conf", "value", "this node's resolver settings, for its cluster DNS's upstreams "
                                                  "and pods of dnsPolicy Default (default /etc/resolv.conf)", "FILE"),
    flag("-d --detach", "detach", help="run in the background; return once the node has joined"),
], interspersed=True)
STOP = Parser("agent stop", "--root DIR", [
    flag("--root", "root", "value", "the engine root the agent runs on", "DIR"),
    flag("--timeout", "timeout", "value", "seconds to wait for an orderly stop (default 30)", "SECONDS"),
], interspersed=True)


def _fail(message: str, code: int = 125) -> int:
    sys.stderr.write(f"portside: {message}\n")
    return code


def parse_labels(values: list[str]) -> dict[str, str]:
    out = {}
    for item in (i.strip() for v in values for i in v.split(",") if i.strip()):
        k, eq, val = item.partition("=")
        if not eq or not _LABEL_KEY.fullmatch(k) or not _LABEL_VALUE.fullmatch(val):
            raise InvalidArgument(f"agent: --labels: invalid label {item!r}: expected key=value with a label key "
                                  f"and value (letters, digits, '-', '_', '.', at most 63 characters)")
        out[k] = val
    return out


def parse_taints(values: list[str]) -> list[dict]:
    out = []
    for item in (i.strip() for v in values for i in v.split(",") if i.strip()):
        kv, colon, effect = item.rpartition(":")
        k, _, val = kv.partition("=")
        if not colon or effect not in EFFECTS or not _LABEL_KEY.fullmatch(k) or not _LABEL_VALUE.fullmatch(val):
            raise InvalidArgument(f"agent: --taints: invalid taint {item!r}: expected key[=value]:Effect with Effect "
                                  f"one of {', '.join(EFFECTS)}")
        out.append({"key": k, "effect": effect, **({"value": val} if val else {})})
    return out


def _options(opts: dict, root: str):
    from portside.agent.node import local_name
    from portside.agentd import AgentOptions
    servers = [s.strip().rstrip("/") for s in (opts["server"] or "").split(",") if s.strip()]
    if not servers:
        raise InvalidArgument("agent: --server is required (https://HOST:PORT of the server to join)")
    for server in servers:
        if not server.startswith("https://"):
            raise InvalidArgument(f"agent: --server {server!r}: expected https://HOST:PORT (agents join over TLS "
                                  f"only)")
    server = ",".join(servers)
    name = opts["node_name"] or local_name()
    if not _NODE_NAME.fullmatch(name) or len(name) > 253:
        raise InvalidArgument(f"agent: --node-name {name!r}: a node name must be a lowercase RFC 1123 subdomain")
    node_ip = opts["node_ip"] or ""
    if node_ip:
        try:
            node_ip = str(ipaddress.ip_address(node_ip))
        except ValueError:
            raise InvalidArgument(f"agent: --node-ip: expected an IP address, got {node_ip!r}") from None
    token = opts["token"] or os.environ.get("PORTSIDE_TOKEN", "")
    from portside.cli.cluster import metrics_period, resolv_conf
    return AgentOptions(server, token, name, os.path.abspath(opts["root"] or root), node_ip,
                        parse_labels(opts["labels"]), parse_taints(opts["taints"]),
                        metrics_period(opts["metrics_period"], "agent"), _grace(opts["node_monitor_grace"]),
                        resolv_conf(opts["resolv_conf"], "agent"))


def _grace(value: str | None) -> float:
    """``--node-monitor-grace``: positive seconds, 5 (the server's default) when absent."""
    if value is None:
        return 5.0
    try:
        grace = float(value)
    except ValueError:
        grace = -1.0
    if not 0 < grace < float("inf"):
        raise InvalidArgument(f"agent: --node-monitor-grace: expected a positive number of seconds, got {value!r}")
    return grace


def cmd_agent(argv: list[str], root: str) -> int:
    if argv[:1] == ["stop"]:
        return _cmd_stop(argv[1:], root)
    try:
        opts, args = AGENT.parse(argv)
        if args:
            raise InvalidArgument(f"agent: unexpected argument {args[0]!r} (agent takes options, or 'stop')")
        options = _options(opts, root)
        if options.token:
            from portside.client.join import JoinError, parse_token
            try:
                parse_token(options.token)
            except JoinError as exc:
                raise InvalidArgument(f"agent: --token: {exc}") from None
    except HelpRequested:
        return 0
    except InvalidArgument as exc:
        return _fail(str(exc), 2)
    if opts["detach"]:
        return _detach(argv, options)
    return run(options)


def run(options) -> int:
    import logging

    from portside.cli import up
    from portside.client.join import JoinError
    state = str(options.state_dir)
    os.makedirs(state, mode=0o700, exist_ok=True)
    lock = up._take_lock(state)
    if lock is None:
        return _fail(f"another portside agent is running on {options.root} (pid {up.running_pid(state)})", 1)
    pid_path = os.path.join(state, up.PID_FILE)
    with open(pid_path, "w") as f:
        f.write(f"{os.getpid()}\n")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    try:
        import uvloop

        from portside.agentd import _main
        uvloop.run(_main(options))
        return 0
    except BaseException as exc:  # noqa: BLE001 - one line for the operator, whatever failed
        if isinstance(exc, KeyboardInterrupt):
            return 130
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        if isinstance(exc, JoinError):
            return _fail(f"agent: {exc}", 1)
        logging.getLogger("portside.agent").debug("agent failed", exc_info=exc)
        return _fail(f"agent failed: {type(exc).__name__}: {exc}", 1)
    finally:
        os.unlink(pid_path)
        os.close(lock)


def _detach(argv: list[str], options) -> int:
    from portside.cli.cluster import spawn_detached
    os.makedirs(options.state_dir, mode=0o700, exist_ok=True)
    child_argv = [a for a in argv if a not in ("-d", "--detach")]
    log_path = options.state_dir / "agent.log"
    proc = spawn_detached(["agent", *child_argv], str(options.root), str(log_path))
    line = proc.stdout.readline().decode()
    proc.stdout.close()
    if not line:
        proc.wait(timeout=DETACH_TIMEOUT_S)
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] if log_path.exists() else []
        why = tail[0].removeprefix("portside: ") if tail else f"exited with status {proc.returncode}"
        return _fail(f"agent did not start: {why} (log: {log_path})", 1)
    sys.stdout.write(line)
    return 0


def _cmd_stop(argv: list[str], root: str) -> int:
    from portside.agentd import STATE_DIR
    from portside.cli import up
    from portside.cli.cluster import _stop
    try:
        opts, args = STOP.parse(argv)
        if args:
            raise InvalidArgument(f"agent stop: unexpected argument {args[0]!r}")
        timeout = float(opts["timeout"] or 30)
    except HelpRequested:
        return 0
    except InvalidArgument as exc:
        return _fail(str(exc), 2)
    except ValueError:
        return _fail("agent stop: --timeout: expected seconds", 2)
    state = os.path.join(os.path.abspath(opts["root"] or root), STATE_DIR)
    pid = up.running_pid(state)
    if pid is None:
        return _fail(f"no portside agent is running on {os.path.dirname(state)}", 1)
    return _stop(state, pid, timeout)
