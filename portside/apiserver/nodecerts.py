"""Signing node agents' serving certificates (``POST /v1-portside/node-serving-certificate``; the agent's side is
``portside.client.certificates``).

Kubernetes has kubelets send a CertificateSigningRequest object, which someone approves before a signer issues
it; k3s' server signs its agents' kubelet serving certificates directly, over the node's credential, on every
agent start. Portside does as k3s does: the caller is already authenticated as ``system:node:NAME``, and what
gets signed is decided here, not by an approver, so a CSR object would add a resource and a round trip and
check nothing more. The certificate request only carries the key and the addresses; the rest is fixed here:

- the subject is ``system:node:NAME`` and the one DNS name is ``NAME``, where ``NAME`` is the caller's node (a
  node credential cannot ask for another node's certificate; the admin credential may name any node);
- IP addresses only, at most ``MAX_ADDRESSES``. A node may not claim a name or a non-loopback address that this
  server's own serving certificate carries: a node's certificate is issued by the same CA, and would otherwise
  pass for the API server with clients dialling that name or address. (The API server itself identifies an
  agent by the node name in its certificate, checked in the TLS handshake, so no address claim lets one node
  answer for another.)

The answer carries the CA too: the agent verifies its callers' client certificates against it.

``portside up``'s own node is named after the host and serves on the host's address, both of which the API
server's certificate carries, so no node credential may ask for it: the server that holds the CA signs it in
process (``issue_own_node``), and that agent needs no credential but its node's.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from pathlib import Path

from aiohttp import web
from cryptography import x509

from portside.apiserver import errors, pki
from portside.apiserver.auth import USER
from portside.apiserver.handlers import json_body
from portside.client.certificates import SERVING_CERT_PATH

log = logging.getLogger("portside.apiserver")
MAX_ADDRESSES = 8
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


class ServingCertificates:
    def __init__(self, creds: pki.Credentials) -> None:
        self.creds = creds
        self.ca_pem = Path(creds.ca_cert).read_text()

    def routes(self, app: web.Application) -> None:
        app.router.add_post(SERVING_CERT_PATH, self.sign)

    async def sign(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        node = str(body.get("nodeName", "")) if isinstance(body, dict) else ""
        user = request[USER]  # never None: this path is not an anonymous one
        if user.read_only:
            raise errors.forbidden(f'User "{user.name}" cannot create node serving certificates: the read-only '
                                   f'token may only get, list and watch')
        if len(node) > 253 or not _SUBDOMAIN.fullmatch(node):
            raise errors.bad_request(f"nodeName: Invalid value: {node!r}: a node name must be a lowercase RFC 1123 "
                                     f"subdomain")
        if user.node and user.node != node:
            raise errors.forbidden(f'User "{user.name}" cannot obtain a serving certificate for node "{node}": '
                                   f'a node may only ask for its own')
        csr = _csr(body.get("csr"))
        ips = _addresses(csr)
        if user.node:
            self._refuse_server_names(node, ips)
        cert = pki.sign_node_serving(self.creds.ca_cert, self.creds.ca_key, node, csr.public_key(), ips)
        log.info("issued node %r its serving certificate for %s", node, ", ".join(ips) or "no address")
        return web.json_response({"certificate": cert.decode(), "ca": self.ca_pem})

    def _refuse_server_names(self, node: str, ips: list[str]) -> None:
        names, addresses = pki.serving_names(self.creds.server_cert)
        taken = [ip for ip in ips if ip in addresses and not ipaddress.ip_address(ip).is_loopback]
        if node in names or taken:
            what = f"node name {node!r}" if node in names else f"address {taken[0]}"
            raise errors.forbidden(f"a node's serving certificate may not carry the {what}: the API server's own "
                                   f"certificate names it")


def issue_own_node(data_dir: str, node: str, ips: list[str]) -> tuple[bytes, bytes, bytes]:
    """(certificate, private key, CA) in PEM for this server's own node, signed with the CA under ``data_dir``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = str(Path(data_dir) / "pki" / "ca.crt")
    cert = pki.sign_node_serving(ca_cert, str(Path(ca_cert).with_name("ca.key")), node, key.public_key(),
                                 list(dict.fromkeys(ips)))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert, key_pem, Path(ca_cert).read_bytes()


def _csr(text: object) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_pem_x509_csr(str(text or "").encode())
    except ValueError:
        raise errors.bad_request("csr: expected a PEM certificate signing request") from None
    if not csr.is_signature_valid:
        raise errors.bad_request("csr: the request's signature does not verify")
    return csr


def _addresses(csr: x509.CertificateSigningRequest) -> list[str]:
    """The IP addresses the request asks for (its DNS names are ignored: the node's name is the one)."""
    try:
        sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    ips = [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    if len(ips) > MAX_ADDRESSES:
        raise errors.bad_request(f"csr: {len(ips)} IP addresses asked for, at most {MAX_ADDRESSES} are signed")
    return list(dict.fromkeys(ips))
