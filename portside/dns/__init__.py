"""Cluster DNS: Service names answered from Services and Endpoints, as the Kubernetes DNS specification says.

``records`` turns a Service and its Endpoints into records, ``zone`` holds them and decides each answer
(including NXDOMAIN against NODATA), ``answer`` renders it with dnspython, ``server`` serves it on the sockets
of ``runtime.net.dnsserver`` (shared with the engine's responder for user networks, as are the reply cache of the
fast path and the forwarder to the node's upstream resolvers), ``controller`` (the ``dns`` component of
``portside up`` and ``portside agent``) follows the API, and ``kubedns`` keeps the ``kube-dns`` Service.
Everything reaches the cluster through the API client only.
"""

from portside.dns.answer import respond
from portside.dns.records import Record, service_records
from portside.dns.server import DNSServer
from portside.dns.zone import SCHEMA_VERSION, Answer, Zone
from portside.runtime.net.dnsforward import Forwarder

__all__ = ["SCHEMA_VERSION", "Answer", "DNSConfig", "DNSController", "DNSServer", "Forwarder", "Record", "Zone",
           "respond", "service_records"]


def __getattr__(name: str) -> object:
    # The controller pulls in the API client (aiohttp); the bench and unit tests need only the pure parts.
    if name in ("DNSConfig", "DNSController"):
        from portside.dns import controller
        return getattr(controller, name)
    raise AttributeError(f"module 'portside.dns' has no attribute {name!r}")
