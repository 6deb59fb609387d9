"""imagePullPolicy against the engine's image store: ``Never`` and ``IfNotPresent`` find what ``portside
import``, ``build`` or ``pull`` put there; ``Always`` (and a missing ``IfNotPresent`` image) pulls.

One departure from the kubelet: a name with no registry host (``busybox``, ``my-app:latest``) is pulled only
when the node lacks it. Such names mean Docker Hub, which a node of a local cluster often cannot (or must not)
reach, and ``portside build``/``import`` name their images that way; a name that spells its registry
(``localhost:5000/app``) is pulled as the policy says.
"""

from __future__ import annotations

import io

from portside.image.errors import ImageError, ImageNotFound


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


async def ensure(engine, image: str, policy: str) -> None:
    """Raises PullError(ErrImagePull | ErrImageNeverPull, message) when the image cannot be had."""
    store = engine.images
    if policy != "Always" or not explicit_registry(image):
        try:
            store.resolve(image)
            return
        except ImageNotFound:
            if policy == "Never":
                raise PullError("ErrImageNeverPull", f'Container image "{image}" is not present with pull '
                                                     f'policy of Never') from None
    if not explicit_registry(image):
        raise PullError("ErrImagePull", f'image "{image}" is not present on this node and its name gives no '
                                        f'registry to pull it from')
    from portside.image.registry import RegistryError, pull
    try:
        await pull(store, engine.root, image, io.StringIO())
    except (RegistryError, ImageError, OSError, ValueError) as exc:
        raise PullError("ErrImagePull", f'failed to pull image "{image}": {exc}') from None
