"""The cluster zone as data: every record every Service contributes, and the answer to one question. Pure.

``Zone.put(key, records)`` replaces what one source (a Service, by ``namespace/name``) contributes, so a change
costs only that Service's records. ``Zone.lookup(name, rdtype)`` decides the answer the way an authoritative
server does:

- a name with records of the asked type: those records (a CNAME answers any type, and its target's records
  follow when the target is in the zone);
- a name that exists without records of that type, or only as the parent of other names (an "empty
  non-terminal", such as ``<ns>.svc.<zone>`` or ``_tcp.<svc>...``): NOERROR with no answer (NODATA);
- any other name under the zone: NXDOMAIN. Both negative answers carry the zone's SOA, whose last field tells
  resolvers how long to cache the absence (RFC 2308);
- ``<a>-<b>-<c>-<d>.<ns>.pod.<zone>``: the address the name spells (the specification's deprecated pod records,
  answered without checking that such a pod exists, as CoreDNS's default ``pods insecure`` does);
- ``dns-version.<zone>`` TXT: the specification's schema version;
- a reverse name (``in-addr.arpa``, ``ip6.arpa``) of a ClusterIP or endpoint: its PTR; other reverse names and
  names outside the zone are not ours (``forward``): the upstream resolvers answer them.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass, field

import dns.rcode
import dns.rdatatype
from dns.rdtypes.ANY.NS import NS
from dns.rdtypes.ANY.SOA import SOA
from dns.rdtypes.ANY.TXT import TXT

from portside.dns.records import IN, Record, absolute, address_record

__all__ = ["SCHEMA_VERSION", "Answer", "Zone"]

SCHEMA_VERSION = "1.0.1"
REVERSE_SUFFIXES = (".in-addr.arpa", ".ip6.arpa")
NEGATIVE_TTL = 5  # the SOA minimum: how long a resolver may remember NXDOMAIN or NODATA
ANY, CNAME = dns.rdatatype.ANY, dns.rdatatype.CNAME
MAX_CNAMES = 8  # a chain of in-zone aliases followed this far, then SERVFAIL


@dataclass
class Answer:
    rcode: int = dns.rcode.NOERROR
    answer: list[Record] = field(default_factory=list)
    additional: list[Record] = field(default_factory=list)
    negative: bool = False  # NXDOMAIN or NODATA: the SOA goes in the authority section
    forward: bool = False  # not ours: ask the upstream resolvers
    chase: str = ""  # a CNAME's target outside the zone, whose records the upstream resolvers have


class Zone:
    def __init__(self, domain: str, server_ip: str = "") -> None:
        """``server_ip``: this server's address, the target of the zone's NS record."""
        self.domain = domain.lower().rstrip(".")
        self.owners: dict[str, dict[int, list[Record]]] = {}
        self.parents: Counter[str] = Counter()  # name -> records below it (an empty non-terminal while > 0)
        self.sources: dict[str, list[Record]] = {}
        self.soa = Record(self.domain, dns.rdatatype.SOA, SOA(
            IN, dns.rdatatype.SOA, absolute(f"ns.dns.{self.domain}"), absolute(f"hostmaster.{self.domain}"),
            1, 7200, 1800, 86400, NEGATIVE_TTL))
        fixed = [self.soa, Record(self.domain, dns.rdatatype.NS, NS(IN, dns.rdatatype.NS,
                                                                    absolute(f"ns.dns.{self.domain}"))),
                 Record(f"dns-version.{self.domain}", dns.rdatatype.TXT,
                        TXT(IN, dns.rdatatype.TXT, [SCHEMA_VERSION.encode()]))]
        if server_ip and (ns := address_record(f"ns.dns.{self.domain}", server_ip)) is not None:
            fixed.append(ns)
        for empty in ("svc", "pod"):
            self.parents[f"{empty}.{self.domain}"] += 1  # exist even with nothing below them yet
        self.put("", fixed)

    # -- changes ---------------------------------------------------------------------------------------------

    def put(self, key: str, records: list[Record]) -> None:
        """Make ``records`` the whole contribution of source ``key`` (empty: remove it)."""
        for record in self.sources.pop(key, []):
            self._remove(record)
        if records:
            self.sources[key] = list(records)
            for record in records:
                self._add(record)

    def _add(self, r: Record) -> None:
        self.owners.setdefault(r.name, {}).setdefault(r.rdtype, []).append(r)
        for parent in self._parents(r.name):
            self.parents[parent] += 1

    def _remove(self, r: Record) -> None:
        types = self.owners[r.name]
        types[r.rdtype].remove(r)
        if not types[r.rdtype]:
            del types[r.rdtype]
            if not types:
                del self.owners[r.name]
        for parent in self._parents(r.name):
            self.parents[parent] -= 1
            if not self.parents[parent]:
                del self.parents[parent]

    def _parents(self, name: str) -> list[str]:
        """The names between ``name`` and the zone's apex, both excluded (none outside the zone)."""
        if not name.endswith("." + self.domain):
            return []
        labels = name[: -len(self.domain) - 1].split(".")
        return [".".join(labels[i:]) + "." + self.domain for i in range(1, len(labels))]

    # -- questions -------------------------------------------------------------------------------------------

    def contains(self, name: str) -> bool:
        return name == self.domain or name.endswith("." + self.domain)

    def lookup(self, name: str, rdtype: int, depth: int = 0) -> Answer:
        """The answer to ``name``/``rdtype``; ``name`` as asked (any case, final dot or not). ``depth`` counts
        the CNAMEs followed to get here."""
        name = name.lower().rstrip(".")
        if not self.contains(name):
            if name.endswith(REVERSE_SUFFIXES) and name in self.owners:
                return self._records(name, rdtype, depth)
            return Answer(forward=True)
        if name in self.owners:
            return self._records(name, rdtype, depth)
        pod = self._pod(name)
        if pod is not None:
            return Answer(answer=[pod]) if rdtype in (pod.rdtype, ANY) else Answer(negative=True)
        if name in self.parents or self._pod_parent(name):
            return Answer(negative=True)
        return Answer(rcode=dns.rcode.NXDOMAIN, negative=True)

    def _records(self, name: str, rdtype: int, depth: int) -> Answer:
        types = self.owners[name]
        if CNAME in types and rdtype not in (CNAME, ANY):
            return self._alias(types[CNAME][0], rdtype, depth)
        found = [r for t, rs in types.items() for r in rs] if rdtype == ANY else list(types.get(rdtype, []))
        if not found:
            return Answer(negative=True)
        return Answer(answer=found, additional=self._targets(found))

    def _alias(self, cname: Record, rdtype: int, depth: int) -> Answer:
        target = cname.rdata.target.to_text(omit_final_dot=True).lower()
        if not self.contains(target):
            return Answer(answer=[cname], chase=target)
        if depth >= MAX_CNAMES:  # ExternalName Services that name each other in a ring
            return Answer(rcode=dns.rcode.SERVFAIL, answer=[cname])
        rest = self.lookup(target, rdtype, depth + 1)
        return Answer(rcode=rest.rcode, answer=[cname, *rest.answer], additional=rest.additional,
                      negative=rest.negative)

    def _targets(self, found: list[Record]) -> list[Record]:
        """The addresses of SRV targets, for the additional section (saves the client a round trip)."""
        out: list[Record] = []
        for r in found:
            if r.rdtype == dns.rdatatype.SRV:
                types = self.owners.get(r.rdata.target.to_text(omit_final_dot=True).lower(), {})
                out += types.get(dns.rdatatype.A, []) + types.get(dns.rdatatype.AAAA, [])
        return out

    def _pod(self, name: str) -> Record | None:
        """``a-b-c-d.<ns>.pod.<zone>`` as an A record for a.b.c.d (AAAA for a dashed IPv6 address)."""
        labels = name[: -len(self.domain) - 1].split(".")
        if len(labels) != 3 or labels[2] != "pod":
            return None
        text = labels[0].replace("-", "." if labels[0].count("-") == 3 else ":")
        try:
            ipaddress.ip_address(text)
        except ValueError:
            return None
        return address_record(name, text)

    def _pod_parent(self, name: str) -> bool:
        """``<ns>.pod.<zone>``: the parent of every pod name of the namespace."""
        labels = name[: -len(self.domain) - 1].split(".")
        return len(labels) == 2 and labels[1] == "pod"
