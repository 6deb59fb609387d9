"""Subnets for new networks: the first block of an address pool that overlaps nothing this host already uses.

As docker's default address pools: each pool is a base network cut into blocks of one size, and ``network create``
without ``--subnet`` takes the first block that overlaps no network the engine knows (the default bridge, the other
networks, the cluster's pod range) and no route or address of the host (other engines' bridges, pod networks of
other nodes, the host's own LANs). The default pools follow podman's: 10.89.0.0/16 and then 10.90.0.0/15, in /24s,
clear of the default bridge (10.88.0.0/16), the cluster's pods (10.42.0.0/16) and Services (10.96.0.0/12).
``ROOT/engine.json`` may set its own as ``"default_address_pools": [{"base": "10.200.0.0/16", "size": 24}]``.

Another engine on this host (another root) sees a block as taken once that block's bridge has its route: so
``host_lock`` is held from the pick to the bridge being up, by every engine, or two creating at once pick the
same block (and the second's DNS responder finds the gateway address taken).

``allocate`` is pure; ``host_networks`` asks the kernel (``ip -j``).
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from portside.runtime.errors import InvalidArgument, NetworkError

Network = ipaddress.IPv4Network
DEFAULT_POOLS = ({"base": "10.89.0.0/16", "size": 24}, {"base": "10.90.0.0/15", "size": 24})
HOST_LOCK = "/run/portside/address-pools.lock"


@contextmanager
def host_lock(path: str = HOST_LOCK) -> Iterator[None]:
    """Held by whoever picks a block, until the block's bridge (and so its route) is up; one per host."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def parse_pools(pools: Iterable[dict]) -> list[tuple[Network, int]]:
    """``[{"base": CIDR, "size": PREFIXLEN}, ...]`` checked: each base an IPv4 network, each size within it."""
    out = []
    for pool in pools:
        try:
            base = ipaddress.IPv4Network(pool["base"])
            size = int(pool["size"])
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidArgument(f"default_address_pools entry {pool!r}: expected "
                                  f'{{"base": "10.89.0.0/16", "size": 24}} ({err})') from None
        if not base.prefixlen <= size <= 30:
            raise InvalidArgument(f"default_address_pools entry {pool!r}: size must be between the base's "
                                  f"prefix length ({base.prefixlen}) and 30")
        out.append((base, size))
    return out


def allocate(pools: list[tuple[Network, int]], taken: Iterable[Network]) -> Network:
    """The first block of the first pool that overlaps none of ``taken``."""
    taken = sorted(set(taken), key=lambda n: (n.network_address, n.prefixlen))
    for base, size in pools:
        for block in base.subnets(new_prefix=size):
            if not any(block.overlaps(t) for t in taken):
                return block
    raise NetworkError("could not find an available, non-overlapping IPv4 address pool among the defaults to "
                       "assign to the network")


def host_networks() -> list[Network]:
    """Every IPv4 route destination and interface network of this host (its network namespace), default excluded."""
    found = []
    for route in _ip_json(["ip", "-j", "-4", "route", "show", "table", "all"]):
        dst = route.get("dst", "")
        if dst and dst != "default" and route.get("type", "unicast") == "unicast":
            found.append(ipaddress.IPv4Network(dst, strict=False))
    for link in _ip_json(["ip", "-j", "-4", "addr", "show"]):
        for a in link.get("addr_info") or []:
            if a.get("local") and not a["local"].startswith("127."):
                found.append(ipaddress.IPv4Network(f"{a['local']}/{a.get('prefixlen', 32)}", strict=False))
    return found


def _ip_json(argv: list[str]) -> list[dict]:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise NetworkError(f"{' '.join(argv)}: {proc.stderr.strip() or 'failed'}")
    return json.loads(proc.stdout or "[]")
