"""Client certificates signed by the cluster CA: how users (``portside kubeconfig --user``) and the control plane's
own components prove who they are.

The certificate's Common Name is the user and its Organizations are the groups, as Kubernetes reads them; it is
for client authentication only (a certificate without that usage does not authenticate). A component's
certificate lives in ``DATA_DIR/pki/components/`` and is issued anew when it is missing, names another identity,
or was signed by a CA the cluster no longer uses (a server that joined another cluster's store).
"""

from __future__ import annotations

import base64
import datetime
import os
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

USER_VALID_FOR = datetime.timedelta(days=365)
COMPONENT_VALID_FOR = datetime.timedelta(days=3650)


def _load_ca(pki: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    return ca, serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)


def subject(user: str, groups: tuple[str, ...] = ()) -> x509.Name:
    return x509.Name([*(x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups),
                      x509.NameAttribute(NameOID.COMMON_NAME, user)])


def issue(pki: Path, user: str, groups: tuple[str, ...] = (), valid_for: datetime.timedelta = USER_VALID_FOR
          ) -> tuple[bytes, bytes]:
    """A new key and a client certificate for ``user`` in ``groups`` (PEM), signed by the CA in ``pki``."""
    if not user:
        raise ValueError("a user name is required")
    ca, ca_key = _load_ca(pki)
    key = ec.generate_private_key(ec.SECP256R1())
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    cert = (x509.CertificateBuilder().subject_name(subject(user, groups)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + valid_for)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _current(cert_path: Path, pki: Path, user: str, groups: tuple[str, ...]) -> bool:
    if not cert_path.exists():
        return False
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    ca = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    expires = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return cert.subject == subject(user, groups) and expires > datetime.timedelta(days=30)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def component(data_dir: str, stem: str, user: str, groups: tuple[str, ...] = ()) -> tuple[str, str]:
    """(certificate path, key path) of a component's client certificate, issued when it is not current."""
    pki = Path(data_dir) / "pki"
    where = pki / "components"
    where.mkdir(mode=0o700, exist_ok=True)
    cert_path, key_path = where / f"{stem}.crt", where / f"{stem}.key"
    if not _current(cert_path, pki, user, groups):
        cert, key = issue(pki, user, groups, COMPONENT_VALID_FOR)
        _write(key_path, key, 0o600)
        _write(cert_path, cert, 0o644)
    return str(cert_path), str(key_path)


def kubeconfig(server: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes, user: str,
               namespace: str = "default") -> str:
    """A kubeconfig whose user is a client certificate, everything inline (it works wherever it is copied)."""
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()
    doc = {"apiVersion": "v1", "kind": "Config", "preferences": {},
           "clusters": [{"name": "portside", "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)}}],
           "users": [{"name": user, "user": {"client-certificate-data": b64(cert_pem),
                                             "client-key-data": b64(key_pem)}}],
           "contexts": [{"name": f"{user}@portside", "context": {"cluster": "portside", "user": user,
                                                                 "namespace": namespace}}],
           "current-context": f"{user}@portside"}
    return yaml.safe_dump(doc, sort_keys=False)
