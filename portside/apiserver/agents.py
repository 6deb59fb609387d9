"""How the API server reaches node agents (for logs, exec, usage and history), as kube-apiserver reaches kubelets.

Each agent publishes where it serves in its Node: ``status.daemonEndpoints.kubeletEndpoint.Port`` on the first
``InternalIP`` of ``status.addresses``. It serves HTTPS there with a certificate the cluster CA issued for its
node (``nodecerts``), and serves only a caller presenting the API server's client certificate
(``pki``: CN ``kube-apiserver-kubelet-client``).

The API server dials that address, checks the agent's certificate against the cluster CA, and requires it to
name the node: the node's name is the host name the TLS handshake verifies (the certificate's DNS name), so a
certificate of another node is refused even at the same address (several agents on one machine all serve on
127.0.0.1), and nothing is sent before it is. kube-apiserver verifies kubelets only when given
``--kubelet-certificate-authority``; here it is always on.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from typing import Any

import aiohttp

from portside.apiserver.pki import Credentials

__all__ = ["AgentClient", "Endpoint", "endpoint"]


@dataclass(frozen=True)
class Endpoint:
    node: str
    url: str  # https://ADDRESS:PORT


def endpoint(node: dict[str, Any]) -> Endpoint | None:
    """Where a node's agent serves, from its Node object; None while it publishes no port."""
    status = node.get("status") or {}
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    if not port:
        return None
    addresses = [a.get("address") for a in status.get("addresses") or [] if a.get("type") == "InternalIP"]
    host = addresses[0] if addresses else "127.0.0.1"
    if isinstance(_ip(host), ipaddress.IPv6Address):
        host = f"[{host}]"
    return Endpoint((node.get("metadata") or {}).get("name", ""), f"https://{host}:{port}")


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class AgentClient:
    """The API server's TLS identity toward agents, and requests made with it."""

    def __init__(self, creds: Credentials) -> None:
        self.ssl = ssl.create_default_context(cafile=creds.ca_cert)
        self.ssl.load_cert_chain(creds.kubelet_client_cert, creds.kubelet_client_key)

    def get(self, session: aiohttp.ClientSession, to: Endpoint, path: str, headers: dict[str, str] | None = None):
        """``session.get`` of ``path`` on the agent (use as ``async with``)."""
        return session.get(to.url + path, headers=headers, ssl=self.ssl, server_hostname=to.node)

    async def ws_connect(self, session: aiohttp.ClientSession, to: Endpoint, path: str,
                         protocols: list[str]) -> aiohttp.ClientWebSocketResponse:
        return await session.ws_connect(to.url + path, protocols=protocols, ssl=self.ssl, server_hostname=to.node)
