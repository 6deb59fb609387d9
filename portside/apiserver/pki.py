"""The cluster's credentials, made at first start and reused after: a CA, a serving certificate, the client
certificate the API server shows node agents, two tokens; and the signing of agents' serving certificates.

Files under ``DATA_DIR/pki`` (keys and tokens mode 0600). The serving certificate names 127.0.0.1, localhost,
the host name, the address the server listens on and every ``--tls-san`` (an IP or a DNS name), as k3s' does:
a client checks that the certificate names the address it dialled, so an agent reaching the server at
10.0.0.1 needs 10.0.0.1 in it. It is re-issued (by the same CA) whenever one of those names is missing. The
kubeconfigs are rewritten on every start because the port may change between starts.

The client certificate (``apiserver-kubelet-client.crt``, CN ``kube-apiserver-kubelet-client``, as Kubernetes
names it) is what every node agent requires of a caller. Each server of a cluster has its own, issued by the
shared CA, and issued anew when the CA it was signed by is no longer the cluster's.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import secrets
import socket
from dataclasses import dataclass

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from portside.client.certificates import APISERVER_CLIENT_CN, APISERVER_CLIENT_ORG, NODE_PREFIX, NODES_ORG

VALID_FOR = datetime.timedelta(days=3650)
KUBELET_CLIENT = "apiserver-kubelet-client"


@dataclass(frozen=True)
class Credentials:
    ca_cert: str
    server_cert: str
    server_key: str
    admin_token: str
    readonly_token: str
    kubelet_client_cert: str = ""  # what the server presents to node agents
    kubelet_client_key: str = ""

    @property
    def ca_key(self) -> str:
        return os.path.join(os.path.dirname(self.ca_cert), "ca.key")


def _write(path: str, data: bytes, private: bool = False) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _subject(common_name: str, organization: str = "") -> x509.Name:
    org = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)] if organization else []
    return x509.Name([*org, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: str | x509.Name, issuer: str | x509.Name, public_key) -> x509.CertificateBuilder:
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    return (x509.CertificateBuilder()
            .subject_name(subject if isinstance(subject, x509.Name) else _subject(subject))
            .issuer_name(issuer if isinstance(issuer, x509.Name) else _subject(issuer))
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + VALID_FOR))


def _make_ca(pki: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder("portside-ca", "portside-ca", key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256()))
    _write(os.path.join(pki, "ca.key"), _key_pem(key), private=True)
    _write(os.path.join(pki, "ca.crt"), cert.public_bytes(serialization.Encoding.PEM))


def san(text: str) -> x509.GeneralName:
    """An IP address or a DNS name, as ``--tls-san`` takes them."""
    try:
        return x509.IPAddress(ipaddress.ip_address(text))
    except ValueError:
        return x509.DNSName(text.lower())


def _names(extra: tuple[str, ...] = ()) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    host = socket.gethostname()
    if host and host != "localhost":
        names.append(x509.DNSName(host.lower()))
    for text in extra:
        name = san(text)
        if name not in names and text not in ("0.0.0.0", "::"):
            names.append(name)
    return names


def _serving_cert_current(path: str, extra: tuple[str, ...]) -> bool:
    if not os.path.exists(path):
        return False
    with open(path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return all(name in sans for name in _names(extra))


def _make_serving(pki: str, extra: tuple[str, ...]) -> None:
    with open(os.path.join(pki, "ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder("portside-apiserver", "portside-ca", key.public_key())
            .add_extension(x509.SubjectAlternativeName(_names(extra)), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write(os.path.join(pki, "server.key"), _key_pem(key), private=True)
    _write(os.path.join(pki, "server.crt"), cert.public_bytes(serialization.Encoding.PEM))


def _load_ca(ca_cert: str, ca_key: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    with open(ca_cert, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    with open(ca_key, "rb") as f:
        return cert, serialization.load_pem_private_key(f.read(), None)


def _issued_by_ca(path: str, pki: str) -> bool:
    """Whether the certificate at ``path`` exists and was signed by the CA in ``pki`` (not a replaced one)."""
    if not os.path.exists(path):
        return False
    with open(path, "rb") as f, open(os.path.join(pki, "ca.crt"), "rb") as g:
        cert, ca = x509.load_pem_x509_certificate(f.read()), x509.load_pem_x509_certificate(g.read())
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _make_kubelet_client(pki: str) -> None:
    ca_cert, ca_key = _load_ca(os.path.join(pki, "ca.crt"), os.path.join(pki, "ca.key"))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder(_subject(APISERVER_CLIENT_CN, APISERVER_CLIENT_ORG), ca_cert.subject, key.public_key())
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write(os.path.join(pki, KUBELET_CLIENT + ".key"), _key_pem(key), private=True)
    _write(os.path.join(pki, KUBELET_CLIENT + ".crt"), cert.public_bytes(serialization.Encoding.PEM))


def sign_node_serving(ca_cert: str, ca_key: str, node: str, public_key, ips: list[str]) -> bytes:
    """A node agent's serving certificate (PEM): subject ``system:node:NODE`` in ``system:nodes``, the node's
    name as its one DNS name and ``ips`` as its addresses, for server authentication only."""
    ca, key = _load_ca(ca_cert, ca_key)
    names = [x509.DNSName(node), *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips)]
    cert = (_builder(_subject(NODE_PREFIX + node, NODES_ORG), ca.subject, public_key)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                           critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def serving_names(server_cert: str) -> tuple[set[str], set[str]]:
    """The DNS names and IP addresses a server's serving certificate carries."""
    with open(server_cert, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return ({n.lower() for n in sans.get_values_for_type(x509.DNSName)},
            {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)})


def _tokens(pki: str) -> dict[str, str]:
    path = os.path.join(pki, "tokens.json")
    if not os.path.exists(path):
        tokens = {"admin": secrets.token_urlsafe(32), "readonly": secrets.token_urlsafe(32)}
        _write(path, json.dumps(tokens).encode(), private=True)
    with open(path) as f:
        return json.load(f)


def ensure(data_dir: str, sans: tuple[str, ...] = ()) -> Credentials:
    """Create whatever credentials are missing under ``data_dir`` and return their paths and tokens; ``sans``:
    the addresses and names the serving certificate must carry besides the defaults."""
    pki = os.path.join(data_dir, "pki")
    os.makedirs(pki, mode=0o700, exist_ok=True)
    if not os.path.exists(os.path.join(pki, "ca.crt")):
        _make_ca(pki)
    if not _serving_cert_current(os.path.join(pki, "server.crt"), sans):
        _make_serving(pki, sans)
    client = os.path.join(pki, KUBELET_CLIENT)
    if not _issued_by_ca(client + ".crt", pki):
        _make_kubelet_client(pki)
    tokens = _tokens(pki)
    return Credentials(os.path.join(pki, "ca.crt"), os.path.join(pki, "server.crt"), os.path.join(pki, "server.key"),
                       tokens["admin"], tokens["readonly"], client + ".crt", client + ".key")


def kubeconfig(server: str, token: str, ca_cert: str | None, user: str) -> dict:
    cluster: dict = {"server": server}
    if ca_cert:
        with open(ca_cert, "rb") as f:
            cluster["certificate-authority-data"] = base64.b64encode(f.read()).decode()
    return {"apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "portside", "cluster": cluster}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "portside", "context": {"cluster": "portside", "user": user,
                                                          "namespace": "default"}}],
            "current-context": "portside"}


def write_kubeconfigs(data_dir: str, server: str, creds: Credentials, tls: bool) -> str:
    """``kubeconfig.yaml`` (admin) and ``kubeconfig-readonly.yaml``; returns the admin one's path."""
    ca = creds.ca_cert if tls else None
    for name, token, user in (("kubeconfig.yaml", creds.admin_token, "admin"),
                              ("kubeconfig-readonly.yaml", creds.readonly_token, "readonly")):
        text = yaml.safe_dump(kubeconfig(server, token, ca, user), sort_keys=False)
        _write(os.path.join(data_dir, name), text.encode(), private=True)
    return os.path.join(data_dir, "kubeconfig.yaml")
