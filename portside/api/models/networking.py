"""networking.k8s.io/v1: NetworkPolicy, which pods may talk to which, enforced by every node's ``netpol``.

A policy selects pods of its namespace (``podSelector``) and isolates them in the directions its ``policyTypes``
name; what an isolated pod may then send or receive is the union of the rules of every policy selecting it. A
rule is peers (pods by selector, namespaces by selector, both ANDed in one peer, or address blocks) times ports.
"""

from __future__ import annotations

from ..schema import IntOrString, model, prop
from ..typed import Model
from .meta import LabelSelector, ObjectMeta

__all__ = ["IPBlock", "NetworkPolicy", "NetworkPolicyEgressRule", "NetworkPolicyIngressRule", "NetworkPolicyPeer",
           "NetworkPolicyPort", "NetworkPolicySpec", "POLICY_TYPES", "NETWORK_POLICY_PROTOCOLS"]

networking = model("io.k8s.api.networking.v1")

POLICY_TYPES = ["Ingress", "Egress"]
NETWORK_POLICY_PROTOCOLS = ["TCP", "UDP", "SCTP"]


@networking
class IPBlock(Model):
    """Addresses in cidr but in none of the except blocks (each strictly inside cidr)."""

    cidr: str | None = prop(required=True)
    except_: list[str] | None = prop(json="except", list_type="atomic")


@networking
class NetworkPolicyPeer(Model):
    """Pods (podSelector in the policy's namespace, or in the namespaces namespaceSelector picks when both
    are set) or an address block; an ipBlock stands alone."""

    pod_selector: LabelSelector | None = prop()
    namespace_selector: LabelSelector | None = prop()
    ip_block: IPBlock | None = prop()


@networking
class NetworkPolicyPort(Model):
    """A protocol (TCP by default) and a port: a number (up to endPort for a range), a container port's name,
    or every port when unset."""

    protocol: str | None = prop()
    port: IntOrString | None = prop()
    end_port: int | None = prop()


@networking
class NetworkPolicyIngressRule(Model):
    """Traffic from any of the peers to any of the ports; an empty or missing list matches everything."""

    ports: list[NetworkPolicyPort] | None = prop(list_type="atomic")
    from_: list[NetworkPolicyPeer] | None = prop(json="from", list_type="atomic")


@networking
class NetworkPolicyEgressRule(Model):
    """Traffic to any of the peers on any of the ports; an empty or missing list matches everything."""

    ports: list[NetworkPolicyPort] | None = prop(list_type="atomic")
    to: list[NetworkPolicyPeer] | None = prop(list_type="atomic")


@networking
class NetworkPolicySpec(Model):
    """policyTypes defaults to Ingress, plus Egress when there are egress rules."""

    pod_selector: LabelSelector | None = prop()
    ingress: list[NetworkPolicyIngressRule] | None = prop(list_type="atomic")
    egress: list[NetworkPolicyEgressRule] | None = prop(list_type="atomic")
    policy_types: list[str] | None = prop(list_type="atomic")


@networking
class NetworkPolicy(Model):
    """Isolates the pods it selects and says what traffic they may still send and receive."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: NetworkPolicySpec | None = prop()
