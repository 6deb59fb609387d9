"""Where the API is and how to prove who we are: from a kubeconfig file or given directly."""

from __future__ import annotations

import base64
import os
import ssl
from dataclasses import dataclass

import yaml


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class ClientConfig:
    """``server`` may name several API servers of one cluster, comma-separated (an agent's ``--server A,B``):
    the client uses the first that answers and moves to the next when one stops answering."""

    server: str
    token: str = ""
    ca_data: bytes | None = None
    cert_data: bytes | None = None  # a client certificate and its key (PEM), instead of a token
    key_data: bytes | None = None

    @property
    def servers(self) -> tuple[str, ...]:
        return tuple(s.strip().rstrip("/") for s in self.server.split(",") if s.strip())

    def ssl_context(self) -> ssl.SSLContext | bool:
        if not self.server.startswith("https://"):
            return False
        ctx = ssl.create_default_context() if self.ca_data is None else \
            ssl.create_default_context(cadata=self.ca_data.decode())
        if self.cert_data and self.key_data:
            _load_client_certificate(ctx, self.cert_data, self.key_data)
        return ctx


def _load_client_certificate(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """``ssl`` reads certificates from a path only: the key goes through an anonymous memory file, never a disk."""
    fd = os.memfd_create("portside-client-certificate", os.MFD_CLOEXEC)
    try:
        os.write(fd, key + b"\n" + cert)
        ctx.load_cert_chain(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def _named(entries: list[dict], name: str, what: str, path: str) -> dict:
    for entry in entries or []:
        if entry.get("name") == name:
            return entry.get(what) or {}
    raise ConfigError(f"{path}: no {what} named {name!r}")


def load_kubeconfig(path: str, context: str | None = None) -> ClientConfig:
    """Server, bearer token and CA of the current (or named) context of a kubeconfig file."""
    try:
        with open(path) as f:
            doc = yaml.safe_load(f) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read kubeconfig {path}: {exc.strerror}") from None
    name = context or doc.get("current-context")
    if not name:
        raise ConfigError(f"{path}: no current-context and no context given")
    ctx = _named(doc.get("contexts"), name, "context", path)
    cluster = _named(doc.get("clusters"), ctx.get("cluster", ""), "cluster", path)
    user = _named(doc.get("users"), ctx.get("user", ""), "user", path)
    ca = _data(cluster, "certificate-authority", path)
    cert, key = _data(user, "client-certificate", path), _data(user, "client-key", path)
    if bool(cert) != bool(key):
        raise ConfigError(f"{path}: user {ctx.get('user', '')!r} has a client certificate without its key, or the "
                          f"other way round")
    token = user.get("token", "")
    if not token and user.get("tokenFile"):
        token = _read(user["tokenFile"], path).decode().strip()
    return ClientConfig(cluster.get("server", ""), token, ca, cert, key)


def _data(entry: dict, name: str, path: str) -> bytes | None:
    """``NAME-data`` (base64) or the file ``NAME`` names, as kubeconfigs give certificates and keys."""
    inline = entry.get(f"{name}-data")
    if inline:
        return base64.b64decode(inline)
    return _read(entry[name], path) if entry.get(name) else None


def _read(file: str, kubeconfig: str) -> bytes:
    where = file if os.path.isabs(file) else os.path.join(os.path.dirname(os.path.abspath(kubeconfig)), file)
    try:
        with open(where, "rb") as f:
            return f.read()
    except OSError as exc:
        raise ConfigError(f"{kubeconfig}: cannot read {file}: {exc.strerror}") from None
