"""A parsed query and the zone's ``Answer`` to it, as a dnspython response message. Pure.

The server is authoritative for the cluster zone (AA set) and recursive for the rest through its upstream
resolvers (RA set). Negative answers carry the zone's SOA in the authority section. Responses to EDNS queries
carry an OPT record advertising ``EDNS_PAYLOAD`` (1232 bytes, the size DNS flag day 2020 settled on); an EDNS
version other than 0 is answered BADVERS, as RFC 6891 asks.
"""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rrset

from portside.dns.records import IN, Record
from portside.dns.zone import Answer, Zone

__all__ = ["EDNS_PAYLOAD", "TTL", "error", "respond"]

TTL = 5  # seconds; CoreDNS' default for cluster records: short, since Services and endpoints move
EDNS_PAYLOAD = 1232


def _base(query: dns.message.Message) -> dns.message.Message:
    response = dns.message.make_response(query, our_payload=EDNS_PAYLOAD)
    response.flags |= dns.flags.RA
    return response


def error(query: dns.message.Message, rcode: int) -> dns.message.Message:
    """SERVFAIL, REFUSED, NOTIMP, FORMERR, BADVERS: a header and the question, nothing else."""
    response = _base(query)
    response.set_rcode(rcode)
    return response


def _add(section: list[dns.rrset.RRset], owner: dns.name.Name, record: Record) -> None:
    for rrset in section:
        if rrset.name == owner and rrset.rdtype == record.rdtype:
            rrset.add(record.rdata)
            return
    rrset = dns.rrset.RRset(owner, IN, record.rdtype)
    rrset.update_ttl(TTL)
    rrset.add(record.rdata, TTL)
    section.append(rrset)


def respond(query: dns.message.Message, zone: Zone) -> tuple[dns.message.Message, Answer]:
    """The response to ``query`` and the zone's answer behind it; when ``answer.forward`` is set, the response
    is only a placeholder (SERVFAIL) for the caller to replace with the upstream's."""
    if query.opcode() != dns.opcode.QUERY:
        return error(query, dns.rcode.NOTIMP), Answer()
    if query.edns > 0:
        return error(query, dns.rcode.BADVERS), Answer()
    if len(query.question) != 1 or query.question[0].rdclass not in (dns.rdataclass.IN, dns.rdataclass.ANY):
        return error(query, dns.rcode.REFUSED if query.question else dns.rcode.FORMERR), Answer()
    question = query.question[0]
    found = zone.lookup(question.name.to_text(), question.rdtype)
    if found.forward:
        return error(query, dns.rcode.SERVFAIL), found
    response = _base(query)
    response.flags |= dns.flags.AA
    response.set_rcode(found.rcode)
    for record in found.answer:
        # The first answers are named as asked (their case kept, and compressed against the question).
        owner = question.name if record.name == found.answer[0].name else dns.name.from_text(record.name + ".")
        _add(response.answer, owner, record)
    for record in found.additional:
        _add(response.additional, dns.name.from_text(record.name + "."), record)
    if found.negative:
        _add(response.authority, dns.name.from_text(zone.domain + "."), zone.soa)
    return response, found
