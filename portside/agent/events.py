"""The kubelet's Events about a pod's containers, in its words: the reasons and messages ``kubectl describe pod``
lists under "Events:".

Users search these lines and tools match them, so each message is the kubelet's format string filled the same
way (Go's ``%q`` quoting, Go's duration notation, ``name_namespace(uid)`` for a pod). Pure: the worker decides
when an Event is due and sends what these functions return.
"""

from __future__ import annotations

import json
from typing import NamedTuple

NORMAL, WARNING = "Normal", "Warning"


class Said(NamedTuple):
    type: str
    reason: str
    message: str


def go_duration(seconds: float) -> str:
    """``time.Duration.String()``: 512.5ms, 1.25s, 1m20s, 5m0s."""
    ns = round(seconds * 1e9)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000)):
            if ns >= size:
                return _decimal(ns, size) + unit
        return f"{ns}ns"
    hours, ns = divmod(ns, 3_600_000_000_000)
    minutes, ns = divmod(ns, 60_000_000_000)
    text = _decimal(ns, 1_000_000_000) + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text


def _decimal(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    digits = str(frac).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def quoted(text: str) -> str:
    """Go's ``%q`` for the plain strings these messages quote (image names)."""
    return json.dumps(text, ensure_ascii=False)


def pod_text(name: str, namespace: str, uid: str) -> str:
    """How the kubelet names a pod in messages (``format.Pod``)."""
    return f"{name}_{namespace}({uid})"


def image_present(image: str) -> Said:
    return Said(NORMAL, "Pulled", f"Container image {quoted(image)} already present on machine")


def pulling(image: str) -> Said:
    return Said(NORMAL, "Pulling", f"Pulling image {quoted(image)}")


def pulled(image: str, seconds: float, size: int) -> Said:
    took = go_duration(seconds)
    return Said(NORMAL, "Pulled", f"Successfully pulled image {quoted(image)} in {took} ({took} including waiting)."
                                  f" Image size: {size} bytes.")


def pull_failed(image: str, error: str) -> Said:
    return Said(WARNING, "Failed", f"Failed to pull image {quoted(image)}: {error}")


def never_pull(image: str) -> Said:
    return Said(WARNING, "ErrImageNeverPull", f"Container image {quoted(image)} is not present with pull policy of "
                                              f"Never")


def pull_back_off(image: str) -> Said:
    return Said(NORMAL, "BackOff", f"Back-off pulling image {quoted(image)}")


def failed(detail: str) -> Said:
    """A container that could not be created or started: the error, or the waiting reason of an image failure."""
    return Said(WARNING, "Failed", f"Error: {detail}")


def created(container: str) -> Said:
    return Said(NORMAL, "Created", f"Created container: {container}")


def started(container: str) -> Said:
    return Said(NORMAL, "Started", f"Started container {container}")


def stopping(container: str) -> Said:
    return Said(NORMAL, "Killing", f"Stopping container {container}")


def restarting(container: str, why: str) -> Said:
    """A running container killed to be started again: ``why`` is "failed liveness probe", "definition changed"."""
    return Said(NORMAL, "Killing", f"Container {container} {why}, will be restarted")


def unhealthy(kind: str, output: str) -> Said:
    """One failed probe; ``kind`` is liveness, readiness or startup."""
    return Said(WARNING, "Unhealthy", f"{kind.capitalize()} probe failed: {output}")


def back_off(container: str, pod: str) -> Said:
    return Said(WARNING, "BackOff", f"Back-off restarting failed container {container} in pod {pod}")


def back_off_waiting(delay: float, container: str, pod: str) -> str:
    """The CrashLoopBackOff waiting message of the container's status (not an Event)."""
    return f"back-off {go_duration(delay)} restarting failed container={container} pod={pod}"
