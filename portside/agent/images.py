"""imagePullPolicy against the engine's image store: ``Never`` and ``IfNotPresent`` find what ``portside
import``, ``build`` or ``pull`` put there; ``Always`` (and a missing ``IfNotPresent`` image) pulls.

One departure from the kubelet: a name with no registry host (``busybox``, ``my-app:latest``) is pulled only
when the node lacks it. Such names mean Docker Hub, which a node of a local cluster often cannot (or must not)
reach, and ``portside build``/``import`` name their images that way; a name that spells its registry
(``localhost:5000/app``) is pulled as the policy says.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from portside.agent import events
from portside.image.errors import ImageError, ImageNotFound

Report = Callable[[events.Said], None]


class PullError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def default_policy(image: str) -> str:
    """Kubernetes: Always for ``:latest`` or no tag, IfNotPresent otherwise."""
    tail = image.rsplit("/", 1)[-1]
    if "@" in tail or (":" in tail and not tail.endswith(":latest")):
        return "IfNotPresent"
    return "Always"


def explicit_registry(image: str) -> bool:
    first, slash, _ = image.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost")


async def ensure(engine, image: str, policy: str, report: Report) -> None:
    """Raises PullError(ErrImagePull | ErrImageNeverPull, message) when the image cannot be had; ``report`` gets
    the kubelet's Events on the way (already present, Pulling, Pulled, Failed)."""
    store = engine.images
    if policy != "Always" or not explicit_registry(image):
        try:
            store.resolve(image)
            report(events.image_present(image))
            return
        except ImageNotFound:
            if policy == "Never":
                said = events.never_pull(image)
                report(said)
                raise PullError("ErrImageNeverPull", said.message) from None
    if not explicit_registry(image):
        message = f'image "{image}" is not present on this node and its name gives no registry to pull it from'
        report(events.pull_failed(image, message))
        raise PullError("ErrImagePull", message)
    await _pull(engine, image, report)


async def _pull(engine, image: str, report: Report) -> None:
    from portside.image.registry import RegistryError, pull
    report(events.pulling(image))
    started = time.monotonic()
    try:
        result = await pull(engine.images, engine.root, image, io.StringIO())
    except (RegistryError, ImageError, OSError, ValueError) as exc:
        report(events.pull_failed(image, str(exc)))
        raise PullError("ErrImagePull", f'failed to pull image "{image}": {exc}') from None
    size = engine.images.resolve(result.name or result.digest).size
    report(events.pulled(image, time.monotonic() - started, size))
