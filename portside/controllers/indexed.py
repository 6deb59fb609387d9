"""Indexed Jobs (``completionMode: Indexed``), pure: each of ``completions`` indexes must succeed once.

A pod carries its index in the ``batch.kubernetes.io/job-completion-index`` annotation and label, gets the
hostname ``<job>-<index>`` and the ``JOB_COMPLETION_INDEX`` variable (read from that annotation through the
downward API, as Kubernetes injects it). ``status.completedIndexes`` lists the done ones as ``"0-2,4"``.
"""

from __future__ import annotations

import copy

from portside.controllers.pods import Obj, is_active, meta

INDEX = "batch.kubernetes.io/job-completion-index"
ENV = {"name": "JOB_COMPLETION_INDEX",
       "valueFrom": {"fieldRef": {"fieldPath": f"metadata.annotations['{INDEX}']"}}}


def is_indexed(job: Obj) -> bool:
    return (job.get("spec") or {}).get("completionMode") == "Indexed"


def index_of(pod: Obj) -> int | None:
    value = (meta(pod).get("annotations") or {}).get(INDEX, "")
    return int(value) if value.isdigit() else None


def parse_indexes(text: str | None) -> set[int]:
    out: set[int] = set()
    for part in filter(None, (text or "").split(",")):
        first, _, last = part.partition("-")
        out.update(range(int(first), int(last or first) + 1))
    return out


def format_indexes(indexes: set[int]) -> str:
    """``{0, 1, 2, 4}`` -> ``"0-2,4"``, the compressed form Kubernetes writes."""
    runs: list[list[int]] = []
    for i in sorted(indexes):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def completed(job: Obj, pods: list[Obj]) -> set[int]:
    """Indexes with a succeeded pod, plus those the status already recorded (their pods may be gone)."""
    done = parse_indexes((job.get("status") or {}).get("completedIndexes"))
    limit = (job.get("spec") or {}).get("completions") or 0
    for pod in pods:
        i = index_of(pod)
        if i is not None and i < limit and (pod.get("status") or {}).get("phase") == "Succeeded":
            done.add(i)
    return done


def missing(job: Obj, pods: list[Obj]) -> list[int]:
    """Indexes neither done nor running, lowest first: the ones the next pods are for."""
    busy = completed(job, pods) | {index_of(p) for p in pods if is_active(p)}
    return [i for i in range((job.get("spec") or {}).get("completions") or 0) if i not in busy]


def stamp(body: Obj, job_name: str, index: int) -> Obj:
    """A pod body of the Job's template made into the pod for ``index``."""
    out = copy.deepcopy(body)
    m = out["metadata"]
    m["generateName"] = f"{job_name}-{index}-"
    m.setdefault("annotations", {})[INDEX] = str(index)
    m.setdefault("labels", {})[INDEX] = str(index)
    if len(f"{job_name}-{index}") <= 63:  # a hostname is one DNS label
        out["spec"].setdefault("hostname", f"{job_name}-{index}")
    for container in out["spec"].get("containers") or []:
        container["env"] = [*(container.get("env") or []), dict(ENV)]
    return out
