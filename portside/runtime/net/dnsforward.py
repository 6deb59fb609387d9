"""Names a DNS server does not own: asked of upstream resolvers, in the order a resolv.conf lists them.

Each forwarded query goes out with an ID of its own (so that a spoofed answer must guess it) over UDP, and again
over TCP when the upstream's answer was truncated; an upstream that does not answer within ``timeout`` seconds
is passed over for the next. No upstream answering means SERVFAIL, which tells the client's resolver to try its
next search domain or give up, not that the name is absent. Upstreams that are this server's own addresses are
dropped, or a query would go round in a loop.
"""

from __future__ import annotations

import logging
import secrets

import dns.asyncquery
import dns.exception
import dns.message

__all__ = ["Forwarder"]

log = logging.getLogger("portside.dns")
TIMEOUT_S = 2.0


class Forwarder:
    def __init__(self, upstreams: list[str], own: set[str] | frozenset[str] = frozenset(),
                 timeout: float = TIMEOUT_S, port: int = 53) -> None:
        self.upstreams = [u for u in upstreams if u not in own]
        self.timeout, self.port = timeout, port

    async def ask(self, query: dns.message.Message) -> dns.message.Message | None:
        """The first upstream answer to ``query`` (with the query's ID), or None when none answered."""
        outgoing = dns.message.from_wire(query.to_wire())
        for upstream in self.upstreams:
            outgoing.id = secrets.randbelow(65536)
            try:
                response, _ = await dns.asyncquery.udp_with_fallback(outgoing, upstream, self.timeout, self.port)
            except (dns.exception.DNSException, OSError, EOFError) as exc:
                log.debug("dns: upstream %s did not answer %s: %s", upstream, query.question, exc)
                continue
            response.id = query.id
            return response
        return None
