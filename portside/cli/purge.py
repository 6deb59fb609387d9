"""``portside down --purge``: remove a stopped cluster from this node, as k3s' killall script does.

A plain ``down`` leaves the pods running for the next ``up`` to adopt; a cluster that will never come back
would leave them for good. Purging kills and removes every pod container of the cluster on this node, their
sandboxes (network namespace, veth, address) and volume directories, then deletes the data directory. The pods
are found from the node alone (``portside.agent.sandbox.purge``), so it works after the control plane is gone,
and even after the data directory was deleted by hand; a second run finds nothing and says so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from portside.cli.up import LOCK_FILE, running_pid


def purge(data_dir: str, engine_root: str) -> int:
    from portside.agent.sandbox import purge as purge_pods
    from portside.engine import Engine
    from portside.engine.records import remove_tree
    from portside.runtime.cgroups import remove_parent

    if running_pid(data_dir) is not None:  # an up started meanwhile: its agent would start the pods again
        sys.stderr.write(f"portside: a portside up is running for {data_dir} again: not purged\n")
        return 1
    engine = Engine(Path(engine_root))
    removed = purge_pods(engine, data_dir)
    lines = [f"removed container {c}" for c in removed.containers]
    lines += [f"removed pod sandbox {s}: network namespace, veth and address" for s in removed.sandboxes]
    lines += [f"removed pod directories {d}" for d in removed.pod_dirs]
    lines += [f"removed the service rules of a proxy that is gone (nftables table {t})" for t in _proxy_orphans()]
    lines += [f"removed the network policy rules of the node (nftables table {t})" for t in _policy_table(engine)]
    lines += [f"removed the bridge {b} of an idle network (it comes back with the network's next container)"
              for b in engine.networks.teardown()]
    if removed.containers and remove_parent(engine.settings().get("cgroup_parent", "portside")):
        lines.append(f"removed the empty cgroup parent {engine.settings().get('cgroup_parent', 'portside')}")
    if os.path.exists(os.path.join(data_dir, LOCK_FILE)):  # never delete a directory no up ever used
        remove_tree(Path(data_dir))
        lines.append(f"removed data directory {data_dir}")
    elif os.path.exists(data_dir):
        lines.append(f"left {data_dir} as it is: no portside up used it (no {LOCK_FILE})")
    for line in lines or [f"nothing of {data_dir} left on this node (engine root {engine_root})"]:
        sys.stdout.write(f"portside: {line}\n")
    return 0


def _policy_table(engine) -> list[str]:
    """The policy enforcer removes its table when it stops in order; one killed with its ``up`` leaves it
    enforcing for pods that are now being removed."""
    from portside.netpol import nft_available, table_name
    from portside.netpol.plane import remove_table

    table = table_name(engine.settings().get("bridge", "portside0"))
    return [table] if nft_available() and remove_table(table) else []


def _proxy_orphans() -> list[str]:
    """A proxy stopped in order removes its nftables table; one killed with its ``up`` leaves it (each table
    names its proxy's pid, so a dead pid marks it as nobody's)."""
    from portside.proxy.nftables import kernel_available, remove_orphans

    return remove_orphans() if kernel_available() else []
