"""NetworkPolicy rules (``ValidateNetworkPolicySpec``), in Kubernetes' words.

Ports: a known protocol, a port number in 1-65535 or an IANA port name, and ``endPort`` only after a numeric port
it does not go below. Peers: at least one of podSelector, namespaceSelector and ipBlock, and an ipBlock alone; its
``cidr`` a CIDR and each ``except`` block strictly inside it. At most two policyTypes, each Ingress or Egress.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..models.networking import NETWORK_POLICY_PROTOCOLS, POLICY_TYPES
from ..names import is_dns1123_subdomain, is_port_name
from .common import Errs, child, index, validate_label_selector, validate_meta

__all__ = ["validate_networkpolicy"]

PORT_RANGE = "must be between 1 and 65535, inclusive"
BAD_CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def validate_networkpolicy(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    spec = obj.get("spec") or {}
    validate_label_selector(spec.get("podSelector"), "spec.podSelector", errs)
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            here = index(f"spec.{direction}", i)
            for j, port in enumerate(rule.get("ports") or []):
                _port(port, index(child(here, "ports"), j), errs)
            for j, peer in enumerate(rule.get(peers_key) or []):
                _peer(peer, index(child(here, peers_key), j), errs)
    _policy_types(spec.get("policyTypes"), errs)


def _port(port: dict[str, Any], path: str, errs: Errs) -> None:
    protocol, number, end = port.get("protocol"), port.get("port"), port.get("endPort")
    errs.enum(child(path, "protocol"), protocol, NETWORK_POLICY_PROTOCOLS)
    if number is None:
        if end is not None:
            errs.invalid(child(path, "endPort"), end, "may not be specified when `port` is not specified")
    elif isinstance(number, int):
        if not 1 <= number <= 65535:
            errs.invalid(child(path, "port"), number, PORT_RANGE)
        if end is not None:
            if end < number:
                errs.invalid(child(path, "endPort"), number, "must be greater than or equal to `port`")
            if not 1 <= end <= 65535:
                errs.invalid(child(path, "endPort"), end, PORT_RANGE)
    else:
        if end is not None:
            errs.invalid(child(path, "endPort"), end, "may not be specified when `port` is non-numeric")
        errs.each(child(path, "port"), number, is_port_name(number))


def _peer(peer: dict[str, Any], path: str, errs: Errs) -> None:
    present = [key for key in ("podSelector", "namespaceSelector", "ipBlock") if peer.get(key) is not None]
    for key in ("podSelector", "namespaceSelector"):
        validate_label_selector(peer.get(key), child(path, key), errs)
    if peer.get("ipBlock") is not None:
        _ip_block(peer["ipBlock"], child(path, "ipBlock"), errs)
    if not present:
        errs.required(path, "must specify a peer")
    elif len(present) > 1 and "ipBlock" in present:
        errs.forbidden(path, "may not specify both ipBlock and another peer")


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A CIDR as Kubernetes parses it: address bits beyond the prefix are allowed (and ignored)."""
    if not isinstance(text, str) or "/" not in text:
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _ip_block(block: dict[str, Any], path: str, errs: Errs) -> None:
    cidr = block.get("cidr") or ""
    if not cidr:
        errs.required(child(path, "cidr"))
        return
    outer = _network(cidr)
    if outer is None:
        errs.invalid(child(path, "cidr"), cidr, BAD_CIDR)
        return
    for i, text in enumerate(block.get("except") or []):
        inner = _network(text)
        where = index(child(path, "except"), i)
        if inner is None:
            errs.invalid(where, text, BAD_CIDR)
        elif inner.version != outer.version or inner.network_address not in outer \
                or inner.prefixlen <= outer.prefixlen:
            errs.invalid(where, text, "must be a strict subset of `cidr`")


def _policy_types(types: list[str] | None, errs: Errs) -> None:
    if types is None:
        return
    if len(types) > len(POLICY_TYPES):
        errs.invalid("spec.policyTypes", types, "may not specify more than two policyTypes")
        return
    for i, kind in enumerate(types):
        errs.enum(index("spec.policyTypes", i), kind, POLICY_TYPES)
