"""The agent endpoint's TLS: a serving certificate from the cluster CA, and only the API server let in.

The agent asks the API server for its serving certificate on every start (``client.certificates``), for its
node's InternalIP, and serves HTTPS with it. Clients are asked for a certificate (``CERT_OPTIONAL``: one that
is presented must verify against the cluster CA, or the handshake fails), and ``require_apiserver`` then
answers 401 to a request without one and 403 to a certificate of anyone but the API server
(``kube-apiserver-kubelet-client`` in ``system:masters``), as a kubelet with anonymous access off does. Only
the API server calls agents: ``kubectl`` reaches them through it (pods/log, pods/exec, nodes/proxy).
"""

from __future__ import annotations

import os
import ssl

from aiohttp import web

from portside.client.certificates import APISERVER_CLIENT_CN, APISERVER_CLIENT_ORG, ServingCertificate


def server_context(identity: ServingCertificate) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cadata=identity.ca.decode())
    ctx.verify_mode = ssl.CERT_OPTIONAL
    _load_chain(ctx, identity.key + identity.cert)
    return ctx


def _load_chain(ctx: ssl.SSLContext, pem: bytes) -> None:
    """``load_cert_chain`` reads only from a path: the key goes through an anonymous memory file, never a disk."""
    fd = os.memfd_create("portside-agent-serving", os.MFD_CLOEXEC)
    try:
        os.write(fd, pem)
        ctx.load_cert_chain(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def _subject(peer: dict) -> dict[str, str]:
    return {k: v for rdn in peer.get("subject", ()) for k, v in rdn}


@web.middleware
async def require_apiserver(request: web.Request, handler):
    peer = request.transport.get_extra_info("peercert") if request.transport is not None else None
    if not peer:
        raise web.HTTPUnauthorized(text="Unauthorized: this endpoint serves the API server only, which presents its "
                                        "client certificate (reach it through the API: kubectl logs, exec, top)\n")
    subject = _subject(peer)
    if subject.get("commonName") != APISERVER_CLIENT_CN or subject.get("organizationName") != APISERVER_CLIENT_ORG:
        raise web.HTTPForbidden(text=f'Forbidden: user "{subject.get("commonName", "")}" may not use the node '
                                     f"agent's endpoint: only the API server ({APISERVER_CLIENT_CN}) may\n")
    return await handler(request)
