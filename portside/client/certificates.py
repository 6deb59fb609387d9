"""A node agent's serving certificate, asked of the API server (the agent's side; ``apiserver.nodecerts`` signs).

The agent makes a fresh key on every start, keeps it in memory, and sends only a certificate request for its
addresses to ``SERVING_CERT_PATH`` with its own credential: the server names the certificate after the node the
credential is for (``system:node:NAME``, with ``NAME`` as a DNS name), signs it with the cluster CA and answers
it with that CA, which is also what the agent verifies its callers' client certificates against. Asking on every
start rather than once at join keeps a changed ``--node-ip`` (or address) right, needs no renewal, and is the
same path for ``portside up``'s own agent, which never joins. k3s' agents fetch their kubelet serving
certificate the same way on each start.

Also here, as the one place both sides read them: the identity the API server's client certificate carries,
the only caller an agent serves.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SERVING_CERT_PATH = "/v1-portside/node-serving-certificate"
NODE_PREFIX = "system:node:"
NODES_ORG = "system:nodes"
APISERVER_CLIENT_CN = "kube-apiserver-kubelet-client"  # Kubernetes' name for the same certificate
APISERVER_CLIENT_ORG = "system:masters"

__all__ = ["APISERVER_CLIENT_CN", "APISERVER_CLIENT_ORG", "NODES_ORG", "NODE_PREFIX", "SERVING_CERT_PATH",
           "ServingCertificate", "request_serving_certificate"]


@dataclass(frozen=True)
class ServingCertificate:
    """PEM bytes: the certificate, its private key (never sent anywhere), and the CA that issued it."""

    cert: bytes
    key: bytes
    ca: bytes


def _request(node: str, addresses: list[str], key: ec.EllipticCurvePrivateKey) -> bytes:
    ips = [x509.IPAddress(ipaddress.ip_address(a)) for a in dict.fromkeys(addresses)]
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, NODES_ORG),
                                    x509.NameAttribute(NameOID.COMMON_NAME, NODE_PREFIX + node)]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(node), *ips]), critical=False)
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


async def request_serving_certificate(client, node: str, addresses: list[str]) -> ServingCertificate:
    """A certificate for ``node`` serving on ``addresses`` (IPs), signed by the cluster CA; ``client`` is a
    ``portside.client.Client`` holding the node's credential (or the admin's, for ``portside up``'s own node)."""
    key = ec.generate_private_key(ec.SECP256R1())
    answer = await client.request("POST", SERVING_CERT_PATH,
                                  body={"nodeName": node, "csr": _request(node, addresses, key).decode()})
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return ServingCertificate(answer["certificate"].encode(), key_pem, answer["ca"].encode())
