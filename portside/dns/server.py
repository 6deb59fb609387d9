"""The cluster DNS server: the zone's answers on the shared sockets of ``runtime.net.dnsserver``.

Names of the zone are answered from it (``answer.respond``) and their replies kept for the fast path; names
outside it are forwarded to the node's upstream resolvers, each in a task of its own (the socket layer runs every
full query so), so a slow upstream never holds up cluster names. An ExternalName's target is asked of the
upstreams and its records appended to our CNAME.
"""

from __future__ import annotations

import dns.message

from portside.dns import answer
from portside.dns.zone import Zone
from portside.runtime.net.dnsforward import Forwarder
from portside.runtime.net.dnsserver import DNSServer as Sockets
from portside.runtime.net.dnswire import ReplyCache

__all__ = ["DNSServer"]


class DNSServer(Sockets):
    def __init__(self, zone: Zone, forwarder: Forwarder, address: str, port: int = 53) -> None:
        super().__init__(self._resolve, address, port, cache=ReplyCache())
        self.zone, self.forwarder = zone, forwarder

    def changed(self) -> None:
        """The zone changed: every stored reply may be stale."""
        self.cache.clear()

    async def _resolve(self, query: dns.message.Message, _client: tuple) -> tuple[dns.message.Message, bool]:
        response, found = answer.respond(query, self.zone)
        if not (found.forward or found.chase):
            return response, True
        return await self._upstream(query, response, found.chase), False

    async def _upstream(self, query: dns.message.Message, response: dns.message.Message,
                        chase: str) -> dns.message.Message:
        if not chase:
            return await self.forwarder.ask(query) or response
        # An ExternalName's target: the CNAME is ours, the target's records the upstream's.
        ask = dns.message.make_query(chase, query.question[0].rdtype)
        found = await self.forwarder.ask(ask)
        if found is not None:
            response.answer += found.answer
        return response
