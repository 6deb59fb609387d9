"""Per-pod allow sets as nftables text, and the batch from the installed state to the wanted one: pure, no nft.

One table per node, ``ip portside_np_<bridge>``, with a fixed skeleton:

- ``forward`` (filter hook, priority 0: after the service proxy's DNAT, so a connection through a ClusterIP is
  judged by the pod it reaches): replies of allowed connections pass (conntrack established/related); a new one is
  judged by its source's egress chain, then by its destination's ingress chain. Pods of one node talk across their
  bridge, which the kernel hands to this hook only with ``br_netfilter`` (``bridge-nf-call-iptables`` = 1, what
  Kubernetes' own proxy needs too); traffic routed to and from other nodes passes here anyway.
- ``input``: what a pod sends to its node itself (its DNS on the bridge gateway, a NodePort, the API server) is
  judged by the pod's egress chain. Nothing hooks ``output``: the node reaching its pods (the agent's probes) is
  always allowed, as Kubernetes requires, and so are the replies to it.
- Two verdict maps from pod address to chain, ``ingress`` and ``egress``; a pod in neither is open. The chains
  are named by a hash of their rules (``in_…``, ``eg_…``): pods with the same rules share one, a pod whose rules
  change is pointed at another, and a chain is never rewritten in place. Each chain returns on what a rule
  allows and ends in ``deny`` (a TCP reset, or ICMP administratively prohibited), which makes a refused
  connection fail at once rather than time out.

A change is one ``nft -f`` batch (atomic: packets see the old rules or the new, never a mix): new chains, then the
map elements that move, then the chains no element uses any more.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from portside.netpol.compiler import Allow, PodRules

__all__ = ["RuleState", "chain_rules", "desired", "diff", "replace", "table_name"]

MAPS = ("ingress", "egress")
ADDRESS = {"ingress": "ip saddr", "egress": "ip daddr"}  # the peer's side of the packet, per direction
PREFIX = {"ingress": "in", "egress": "eg"}


def table_name(bridge: str) -> str:
    """The node's table, named after its pod bridge (unique per node: it carries the node's name or hash)."""
    return f"portside_np_{bridge}"


@dataclass
class RuleState:
    """What changes in the table: chain bodies by name, and each map's elements (pod address -> chain)."""

    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    elements: dict[str, dict[str, str]] = field(default_factory=lambda: {m: {} for m in MAPS})


def _set(items: tuple[str, ...]) -> str:
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _port_text(ports: tuple) -> list[str]:
    """Match expressions, one per protocol: ``tcp dport { 80, 8000-8080 }``, or ``meta l4proto udp`` for all."""
    by_protocol: dict[str, list[str]] = {}
    for r in ports:
        by_protocol.setdefault(r.protocol, []).append(str(r.first) if r.first == r.last else f"{r.first}-{r.last}")
    out = []
    for protocol, items in by_protocol.items():
        every = any(r.protocol == protocol and r.every for r in ports)
        out.append(f"meta l4proto {protocol}" if every else f"{protocol} dport {_set(tuple(items))}")
    return out


def chain_rules(direction: str, allows: tuple[Allow, ...]) -> tuple[str, ...]:
    """The body of a pod's chain for one direction: a ``return`` per thing allowed, then ``goto deny``."""
    rules = []
    for allow in allows:
        peer = f"{ADDRESS[direction]} {_set(allow.peers)} " if allow.peers is not None else ""
        if allow.ports is None:
            rules.append(f"{peer}return")
        else:
            rules += [f"{peer}{match} return" for match in _port_text(allow.ports)]
    if rules == ["return"]:
        return ("return",)
    return (*rules, "goto deny")


def chain_name(direction: str, rules: tuple[str, ...]) -> str:
    digest = hashlib.sha256("\n".join(rules).encode()).hexdigest()
    return f"{PREFIX[direction]}_{digest[:16]}"


def desired(pods: dict[str, PodRules]) -> RuleState:
    """The state for the node's isolated pods (by address)."""
    state = RuleState()
    for ip, rules in sorted(pods.items()):
        for direction in MAPS:
            allows = getattr(rules, direction)
            if allows is None:
                continue
            body = chain_rules(direction, allows)
            name = chain_name(direction, body)
            state.chains[name] = body
            state.elements[direction][ip] = f"jump {name}"
    return state


def _skeleton(table: str) -> str:
    maps = "".join(f"  map {m} {{ type ipv4_addr : verdict; }}\n" for m in MAPS)
    return (f"table ip {table} {{\n{maps}"
            "  chain deny {\n    meta l4proto tcp reject with tcp reset\n"
            "    reject with icmp type admin-prohibited\n  }\n"
            "  chain forward {\n    type filter hook forward priority 0; policy accept;\n"
            "    ct state established,related accept\n    ip saddr vmap @egress\n    ip daddr vmap @ingress\n  }\n"
            "  chain input {\n    type filter hook input priority 0; policy accept;\n"
            "    ct state established,related accept\n    ip saddr vmap @egress\n  }\n}\n")


def replace(table: str, want: RuleState) -> str:
    """One batch that replaces whatever table of that name exists (a crashed enforcer's) with ``want``: the old
    rules hold until the new ones are in, with no moment of none."""
    return (f"add table ip {table}\ndelete table ip {table}\n{_skeleton(table)}"
            + diff(table, RuleState(), want))


def diff(table: str, current: RuleState, want: RuleState) -> str:
    """The batch that turns ``current`` into ``want``; empty when nothing changed."""
    out: list[str] = []
    for name in sorted(want.chains.keys() - current.chains.keys()):
        out.append(f"add chain ip {table} {name}\n")
        out += [f"add rule ip {table} {name} {rule}\n" for rule in want.chains[name]]
    for m in MAPS:
        old, new = current.elements.get(m, {}), want.elements.get(m, {})
        out += [f"delete element ip {table} {m} {{ {ip} }}\n" for ip in sorted(old) if new.get(ip) != old[ip]]
        out += [f"add element ip {table} {m} {{ {ip} : {new[ip]} }}\n" for ip in sorted(new) if old.get(ip) != new[ip]]
    for name in sorted(current.chains.keys() - want.chains.keys()):
        out += [f"flush chain ip {table} {name}\n", f"delete chain ip {table} {name}\n"]
    return "".join(out)
