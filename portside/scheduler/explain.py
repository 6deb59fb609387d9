"""The refusal message, in kube-scheduler's words: refusals summed per reason over all nodes.

    0/5000 nodes are available: 3120 Insufficient cpu, 1880 node(s) had untolerated taint {gpu: true}.

A node refused for two resources counts under both (as Kubernetes reports "Insufficient cpu" and "Insufficient
memory" for one node), so the counts may add up to more than the node total. Reasons are listed most frequent
first, then alphabetically, so the message is stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Diagnosis:
    """Why a pod fits nowhere: per-reason node counts and the plugins that refused it."""

    total: int
    reasons: dict[str, int] = field(default_factory=dict)
    plugins: set[str] = field(default_factory=set)


def summarize(reasons: dict[str, int]) -> str:
    ordered = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{count} {reason}" for reason, count in ordered)


def message(diagnosis: Diagnosis, preemption: str = "") -> str:
    text = f"0/{diagnosis.total} nodes are available"
    text += f": {summarize(diagnosis.reasons)}." if diagnosis.reasons else "."
    if preemption:
        text += f" preemption: {preemption}"
    return text


def add(into: dict[str, int], more: dict[str, int]) -> None:
    for reason, count in more.items():
        into[reason] = into.get(reason, 0) + count
