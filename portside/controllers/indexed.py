"""Indexed Jobs (``completionMode: Indexed``), pure: each of ``completions`` indexes must succeed once.

A pod carries its index in the ``batch.kubernetes.io/job-completion-index`` annotation and label, gets the
hostname ``<job>-<index>`` and the ``JOB_COMPLETION_INDEX`` variable (read from that annotation through the
downward API, as Kubernetes injects it). ``status.completedIndexes`` lists the done ones as ``"0-2,4"``.
"""

from __future__ import annotations

import copy

from portside.api.models import EnvVar, EnvVarSource, Job, ObjectFieldSelector, Pod
from portside.controllers.pods import is_active, phase

INDEX = "batch.kubernetes.io/job-completion-index"


def _env() -> EnvVar:
    return EnvVar(name="JOB_COMPLETION_INDEX", value_from=EnvVarSource(field_ref=ObjectFieldSelector(
        field_path=f"metadata.annotations['{INDEX}']")))


def is_indexed(job: Job) -> bool:
    return job.spec is not None and job.spec.completion_mode == "Indexed"


def index_of(pod: Pod) -> int | None:
    value = (pod.metadata.annotations or {}).get(INDEX, "")
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


def _completions(job: Job) -> int:
    return (job.spec.completions if job.spec else None) or 0


def completed(job: Job, pods: list[Pod]) -> set[int]:
    """Indexes with a succeeded pod, plus those the status already recorded (their pods may be gone)."""
    done = parse_indexes(job.status.completed_indexes if job.status else None)
    limit = _completions(job)
    for pod in pods:
        i = index_of(pod)
        if i is not None and i < limit and phase(pod) == "Succeeded":
            done.add(i)
    return done


def missing(job: Job, pods: list[Pod]) -> list[int]:
    """Indexes neither done nor running, lowest first: the ones the next pods are for."""
    busy = completed(job, pods) | {index_of(p) for p in pods if is_active(p)}
    return [i for i in range(_completions(job)) if i not in busy]


def stamp(body: Pod, job_name: str, index: int) -> Pod:
    """A pod body of the Job's template made into the pod for ``index`` (``body`` is left as it is)."""
    out = copy.deepcopy(body)
    m = out.metadata
    m.generate_name = f"{job_name}-{index}-"
    m.annotations = {**(m.annotations or {}), INDEX: str(index)}
    m.labels = {**(m.labels or {}), INDEX: str(index)}
    if len(f"{job_name}-{index}") <= 63 and not out.spec.hostname:  # a hostname is one DNS label
        out.spec.hostname = f"{job_name}-{index}"
    for container in out.spec.containers or []:
        container.env = [*(container.env or []), _env()]
    return out
