"""The nftables table that publishes ports of one bridge's containers.

One table per bridge, ``ip portside_<bridge>``, created with the bridge and deleted with it. Its rules are fixed;
what changes per container are elements of two DNAT maps (by host address and port, or by port alone for
``0.0.0.0``), so attaching or detaching a container adds or deletes exactly its own elements in one ``nft -f -``
batch: no rule handles to track, no rewrite of the table.

Why each rule:
- prerouting/output DNAT for destinations that are local addresses: published ports answer on every host address,
  including 127.0.0.1 from the host itself (the output hook).
- masquerade of 127.0.0.0/8 sources leaving through the bridge: a connection to 127.0.0.1 keeps its loopback
  source after DNAT, which the container could not answer; this (plus ``route_localnet`` on the bridge) makes it
  come from the gateway.
- masquerade of DNATed traffic between containers of the bridge: hairpin, a container reaching a published port
  (its own or a neighbour's) through a host address gets its replies back through the host.
- masquerade of the subnet leaving through other interfaces: outbound traffic from containers, except to the
  cluster's pod range (``cluster_cidr``, when the bridge is a node's share of it): pods on other nodes see a pod's
  own address, as Kubernetes' network model requires; routes between nodes carry it (see ``routes.py``).
- a forward filter for a user-defined network: traffic routed between it and the other bridges named by
  ``isolate`` (patterns such as ``psn-*``) is dropped both ways, as docker isolates its networks from each other;
  an ``internal`` network forwards nothing in or out at all (and masquerades nothing). Traffic inside one bridge,
  and between a container and the host itself, is not forwarded, so neither is touched.
"""

from __future__ import annotations

import subprocess

from portside.runtime.errors import NetworkError
from portside.runtime.net.ports import ANY_IP, PortMapping


def table_name(bridge: str) -> str:
    return f"portside_{bridge}"


def create_table(bridge: str, subnet: str, cluster_cidr: str = "", internal: bool = False,
                 isolate: tuple[str, ...] = ()) -> str:
    """Statements that (re)create the table empty: a stale one from a crashed engine is replaced."""
    table = table_name(bridge)
    unnated = f" ip daddr != {cluster_cidr}" if cluster_cidr else ""
    outbound = "" if internal else f'\n    oifname != "{bridge}" ip saddr {subnet}{unnated} masquerade'
    return f"""add table ip {table}
delete table ip {table}
table ip {table} {{
  map any_ports {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}
  map addr_ports {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }}
  chain publish {{
    dnat ip to ip daddr . meta l4proto . th dport map @addr_ports
    dnat ip to meta l4proto . th dport map @any_ports
  }}
  chain prerouting {{ type nat hook prerouting priority -100; policy accept; fib daddr type local jump publish; }}
  chain output {{ type nat hook output priority -100; policy accept; fib daddr type local jump publish; }}
  chain postrouting {{
    type nat hook postrouting priority 100; policy accept;
    oifname "{bridge}" ip saddr 127.0.0.0/8 masquerade
    oifname "{bridge}" ip saddr {subnet} ct status dnat masquerade{outbound}
  }}{_forward_filter(bridge, internal, isolate)}
}}
"""


def _forward_filter(bridge: str, internal: bool, isolate: tuple[str, ...]) -> str:
    """The isolation chain of a user-defined network (none for the default bridge)."""
    if internal:
        rules = [f'iifname "{bridge}" oifname != "{bridge}" drop', f'oifname "{bridge}" iifname != "{bridge}" drop']
    else:
        rules = [rule for other in isolate for rule in (
            f'iifname "{bridge}" oifname "{other}" oifname != "{bridge}" drop',
            f'oifname "{bridge}" iifname "{other}" iifname != "{bridge}" drop')]
    if not rules:
        return ""
    body = "".join(f"\n    {rule}" for rule in rules)
    return f"\n  chain isolate {{\n    type filter hook forward priority -1; policy accept;{body}\n  }}"


def delete_table(bridge: str) -> str:
    table = table_name(bridge)
    return f"add table ip {table}\ndelete table ip {table}\n"


def elements(verb: str, bridge: str, ip: str, ports: list[PortMapping]) -> str:
    """``add`` or ``delete`` statements for a container's DNAT map elements."""
    lines = []
    for p in ports:
        target = f"{ip} . {p.container_port}"
        if p.host_ip == ANY_IP:
            key, map_name = f"{p.protocol} . {p.host_port}", "any_ports"
        else:
            key, map_name = f"{p.host_ip} . {p.protocol} . {p.host_port}", "addr_ports"
        value = f" : {target}" if verb == "add" else ""
        lines.append(f"{verb} element ip {table_name(bridge)} {map_name} {{ {key}{value} }}\n")
    return "".join(lines)


def apply(script: str) -> None:
    """Run one atomic batch: nft applies all of it or none of it."""
    if not script:
        return
    proc = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise NetworkError(f"nft failed: {_first_error(proc.stderr)}")


def _first_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "Error:" in line]
    return (lines[0].split("Error:", 1)[1].strip() if lines else stderr.strip()) or "unknown error"
