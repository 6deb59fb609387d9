"""The kernel data plane's rules as data, and the diff from what is installed to what should be: pure, no nft.

``desired(ports)`` turns service snapshots into a ``RuleState``: the elements of four verdict maps, the
per-service and per-endpoint chains, the affinity sets and the per-endpoint counters. ``diff(current, desired)``
yields the statements of one ``nft -f -`` batch that moves the table from one to the other, touching only what
changed: a new endpoint adds its chain and rewrites its Service's chain, nothing else. Statement order inside
the batch matters (nft checks references as it goes): new objects first, then chain bodies, then map elements,
and only then the removal of chains and sets nothing refers to any more.

Layout, as kube-proxy's nftables mode has it: a dispatch chain looks up ``daddr . proto . dport`` (ClusterIP) or
``proto . dport`` on local addresses (NodePort, and LoadBalancer ports when the kernel serves them) in verdict
maps that ``goto`` a per-service chain; that chain picks an endpoint chain (``numgen inc``: round-robin), which
DNATs. Services without ready endpoints sit in two other maps, checked by filter chains that run before NAT and
reject new connections with a TCP reset.

Masquerade, where replies would otherwise bypass this node (its endpoint may run on another one): NodePort and
kernel LoadBalancer traffic enters through an ``ext_`` chain that marks it before the service chain, as
kube-proxy's external chains do (the endpoint's node would answer the client directly, which expects the answer
from this node); and, when the proxy knows the cluster's pod range, ClusterIP traffic from outside it (the node
itself, another host) is marked in the service chain, so that the endpoint answers this node's address. Traffic
from pods to a ClusterIP keeps its pod source address. The hook chain masquerades marked packets on the way out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from portside.proxy.balance import Backend
from portside.proxy.model import ServicePort, short_id

__all__ = ["MASQ_MARK", "RuleState", "desired", "diff", "endpoint_id", "skeleton"]

MASQ_MARK = 0x4000
MAPS = {"service_ips": "ipv4_addr . inet_proto . inet_service", "service_ports": "inet_proto . inet_service",
        "reject_ips": "ipv4_addr . inet_proto . inet_service", "reject_ports": "inet_proto . inet_service"}


@dataclass
class RuleState:
    """Everything in the table that changes with Services; the fixed skeleton is not part of it."""

    elements: dict[str, dict[str, str]] = field(default_factory=lambda: {m: {} for m in MAPS})
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sets: dict[str, int] = field(default_factory=dict)  # affinity set -> timeout seconds
    counters: set[str] = field(default_factory=set)


def skeleton(table: str) -> str:
    """Statements that (re)create the table with its fixed chains and empty maps; a stale table is replaced."""
    maps = "".join(f"  map {name} {{ type {key} : verdict; }}\n" for name, key in MAPS.items())
    hooks = "".join(
        f"  chain {name} {{ type {kind} hook {hook} priority {prio}; policy accept; {body}; }}\n"
        for name, kind, hook, prio, body in (
            ("nat_prerouting", "nat", "prerouting", "-100", "jump services"),
            ("nat_output", "nat", "output", "-100", "jump services"),
            ("nat_postrouting", "nat", "postrouting", "100",
             f'meta mark & {MASQ_MARK:#x} == {MASQ_MARK:#x} oifname != "lo" masquerade'),
            # Before NAT (dstnat is -100), so the reject maps see the original destination.
            ("filter_input", "filter", "input", "-110", "ct state new jump refuse"),
            ("filter_forward", "filter", "forward", "-110", "ct state new jump refuse"),
            ("filter_output", "filter", "output", "-110", "ct state new jump refuse")))
    return (f"add table ip {table}\ndelete table ip {table}\ntable ip {table} {{\n{maps}"
            "  chain services {\n    ip daddr . meta l4proto . th dport vmap @service_ips\n"
            "    fib daddr type local meta l4proto . th dport vmap @service_ports\n  }\n"
            "  chain refuse {\n    ip daddr . meta l4proto . th dport vmap @reject_ips\n"
            "    fib daddr type local meta l4proto . th dport vmap @reject_ports\n  }\n"
            "  chain reject_new {\n    meta l4proto tcp reject with tcp reset\n    reject\n  }\n"
            f"{hooks}}}\n")


def endpoint_id(sp: ServicePort, backend: Backend) -> str:
    """Names the endpoint's chain (``ep_``), counter (``c_``) and affinity set (``aff_``)."""
    return short_id(f"{sp.key}>{backend}")


def _endpoint_chain(sp: ServicePort, backend: Backend, state: RuleState) -> str:
    eid = endpoint_id(sp, backend)
    rules = [f"ip saddr {backend.ip} meta mark set meta mark | {MASQ_MARK:#x}",
             f"ip saddr 127.0.0.0/8 meta mark set meta mark | {MASQ_MARK:#x}"]
    if sp.affinity_s:
        state.sets[_affinity_set(eid, sp)] = sp.affinity_s
        rules.append(f"update @{_affinity_set(eid, sp)} {{ ip saddr }}")
    state.counters.add(f"c_{eid}")
    rules.append(f'counter name "c_{eid}"')
    rules.append(f"meta l4proto {sp.protocol} dnat ip to {backend.ip}:{backend.port}")
    state.chains[f"ep_{eid}"] = tuple(rules)
    return eid


def _affinity_set(eid: str, sp: ServicePort) -> str:
    # The timeout is part of the name: a new timeout is a new set, so no set is ever redeclared in place while
    # rules still refer to it.
    return f"aff_{eid}_{sp.affinity_s}"


def _service_chain(sp: ServicePort, state: RuleState, cluster_cidr: str) -> str:
    eids = [_endpoint_chain(sp, b, state) for b in sp.backends]
    rules = [f"ip saddr != {cluster_cidr} meta mark set meta mark | {MASQ_MARK:#x}"] if cluster_cidr else []
    rules += [f"ip saddr @{_affinity_set(e, sp)} goto ep_{e}" for e in eids] if sp.affinity_s else []
    if len(eids) == 1:
        rules.append(f"goto ep_{eids[0]}")
    else:
        arms = ", ".join(f"{i} : goto ep_{e}" for i, e in enumerate(eids))
        rules.append(f"numgen inc mod {len(eids)} vmap {{ {arms} }}")
    chain = f"svc_{sp.id}"
    state.chains[chain] = tuple(rules)
    return chain


def _local_ports(sp: ServicePort, kernel_lb: bool) -> list[int]:
    ports = [sp.node_port] if sp.node_port else []
    if sp.load_balancer and kernel_lb:
        ports.append(sp.port)
    return ports


def _external_chain(sp: ServicePort, service_chain: str, state: RuleState) -> str:
    chain = f"ext_{sp.id}"
    state.chains[chain] = (f"meta mark set meta mark | {MASQ_MARK:#x}", f"goto {service_chain}")
    return chain


def desired(ports: Iterable[ServicePort], kernel_lb: bool = False, cluster_cidr: str = "") -> RuleState:
    """The state the table should have for ``ports``; LoadBalancer ports go in only when ``kernel_lb``;
    ``cluster_cidr`` (the pods' range, when known) decides whose ClusterIP traffic is masqueraded."""
    state = RuleState()
    for sp in ports:
        has_ip = bool(sp.cluster_ip) and sp.cluster_ip != "None"
        local = _local_ports(sp, kernel_lb)
        if sp.backends:
            chain = _service_chain(sp, state, cluster_cidr)
            verdict = f"goto {chain}"
            external = f"goto {_external_chain(sp, chain, state)}" if local else verdict
            ip_map, port_map = "service_ips", "service_ports"
        else:
            verdict = external = "goto reject_new"
            ip_map, port_map = "reject_ips", "reject_ports"
        if has_ip:
            state.elements[ip_map][f"{sp.cluster_ip} . {sp.protocol} . {sp.port}"] = verdict
        for port in local:
            state.elements[port_map][f"{sp.protocol} . {port}"] = external
    return state


def _set_decl(table: str, name: str, timeout: int) -> str:
    return f"add set ip {table} {name} {{ type ipv4_addr; flags dynamic,timeout; timeout {timeout}s; }}\n"


def diff(table: str, current: RuleState, want: RuleState) -> str:
    """The batch that turns ``current`` into ``want``; empty when nothing changed."""
    out: list[str] = []
    for name in sorted(want.counters - current.counters):
        out.append(f"add counter ip {table} {name}\n")
    for name in sorted(want.sets.keys() - current.sets.keys()):
        out.append(_set_decl(table, name, want.sets[name]))
    for name in sorted(want.chains.keys() - current.chains.keys()):
        out.append(f"add chain ip {table} {name}\n")
    for name, rules in sorted(want.chains.items()):
        if current.chains.get(name) != rules:
            if name in current.chains:
                out.append(f"flush chain ip {table} {name}\n")
            out.extend(f"add rule ip {table} {name} {rule}\n" for rule in rules)
    gone = sorted(current.chains.keys() - want.chains.keys())
    # Emptied first: a departing service chain still jumps to departing endpoint chains until flushed.
    out.extend(f"flush chain ip {table} {name}\n" for name in gone)
    out.extend(_element_changes(table, current, want))
    out.extend(f"delete chain ip {table} {name}\n" for name in gone)
    out.extend(f"delete set ip {table} {name}\n" for name in sorted(current.sets.keys() - want.sets.keys()))
    out.extend(f"delete counter ip {table} {name}\n" for name in sorted(current.counters - want.counters))
    return "".join(out)


def _element_changes(table: str, current: RuleState, want: RuleState) -> list[str]:
    out = []
    for m in MAPS:
        old, new = current.elements.get(m, {}), want.elements.get(m, {})
        for key in sorted(old):
            if new.get(key) != old[key]:
                out.append(f"delete element ip {table} {m} {{ {key} }}\n")
        for key in sorted(new):
            if old.get(key) != new[key]:
                out.append(f"add element ip {table} {m} {{ {key} : {new[key]} }}\n")
    return out
