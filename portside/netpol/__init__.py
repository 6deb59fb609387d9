"""Network policies on the node: NetworkPolicies become one nftables table per node that admits each pod's traffic.

``model`` turns pods and nodes into peers; ``compiler`` decides, purely, what each isolated pod of the node may
receive and send (``PodRules`` of ``Allow`` sets); ``nftrules`` turns those into rule state and batches, purely;
``plane`` is the edge that applies them; ``NetworkPolicyEnforcer`` (the ``netpol`` component of ``portside up`` and
``portside agent``) follows the API and drives the rest.
"""

from portside.netpol.compiler import Allow, PodRules, PortRange, compile_node, pod_rules
from portside.netpol.model import Peer, PodPort, World
from portside.netpol.nftrules import RuleState, desired, diff, replace, table_name
from portside.netpol.plane import PolicyTable, bridge_filtering, nft_available

__all__ = ["Allow", "NetpolConfig", "NetworkPolicyEnforcer", "Peer", "PodPort", "PodRules", "PolicyTable",
           "PortRange", "RuleState", "World", "bridge_filtering", "compile_node", "desired", "diff",
           "nft_available", "pod_rules", "replace", "table_name"]


def __getattr__(name: str) -> object:
    # The enforcer pulls in the API client (aiohttp); the pure parts are usable without it.
    if name in ("NetpolConfig", "NetworkPolicyEnforcer"):
        from portside.netpol import controller
        return getattr(controller, name)
    raise AttributeError(f"module 'portside.netpol' has no attribute {name!r}")
