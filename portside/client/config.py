"""Where the API is and how to prove who we are: from a kubeconfig file or given directly."""

from __future__ import annotations

import base64
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

    @property
    def servers(self) -> tuple[str, ...]:
        return tuple(s.strip().rstrip("/") for s in self.server.split(",") if s.strip())

    def ssl_context(self) -> ssl.SSLContext | bool:
        if not self.server.startswith("https://"):
            return False
        if self.ca_data is None:
            return ssl.create_default_context()
        return ssl.create_default_context(cadata=self.ca_data.decode())


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
    ca = cluster.get("certificate-authority-data")
    ca_bytes = base64.b64decode(ca) if ca else None
    if ca_bytes is None and cluster.get("certificate-authority"):
        with open(cluster["certificate-authority"], "rb") as f:
            ca_bytes = f.read()
    return ClientConfig(cluster.get("server", ""), user.get("token", ""), ca_bytes)
