"""Services on the node: Endpoints become nftables DNAT rules (kernel plane) or spliced sockets (userspace plane).

``ServicePort`` snapshots (``model``) are what both planes consume; ``balance`` holds the pure selection
algorithms; ``nftrules`` the pure rule diff; ``KernelPlane`` and ``UserspacePlane`` are the edges that touch nft
and sockets; ``ProxyController`` (the ``proxy`` component of ``portside up``) watches Services and Endpoints and
drives them.
"""

from portside.proxy.balance import ALGORITHMS, Affinity, Backend, Balancer, UnknownAlgorithm, make_balancer
from portside.proxy.model import ALGORITHM_ANNOTATION, ServicePort, service_ports
from portside.proxy.nftables import KernelPlane, kernel_available
from portside.proxy.nftrules import RuleState, desired, diff
from portside.proxy.userspace import Settings
from portside.proxy.workers import UserspacePlane

__all__ = ["ALGORITHMS", "ALGORITHM_ANNOTATION", "Affinity", "Backend", "Balancer", "KernelPlane", "ProxyConfig",
           "ProxyController", "RuleState", "ServicePort", "Settings", "UnknownAlgorithm", "UserspacePlane", "desired",
           "diff", "kernel_available", "make_balancer", "service_ports"]


def __getattr__(name: str) -> object:
    # The controller pulls in the API client (aiohttp); worker processes import this package and never need it.
    if name in ("ProxyConfig", "ProxyController"):
        from portside.proxy import controller
        return getattr(controller, name)
    raise AttributeError(f"module 'portside.proxy' has no attribute {name!r}")
