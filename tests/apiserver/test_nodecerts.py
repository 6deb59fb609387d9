"""Node agents' serving certificates, signed by an in-process API server (over TLS, with real node credentials
from the join flow): what a node gets, and what it may not ask for."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from support.net import free_port

from portside.apiserver import APIServer, ServerConfig
from portside.client import Client, ClientConfig, Forbidden
from portside.client.certificates import request_serving_certificate
from portside.client.join import fetch_ca, node_credential

SERVER_SAN = "10.9.9.9"


@contextlib.asynccontextmanager
async def clients(tmp_path: Path):
    """The admin's, the read-only and node n1's clients of a fresh server."""
    port = free_port()
    server = APIServer(ServerConfig(str(tmp_path), port=port, tls_sans=(SERVER_SAN,)))
    await server.start()
    url = f"https://127.0.0.1:{port}"
    try:
        ca = await fetch_ca(url, server.join_token, "n1")
        node = await node_credential(url, ca, server.join_token, "n1")
        tokens = json.loads((tmp_path / "pki" / "tokens.json").read_text())
        admin, readonly = tokens["admin"], tokens["readonly"]
        made = [Client(ClientConfig(url, token, ca)) for token in (admin, readonly, node)]
        try:
            yield made
        finally:
            for c in made:
                await c.close()
    finally:
        await server.stop()


def test_a_node_gets_a_certificate_for_its_own_name_and_addresses(tmp_path):
    async def body():
        async with clients(tmp_path) as (admin, readonly, node):
            got = await request_serving_certificate(node, "n1", ["10.1.2.3", "127.0.0.1"])
            with pytest.raises(Forbidden, match="a node may only ask for its own"):
                await request_serving_certificate(node, "n2", ["10.1.2.4"])
            with pytest.raises(Forbidden, match=f"may not carry the address {SERVER_SAN}"):
                await request_serving_certificate(node, "n1", [SERVER_SAN])
            refusal = 'User "readonly" cannot post path "/v1-portside/node-serving-certificate"'
            with pytest.raises(Forbidden, match=refusal):
                await request_serving_certificate(readonly, "n1", ["10.1.2.3"])
            assert (await request_serving_certificate(admin, "any-node", [SERVER_SAN])).cert
            with pytest.raises(Forbidden, match='cannot get resource "nodes/proxy"'):
                await node.request("GET", "/api/v1/nodes/n1/proxy/stats/summary")
            return got
    got = asyncio.run(body())
    cert = x509.load_pem_x509_certificate(got.cert)
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(got.ca))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:n1"
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["n1"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.1.2.3", "127.0.0.1"]
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert b"PRIVATE KEY" in got.key


def test_ups_own_node_is_signed_in_process_for_the_servers_own_name_and_address(tmp_path):
    """What no node credential may ask for (the host's name and address, which the server's certificate carries),
    the server that holds the CA signs for its own agent, with no credential at all."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from portside.apiserver.nodecerts import issue_own_node
    from portside.apiserver.pki import ensure

    ensure(str(tmp_path), (SERVER_SAN,))
    cert_pem, key_pem, ca_pem = issue_own_node(str(tmp_path), "host-1", [SERVER_SAN, SERVER_SAN])
    cert = x509.load_pem_x509_certificate(cert_pem)
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_pem))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:host-1"
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == [SERVER_SAN]
    assert load_pem_private_key(key_pem, None).public_key().public_numbers() == cert.public_key().public_numbers()
