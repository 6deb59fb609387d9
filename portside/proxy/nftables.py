"""The kernel data plane: one nftables table per proxy, ``ip portside_svc_<pid>``, changed by incremental batches.

``KernelPlane.sync(ports)`` computes the wanted rule state (``nftrules.desired``), sends only the difference
from what it installed last, and remembers the new state once nft accepted the batch (nft applies a batch
wholly or not at all, so memory and kernel never disagree). ``close`` deletes the table, which removes every rule,
map, set and counter at once.

The table is named after the proxy's process id so that a proxy killed with SIGKILL, which cannot clean up, is
recognised by the next one to start: tables of that shape whose process is gone are deleted by ``start``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable

from portside.proxy.model import ServicePort
from portside.proxy.nftrules import RuleState, desired, diff, endpoint_id, skeleton
from portside.runtime.errors import NetworkError
from portside.runtime.net.nft import apply

__all__ = ["KernelPlane", "NetworkError", "kernel_available"]

PREFIX = "portside_svc_"
_OWNED = re.compile(rf"^{PREFIX}(\d+)$")


def kernel_available() -> bool:
    """True when nft can be run with the privileges to change rules."""
    return os.geteuid() == 0 and shutil.which("nft") is not None


def _tables() -> list[str]:
    proc = subprocess.run(["nft", "-j", "list", "tables", "ip"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return []
    return [item["table"]["name"] for item in json.loads(proc.stdout)["nftables"] if "table" in item]


def remove_orphans() -> list[str]:
    """Delete tables left by proxies that died without cleaning up; returns their names."""
    gone = []
    for name in _tables():
        match = _OWNED.match(name)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            apply(f"add table ip {name}\ndelete table ip {name}\n")
            gone.append(name)
    return gone


class KernelPlane:
    """ClusterIP, NodePort (and, when asked, LoadBalancer) ports as nftables DNAT rules."""

    def __init__(self, table: str | None = None, kernel_lb: bool = False, cluster_cidr: str = "") -> None:
        """``cluster_cidr``: the pods' range on a node of a multi-node cluster (see ``nftrules``)."""
        self.table = table or f"{PREFIX}{os.getpid()}"
        self.kernel_lb = kernel_lb
        self.cluster_cidr = cluster_cidr
        self.state = RuleState()
        self.counter_names: dict[str, tuple[str, str]] = {}  # counter -> (service key, backend)
        self.started = False

    def start(self) -> None:
        if self.table.startswith(PREFIX) and _OWNED.match(self.table):
            remove_orphans()
        apply(skeleton(self.table))
        self.state, self.started = RuleState(), True

    def sync(self, ports: Iterable[ServicePort]) -> str:
        """Bring the table to ``ports``; returns the batch it sent (empty when nothing changed)."""
        ports = list(ports)
        want = desired(ports, self.kernel_lb, self.cluster_cidr)
        batch = diff(self.table, self.state, want)
        apply(batch)
        self.state = want
        self.counter_names = {f"c_{endpoint_id(sp, b)}": (sp.service_key, str(b))
                              for sp in ports for b in sp.backends}
        return batch

    def connections(self) -> dict[tuple[str, str], int]:
        """New connections DNATed to each (service, backend) since its rule appeared: NAT sees first packets only."""
        proc = subprocess.run(["nft", "-j", "list", "counters", "table", "ip", self.table], capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            return {}
        out: dict[tuple[str, str], int] = {}
        for item in json.loads(proc.stdout)["nftables"]:
            counter = item.get("counter")
            if counter and counter["name"] in self.counter_names:
                key = self.counter_names[counter["name"]]
                out[key] = out.get(key, 0) + counter["packets"]
        return out

    def close(self) -> None:
        """Remove the table and everything in it; idempotent."""
        if self.started:
            apply(f"add table ip {self.table}\ndelete table ip {self.table}\n")
            self.started = False
        self.state = RuleState()
