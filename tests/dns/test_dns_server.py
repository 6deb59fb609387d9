"""The DNS server over real sockets on loopback, without a cluster: the fast path against the full one, EDNS and
truncation, TCP, malformed queries, and forwarding to a dnsmasq the test starts (the only upstream it knows)."""

from __future__ import annotations

import asyncio
import random
import socket

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import pytest
from support.dnsmasq import Dnsmasq
from support.require import require

from portside.api.models import Endpoints, Service
from portside.dns import DNSServer, Forwarder, Zone, service_records
from portside.runtime.net.dnswire import parse

ZONE = "cluster.local"


def zone_with_services() -> Zone:
    zone = Zone(ZONE)
    web = Service.from_dict({"metadata": {"name": "web", "namespace": "ns1"},
                             "spec": {"clusterIP": "10.96.3.4", "ports": [{"name": "http", "port": 80}]}})
    zone.put("ns1/web", service_records(web, None, ZONE))
    big = Service.from_dict({"metadata": {"name": "big", "namespace": "ns1"}, "spec": {"clusterIP": "None"}})
    many = Endpoints.from_dict({"metadata": {"name": "big", "namespace": "ns1"}, "subsets": [
        {"addresses": [{"ip": f"10.42.{i // 250}.{i % 250 + 1}"} for i in range(100)], "ports": [{"port": 80}]}]})
    zone.put("ns1/big", service_records(big, many, ZONE))
    return zone


async def serving(forwarder: Forwarder | None = None) -> DNSServer:
    server = DNSServer(zone_with_services(), forwarder or Forwarder([]), "127.0.0.1", 0)
    await server.start()
    return server


def run(coro):
    return asyncio.run(coro)


def raw_udp(port: int, wire: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(wire, ("127.0.0.1", port))
        return s.recv(65535)


def test_a_repeated_question_is_answered_from_the_stored_reply_exactly_as_the_first_time():
    async def scenario():
        server = await serving()
        try:
            first = dns.message.make_query("web.ns1.svc.cluster.local", "A", use_edns=0)
            replies = [await asyncio.to_thread(raw_udp, server.port, first.to_wire())]
            assert server.cache.entries  # stored
            again = dns.message.make_query("WEB.ns1.svc.Cluster.Local", "A", use_edns=0)
            again.flags &= ~dns.flags.RD
            again.flags |= dns.flags.CD
            replies.append(await asyncio.to_thread(raw_udp, server.port, again.to_wire()))
            return first, again, [dns.message.from_wire(r) for r in replies]
        finally:
            await server.close()

    first, again, (a, b) = run(scenario())
    assert a.id == first.id and b.id == again.id
    assert a.flags & dns.flags.RD and not b.flags & dns.flags.RD and b.flags & dns.flags.CD
    assert b.question[0].name.to_text() == "WEB.ns1.svc.Cluster.Local."
    assert b.answer[0].name.to_text() == "WEB.ns1.svc.Cluster.Local."
    assert [r.address for r in b.answer[0]] == ["10.96.3.4"] and b.edns == 0 and b.flags & dns.flags.AA


def test_the_fast_path_reads_only_plain_queries():
    plain = dns.message.make_query("web.ns1.svc.cluster.local", "A")
    assert parse(plain.to_wire()).payload == 512
    assert parse(dns.message.make_query("web.ns1.svc.cluster.local", "A", use_edns=0, payload=4096).to_wire()) \
        .payload == 4096
    assert parse(dns.message.make_query("web.ns1.svc.cluster.local", "A", want_dnssec=True).to_wire()) is None
    assert parse(dns.message.make_query("web.ns1.svc.cluster.local", "A", use_edns=1).to_wire()) is None
    assert parse(plain.to_wire()[:20]) is None
    response = dns.message.make_response(plain).to_wire()
    assert parse(response) is None
    # a query type whose bytes look like a capital letter (65, HTTPS) is not folded into another type
    https = parse(dns.message.make_query("web.ns1.svc.cluster.local", 65).to_wire())
    assert https.key != parse(dns.message.make_query("web.ns1.svc.cluster.local", 97).to_wire()).key


def test_a_reply_too_big_for_udp_is_truncated_and_whole_over_tcp():
    async def scenario():
        server = await serving()
        try:
            query = dns.message.make_query("big.ns1.svc.cluster.local", "A")
            udp = [await dns.asyncquery.udp(query, "127.0.0.1", 2, server.port) for _ in range(2)]
            tcp = await dns.asyncquery.tcp(query, "127.0.0.1", 2, server.port)
            edns = await dns.asyncquery.udp(dns.message.make_query("big.ns1.svc.cluster.local", "A", use_edns=0,
                                                                   payload=4096), "127.0.0.1", 2, server.port)
            return udp, tcp, edns
        finally:
            await server.close()

    udp, tcp, edns = run(scenario())
    assert all(r.flags & dns.flags.TC and not r.answer for r in udp)  # the stored reply too
    assert len(tcp.answer[0]) == 100 and not tcp.flags & dns.flags.TC
    assert len(edns.answer[0]) == 100  # fits the client's 4096 bytes


def test_malformed_queries_get_formerr_and_responses_get_nothing():
    async def scenario():
        server = await serving()
        try:
            garbage = await asyncio.to_thread(raw_udp, server.port, b"\xab\xcd\x01\x00\x00\x01" + b"\xff" * 12)
            response = dns.message.make_response(dns.message.make_query("web.ns1.svc.cluster.local", "A"))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.3)
                s.sendto(response.to_wire(), ("127.0.0.1", server.port))
                with pytest.raises(TimeoutError):
                    s.recv(512)
            return garbage
        finally:
            await server.close()

    garbage = run(scenario())
    assert garbage[:2] == b"\xab\xcd" and garbage[3] & 0x0F == dns.rcode.FORMERR and garbage[2] & 0x80


def test_other_names_are_forwarded_to_the_upstream_and_servfail_without_one(tmp_path):
    require("root", "dnsmasq")

    async def scenario(upstream: str):
        answered = await serving(Forwarder([upstream], timeout=1))
        silent = await serving(Forwarder([f"127.53.{random.randrange(256)}.1"], timeout=0.3))
        try:
            query = dns.message.make_query("outside.example", "A")
            found = await dns.asyncquery.udp(query, "127.0.0.1", 3, answered.port)
            found_tcp = await dns.asyncquery.tcp(query, "127.0.0.1", 3, answered.port)
            missing = await dns.asyncquery.udp(dns.message.make_query("nosuch.example", "A"), "127.0.0.1", 3,
                                               answered.port)
            failed = await dns.asyncquery.udp(query, "127.0.0.1", 3, silent.port)
            return found, found_tcp, missing, failed
        finally:
            await answered.close()
            await silent.close()

    with Dnsmasq(tmp_path, {"outside.example": "192.0.2.7"}) as upstream:
        found, found_tcp, missing, failed = run(scenario(upstream.address))
    assert [r.address for r in found.answer[0]] == ["192.0.2.7"] and found.flags & dns.flags.RA
    assert [r.address for r in found_tcp.answer[0]] == ["192.0.2.7"]
    assert missing.rcode() == dns.rcode.NXDOMAIN
    assert failed.rcode() == dns.rcode.SERVFAIL


def test_the_server_never_forwards_to_itself():
    assert Forwarder(["10.42.0.1", "192.0.2.53"], own={"10.42.0.1"}).upstreams == ["192.0.2.53"]
