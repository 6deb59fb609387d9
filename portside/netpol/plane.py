"""The edge that touches the kernel: the node's policy table and the bridge setting it depends on.

``PolicyTable.sync(state)`` sends the first state as one batch that replaces any table of that name (one a killed
enforcer left keeps enforcing until then), and every later one as the difference from what it installed; nft
applies a batch wholly or not at all, so what is remembered is what the kernel holds. While no pod of the node is
isolated there is no table at all (a cluster without policies leaves no trace in nftables); ``close`` deletes it.

``bridge_filtering()`` makes the kernel pass traffic between pods of one bridge through the IPv4 hooks
(``net.bridge.bridge-nf-call-iptables``, per network namespace, from the ``br_netfilter`` module): without it,
pods of one node would reach each other past every policy. Kubernetes nodes need the same setting for kube-proxy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from portside.netpol.nftrules import RuleState, diff, replace
from portside.runtime.errors import NetworkError
from portside.runtime.net.nft import apply

__all__ = ["BRIDGE_SYSCTL", "NetworkError", "PolicyTable", "bridge_filtering", "nft_available", "remove_table"]

BRIDGE_SYSCTL = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")


def nft_available() -> bool:
    """True when nft can be run with the privileges to change rules."""
    return os.geteuid() == 0 and shutil.which("nft") is not None


def bridge_filtering() -> None:
    """Turn on filtering of bridged IPv4 traffic in this network namespace; NetworkError when it cannot be."""
    if not BRIDGE_SYSCTL.exists() and shutil.which("modprobe"):
        subprocess.run(["modprobe", "br_netfilter"], capture_output=True, check=False)
    try:
        if BRIDGE_SYSCTL.read_text().strip() != "1":
            BRIDGE_SYSCTL.write_text("1")
    except OSError as exc:
        raise NetworkError(f"cannot filter traffic between pods of one node: {BRIDGE_SYSCTL} ({exc.strerror}); "
                           "load the br_netfilter module") from None


class PolicyTable:
    """The node's table, present only while some pod is isolated: a node without policies has none."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.state: RuleState | None = None  # None: this process has not synced yet

    def sync(self, want: RuleState) -> str:
        """Bring the table to ``want``; returns the batch sent (empty when nothing changed)."""
        if not want.chains:
            installed = self.state is None or bool(self.state.chains)  # a first sync removes a stale table
            batch = _drop(self.table) if installed else ""
        elif self.state is None or not self.state.chains:
            batch = replace(self.table, want)
        else:
            batch = diff(self.table, self.state, want)
        apply(batch)
        self.state = want
        return batch

    def close(self) -> None:
        """Remove the table and every rule in it; idempotent."""
        if self.state is not None and self.state.chains:
            apply(_drop(self.table))
        self.state = None


def remove_table(table: str) -> bool:
    """Delete the table if it exists (one an enforcer killed outright left); whether there was one."""
    present = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, check=False)
    if present.returncode != 0:
        return False
    apply(_drop(table))
    return True


def _drop(table: str) -> str:
    return f"add table ip {table}\ndelete table ip {table}\n"
