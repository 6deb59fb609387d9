"""What the agent knows of a container run, read back from the engine.

Every run of a pod's container is its own engine container (as the kubelet makes a new one per restart), so the
previous run's log stays readable for ``kubectl logs --previous``. Engine labels tie a run to its pod, container
name and attempt: they are all the agent needs to rebuild its view after a restart (adoption).
"""

from __future__ import annotations

from dataclasses import dataclass

from portside.api.timefmt import parse_time
from portside.engine.model import Container

LABEL_CLUSTER = "io.portside.cluster"  # agents of several clusters may share one engine root
LABEL_UID = "io.portside.pod.uid"
LABEL_POD = "io.portside.pod.name"
LABEL_NAMESPACE = "io.portside.pod.namespace"
LABEL_CONTAINER = "io.portside.container.name"
LABEL_ATTEMPT = "io.portside.container.attempt"
ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class Run:
    """One engine container: one attempt of one pod container."""

    cid: str
    container: str
    attempt: int
    status: str  # the engine's: created, running, restarting, exited
    exit_code: int = 0
    oom: bool = False
    started_at: str = ""
    finished_at: str = ""
    image: str = ""
    image_id: str = ""

    @property
    def running(self) -> bool:
        return self.status in ("running", "restarting")

    @property
    def ended(self) -> bool:
        return self.status == "exited"

    def finished(self) -> float:
        return _epoch(self.finished_at)

    def ran_for(self) -> float:
        return max(0.0, _epoch(self.finished_at) - _epoch(self.started_at))

    def reason(self) -> str:
        """Kubernetes' terminated reason."""
        if self.oom:
            return "OOMKilled"
        return "Completed" if self.exit_code == 0 else "Error"


def _epoch(stamp: str) -> float:
    when = parse_time(stamp) if stamp and stamp != ZERO_TIME else None
    return when.timestamp() if when else 0.0


def run_from(container: Container) -> Run | None:
    """The run an engine container is, or None for a container that is not a pod's."""
    record, state = container.record, container.state
    labels = record.config.labels
    if LABEL_UID not in labels:
        return None
    return Run(cid=record.id, container=labels[LABEL_CONTAINER], attempt=int(labels.get(LABEL_ATTEMPT, 0)),
               status=state.status, exit_code=state.exit_code, oom=state.oom_killed, started_at=state.started_at,
               finished_at=state.finished_at, image=record.config.image, image_id=record.image)


def latest(runs: list[Run]) -> dict[str, Run]:
    """Container name -> its newest run."""
    out: dict[str, Run] = {}
    for run in sorted(runs, key=lambda r: r.attempt):
        out[run.container] = run
    return out


def previous(runs: list[Run], container: str) -> Run | None:
    mine = sorted((r for r in runs if r.container == container), key=lambda r: r.attempt)
    return mine[-2] if len(mine) > 1 else None
