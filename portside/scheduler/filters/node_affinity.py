"""NodeAffinity: spec.nodeSelector and required node affinity, as comparisons over label-code columns.

Terms of requiredDuringScheduling are ORed, requirements inside a term ANDed, and nodeSelector ANDed with both,
as in Kubernetes. Gt and Lt compare the label as an integer; a label that is not one never matches. The selectors
are compiled by ``portside.api.selectors``, which decides the empty cases: an empty term, or a required node
affinity with no terms, matches no node. ``matchFields`` compares ``metadata.name`` with the node's name.
"""

from __future__ import annotations

import numpy as np

from portside.scheduler.framework import NODE_ADD, NODE_UPDATE, CycleState, count_reason
from portside.scheduler.model import NodeSelectorTerm, PodInfo, Requirement
from portside.scheduler.nodes import NodeArrays

NAME = "NodeAffinity"
REASON = "node(s) didn't match Pod's node affinity/selector"


def requirement_mask(req: Requirement, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray:
    codes = nodes.domain_codes(req.key)[lo:hi]
    vocab = nodes.label_vocab.get(req.key, {})
    if req.operator in ("In", "NotIn"):
        wanted = [vocab[v] for v in req.values if v in vocab]
        hit = np.isin(codes, wanted)
        return hit if req.operator == "In" else ~hit
    if req.operator == "Exists":
        return codes >= 0
    if req.operator == "DoesNotExist":
        return codes < 0
    ok = [code for value, code in vocab.items() if req.matches({req.key: value})]
    return np.isin(codes, ok)


def name_mask(req: Requirement, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray:
    """A ``metadata.name`` field requirement (In or NotIn), over the rows of the named nodes."""
    hit = np.zeros(hi - lo, dtype=bool)
    for name in req.values:
        row = nodes.index.get(name)
        if row is not None and lo <= row < hi:
            hit[row - lo] = True
    return hit if req.operator == "In" else ~hit


def term_mask(term: NodeSelectorTerm, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray:
    out = np.full(hi - lo, not term.empty())
    for req in term.requirements:
        out &= requirement_mask(req, nodes, lo, hi)
    for req in term.fields:
        out &= name_mask(req, nodes, lo, hi)
    return out


def fits(pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray:
    out = np.ones(hi - lo, dtype=bool)
    for req in pod.node_selector.requirements:
        out &= requirement_mask(req, nodes, lo, hi)
    if pod.node_affinity is not None:
        any_term = np.zeros(hi - lo, dtype=bool)
        for term in pod.node_affinity.terms:
            any_term |= term_mask(term, nodes, lo, hi)
        out &= any_term
    return out


class NodeAffinity:
    NAME = NAME
    STATIC = True
    RESOLVABLE = False
    EVENTS = frozenset({NODE_ADD, NODE_UPDATE})

    def mask(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, lo: int, hi: int) -> np.ndarray | None:
        if pod.node_selector.empty() and pod.node_affinity is None:
            return None
        return fits(pod, nodes, lo, hi)

    def reasons(self, state: CycleState, pod: PodInfo, nodes: NodeArrays, failing: np.ndarray) -> dict[str, int]:
        return count_reason(failing, REASON)
