"""The name-to-answer logic without a cluster: Services and Endpoints in, dnspython responses out, checked against
the Kubernetes DNS specification's records and an authoritative server's NXDOMAIN/NODATA rules."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

from portside.api.models import Endpoints, Service
from portside.dns import Zone, respond, service_records

ZONE = "cluster.local"


def svc(name: str, ns: str = "ns1", cluster_ip: str = "10.96.3.4", ports=(("http", 80, "TCP"),), **spec) -> Service:
    body = {"clusterIP": cluster_ip, "ports": [{"name": n, "port": p, "protocol": t} for n, p, t in ports], **spec}
    return Service.from_dict({"metadata": {"name": name, "namespace": ns}, "spec": body})


def eps(name: str, ready=(), not_ready=(), ports=(("http", 8080, "TCP"),), ns: str = "ns1") -> Endpoints:
    def address(a):
        ip, host = a if isinstance(a, tuple) else (a, None)
        return {"ip": ip, **({"hostname": host} if host else {})}
    subset = {"addresses": [address(a) for a in ready], "notReadyAddresses": [address(a) for a in not_ready],
              "ports": [{"name": n, "port": p, "protocol": t} for n, p, t in ports]}
    return Endpoints.from_dict({"metadata": {"name": name, "namespace": ns}, "subsets": [subset]})


@pytest.fixture
def zone() -> Zone:
    z = Zone(ZONE, "10.42.0.1")
    z.put("ns1/web", service_records(svc("web", ports=(("http", 80, "TCP"), ("dns", 53, "UDP"), ("", 81, "TCP"))),
                                     None, ZONE))
    z.put("ns1/db", service_records(svc("db", cluster_ip="None"), eps("db", [("10.42.0.5", "db-0"), "10.42.0.6"],
                                                                      ["10.42.0.9"]), ZONE))
    z.put("ns1/ext", service_records(svc("ext", cluster_ip="", type="ExternalName",
                                         externalName="db.ns1.svc.cluster.local"), None, ZONE))
    z.put("ns1/far", service_records(svc("far", cluster_ip="", type="ExternalName", externalName="www.example.org"),
                                     None, ZONE))
    return z


def ask(zone: Zone, name: str, rdtype: str = "A") -> dns.message.Message:
    return respond(dns.message.make_query(name, rdtype), zone)[0]


def texts(response: dns.message.Message, section: str = "answer") -> list[str]:
    return sorted(f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} {r.to_text()}"
                  for rrset in getattr(response, section) for r in rrset)


def test_a_service_with_a_cluster_ip_has_an_a_record(zone):
    r = ask(zone, "web.ns1.svc.cluster.local")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert texts(r) == ["web.ns1.svc.cluster.local. A 10.96.3.4"]
    assert r.answer[0].ttl == 5


def test_names_compare_case_insensitively_and_keep_the_askers_spelling(zone):
    r = ask(zone, "WEB.Ns1.SVC.cluster.local.")
    assert texts(r) == ["WEB.Ns1.SVC.cluster.local. A 10.96.3.4"]


def test_srv_for_each_named_port_with_the_address_in_additional(zone):
    assert texts(ask(zone, "_http._tcp.web.ns1.svc.cluster.local", "SRV")) == [
        "_http._tcp.web.ns1.svc.cluster.local. SRV 0 100 80 web.ns1.svc.cluster.local."]
    r = ask(zone, "_dns._udp.web.ns1.svc.cluster.local", "SRV")
    assert texts(r) == ["_dns._udp.web.ns1.svc.cluster.local. SRV 0 100 53 web.ns1.svc.cluster.local."]
    assert texts(r, "additional") == ["web.ns1.svc.cluster.local. A 10.96.3.4"]
    assert ask(zone, "_dns._tcp.web.ns1.svc.cluster.local", "SRV").rcode() == dns.rcode.NXDOMAIN


def test_ptr_for_a_cluster_ip(zone):
    assert texts(ask(zone, "4.3.96.10.in-addr.arpa", "PTR")) == [
        "4.3.96.10.in-addr.arpa. PTR web.ns1.svc.cluster.local."]


def test_headless_service_answers_ready_addresses_only(zone):
    assert texts(ask(zone, "db.ns1.svc.cluster.local")) == ["db.ns1.svc.cluster.local. A 10.42.0.5",
                                                            "db.ns1.svc.cluster.local. A 10.42.0.6"]


def test_endpoint_names_are_the_hostname_or_the_dashed_address(zone):
    assert texts(ask(zone, "db-0.db.ns1.svc.cluster.local")) == ["db-0.db.ns1.svc.cluster.local. A 10.42.0.5"]
    assert texts(ask(zone, "10-42-0-6.db.ns1.svc.cluster.local")) == [
        "10-42-0-6.db.ns1.svc.cluster.local. A 10.42.0.6"]
    assert ask(zone, "10-42-0-9.db.ns1.svc.cluster.local").rcode() == dns.rcode.NXDOMAIN  # not ready
    assert texts(ask(zone, "5.0.42.10.in-addr.arpa", "PTR")) == [
        "5.0.42.10.in-addr.arpa. PTR db-0.db.ns1.svc.cluster.local."]


def test_headless_srv_names_every_ready_endpoint(zone):
    r = ask(zone, "_http._tcp.db.ns1.svc.cluster.local", "SRV")
    assert texts(r) == ["_http._tcp.db.ns1.svc.cluster.local. SRV 0 50 8080 10-42-0-6.db.ns1.svc.cluster.local.",
                        "_http._tcp.db.ns1.svc.cluster.local. SRV 0 50 8080 db-0.db.ns1.svc.cluster.local."]
    assert len(r.additional) == 2


def test_headless_without_ready_endpoints_is_nxdomain():
    z = Zone(ZONE)
    z.put("ns1/db", service_records(svc("db", cluster_ip="None"), eps("db", [], ["10.42.0.9"]), ZONE))
    assert ask(z, "db.ns1.svc.cluster.local").rcode() == dns.rcode.NXDOMAIN


def test_external_name_is_a_cname_followed_inside_the_zone(zone):
    r = ask(zone, "ext.ns1.svc.cluster.local")
    assert texts(r)[0] == "db.ns1.svc.cluster.local. A 10.42.0.5"
    assert "ext.ns1.svc.cluster.local. CNAME db.ns1.svc.cluster.local." in texts(r)
    far = respond(dns.message.make_query("far.ns1.svc.cluster.local", "A"), zone)[1]
    assert far.chase == "www.example.org" and [r.rdtype for r in far.answer] == [dns.rdatatype.CNAME]


def test_external_names_in_a_ring_end_in_servfail_not_a_crash():
    z = Zone(ZONE)
    for a, b in (("a", "b"), ("b", "a")):
        z.put(f"ns1/{a}", service_records(svc(a, cluster_ip="", type="ExternalName",
                                              externalName=f"{b}.ns1.svc.cluster.local"), None, ZONE))
    assert ask(z, "a.ns1.svc.cluster.local").rcode() == dns.rcode.SERVFAIL


@pytest.mark.parametrize("name", ["nosuch.ns1.svc.cluster.local", "web.ns2.svc.cluster.local",
                                  "x.web.ns1.svc.cluster.local", "nosuch.cluster.local", "ns2.svc.cluster.local"])
def test_unknown_names_are_nxdomain_with_the_soa(zone, name):
    r = ask(zone, name)
    assert r.rcode() == dns.rcode.NXDOMAIN and not r.answer
    assert [rrset.rdtype for rrset in r.authority] == [dns.rdatatype.SOA] and r.authority[0].name.to_text() == \
        "cluster.local."


@pytest.mark.parametrize(("name", "rdtype"), [("web.ns1.svc.cluster.local", "AAAA"),
                                              ("web.ns1.svc.cluster.local", "TXT"),
                                              ("ns1.svc.cluster.local", "A"), ("svc.cluster.local", "A"),
                                              ("_tcp.web.ns1.svc.cluster.local", "SRV"),
                                              ("ns1.pod.cluster.local", "A"), ("cluster.local", "A")])
def test_existing_names_without_that_type_are_nodata(zone, name, rdtype):
    r = ask(zone, name, rdtype)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer and r.authority


def test_pod_names_spell_their_address(zone):
    assert texts(ask(zone, "10-42-1-7.ns1.pod.cluster.local")) == ["10-42-1-7.ns1.pod.cluster.local. A 10.42.1.7"]
    assert ask(zone, "10-42-1-999.ns1.pod.cluster.local").rcode() == dns.rcode.NXDOMAIN


def test_schema_version_soa_and_ns(zone):
    assert texts(ask(zone, "dns-version.cluster.local", "TXT")) == ['dns-version.cluster.local. TXT "1.0.1"']
    assert texts(ask(zone, "cluster.local", "NS")) == ["cluster.local. NS ns.dns.cluster.local."]
    assert texts(ask(zone, "ns.dns.cluster.local")) == ["ns.dns.cluster.local. A 10.42.0.1"]
    assert ask(zone, "cluster.local", "SOA").answer


def test_names_outside_the_zone_are_forwarded(zone):
    for name, rdtype in (("example.org", "A"), ("1.1.168.192.in-addr.arpa", "PTR")):
        assert respond(dns.message.make_query(name, rdtype), zone)[1].forward


def test_a_changed_or_removed_service_takes_its_names_with_it(zone):
    zone.put("ns1/web", service_records(svc("web", cluster_ip="10.96.9.9"), None, ZONE))
    assert texts(ask(zone, "web.ns1.svc.cluster.local")) == ["web.ns1.svc.cluster.local. A 10.96.9.9"]
    assert ask(zone, "_dns._udp.web.ns1.svc.cluster.local", "SRV").rcode() == dns.rcode.NXDOMAIN
    assert not ask(zone, "4.3.96.10.in-addr.arpa", "PTR").answer
    for key in ("ns1/web", "ns1/db", "ns1/ext", "ns1/far"):
        zone.put(key, [])
    assert ask(zone, "ns1.svc.cluster.local").rcode() == dns.rcode.NXDOMAIN  # nothing left below it
    assert ask(zone, "svc.cluster.local").rcode() == dns.rcode.NOERROR


def test_queries_the_server_does_not_do_are_refused_or_not_implemented(zone):
    notify = dns.message.make_query("cluster.local", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    assert respond(notify, zone)[0].rcode() == dns.rcode.NOTIMP
    chaos = dns.message.make_query("version.bind", "TXT", "CH")
    assert respond(chaos, zone)[0].rcode() == dns.rcode.REFUSED
    newer = dns.message.make_query("web.ns1.svc.cluster.local", "A", use_edns=1)
    assert respond(newer, zone)[0].rcode() == dns.rcode.BADVERS
