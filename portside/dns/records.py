"""A Service and its Endpoints as DNS records, following the Kubernetes DNS specification (schema 1.0.1). Pure.

For ``<svc>`` in ``<ns>`` under the cluster domain ``<zone>``, with ``base = <svc>.<ns>.svc.<zone>``:

- a Service with a ClusterIP: ``base A/AAAA <clusterIP>``, ``_<port>._<proto>.base SRV 0 100 <port> base`` for
  each named port, and ``PTR`` from the ClusterIP back to ``base``;
- a headless Service (``clusterIP: None``): ``base A`` for every ready endpoint address, and for each of them a
  name of its own, ``<hostname>.base``, where the hostname is the endpoint's ``hostname`` (a pod's
  ``spec.hostname`` when its ``spec.subdomain`` names the Service) or else the address with dashes
  (``10-42-0-7``, as CoreDNS names them); SRV records point at those names, one per endpoint and named port; PTR
  from each address to its name. No ready endpoint: no records, so the name does not exist (NXDOMAIN);
- an ExternalName Service: ``base CNAME <externalName>``.

Ready means listed in ``addresses``; the Endpoints controller already lists not-ready pods there when the
Service asks for ``publishNotReadyAddresses``. Names are lowercase text without the final dot.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import dns.name
import dns.rdataclass
import dns.rdatatype
from dns.rdata import Rdata
from dns.rdtypes.ANY.CNAME import CNAME
from dns.rdtypes.ANY.PTR import PTR
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA
from dns.rdtypes.IN.SRV import SRV

from portside.api.models import Endpoints, Service

__all__ = ["Record", "address_record", "dashed", "reverse_name", "service_records"]

IN = dns.rdataclass.IN
SRV_PRIORITY, SRV_WEIGHT = 0, 100  # RFC 2782 leaves them to us; CoreDNS answers 0 and an equal share of 100


@dataclass(frozen=True)
class Record:
    name: str  # lowercase, no final dot
    rdtype: int
    rdata: Rdata


def absolute(name: str) -> dns.name.Name:
    return dns.name.from_text(name.rstrip(".") + ".")


def address_record(name: str, ip: str) -> Record | None:
    """An A or AAAA record for ``ip``; None for text that is not an address."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if addr.version == 4:
        return Record(name, dns.rdatatype.A, A(IN, dns.rdatatype.A, str(addr)))
    return Record(name, dns.rdatatype.AAAA, AAAA(IN, dns.rdatatype.AAAA, str(addr)))


def reverse_name(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


def dashed(ip: str) -> str:
    """An address as one DNS label: ``10.42.0.7`` -> ``10-42-0-7`` (``::1`` -> ``--1``)."""
    return ip.replace(".", "-").replace(":", "-")


def _ptr(ip: str, target: str) -> Record:
    return Record(reverse_name(ip), dns.rdatatype.PTR, PTR(IN, dns.rdatatype.PTR, absolute(target)))


def _srv(name: str, port: int, target: str, weight: int = SRV_WEIGHT) -> Record:
    return Record(name, dns.rdatatype.SRV, SRV(IN, dns.rdatatype.SRV, SRV_PRIORITY, weight, port, absolute(target)))


def _cluster_ips(service: Service) -> list[str]:
    spec = service.spec
    ips = list(spec.cluster_ips or []) or ([spec.cluster_ip] if spec.cluster_ip else [])
    return [ip for ip in ips if ip and ip != "None"]


def service_records(service: Service, endpoints: Endpoints | None, zone: str) -> list[Record]:
    """Every record ``service`` (with its ``endpoints``, when it has any) contributes to ``zone``."""
    meta, spec = service.metadata, service.spec
    if spec is None:
        return []
    base = f"{meta.name}.{meta.namespace or 'default'}.svc.{zone}".lower()
    if (spec.type or "ClusterIP") == "ExternalName":
        if not spec.external_name:
            return []
        return [Record(base, dns.rdatatype.CNAME, CNAME(IN, dns.rdatatype.CNAME, absolute(spec.external_name)))]
    if spec.cluster_ip == "None":
        return _headless(base, endpoints)
    return _with_cluster_ip(base, service)


def _with_cluster_ip(base: str, service: Service) -> list[Record]:
    out: list[Record] = []
    for ip in _cluster_ips(service):
        record = address_record(base, ip)
        if record is not None:
            out += [record, _ptr(ip, base)]
    if not out:
        return []  # no address allocated (yet): nothing to answer with
    for port in service.spec.ports or []:
        if port.name:
            out.append(_srv(f"_{port.name}._{(port.protocol or 'TCP').lower()}.{base}", port.port, base))
    return out


def _headless(base: str, endpoints: Endpoints | None) -> list[Record]:
    out: list[Record] = []
    for subset in (endpoints.subsets if endpoints else None) or []:
        ready = [(a.ip, (a.hostname or dashed(a.ip)).lower()) for a in subset.addresses or [] if a.ip]
        ready = [(ip, f"{host}.{base}") for ip, host in ready if address_record(base, ip) is not None]
        for ip, name in ready:
            out += [address_record(base, ip), address_record(name, ip), _ptr(ip, name)]
        weight = max(1, SRV_WEIGHT // max(1, len(ready)))
        for port in subset.ports or []:
            if port.name:
                owner = f"_{port.name}._{(port.protocol or 'TCP').lower()}.{base}"
                out += [_srv(owner, port.port, name, weight) for _, name in ready]
    return out
