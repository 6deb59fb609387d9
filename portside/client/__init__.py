"""The typed asyncio API client every portside component uses (scheduler, controllers, node agent, proxy, CLI).

    async with Client.from_kubeconfig(path) as c:
        pod = await c.get("pods", "web-1", "default")      # an api.models.Pod
        async for event in c.watch("pods", "default"):   # never misses: resumes, re-lists after 410
            ...

``EventRecorder`` is how every component writes the Events ``kubectl describe`` shows.
"""

from portside.client.client import Client, Listing, identity, path, resource
from portside.client.config import ClientConfig, ConfigError, load_kubeconfig
from portside.client.errors import (
                                    AlreadyExists,
                                    ApiError,
                                    BadRequest,
                                    Conflict,
                                    Forbidden,
                                    Gone,
                                    Invalid,
                                    NotFound,
                                    Unauthorized,
)
from portside.client.events import NORMAL, WARNING, EventRecorder, container_path, pod_reference
from portside.client.watch import WatchEvent

__all__ = [
    "NORMAL", "WARNING", "AlreadyExists", "ApiError", "BadRequest", "Client", "ClientConfig", "ConfigError",
    "Conflict", "EventRecorder", "Forbidden", "Gone", "Invalid", "NotFound", "Unauthorized", "WatchEvent",
    "Listing", "container_path", "identity", "load_kubeconfig", "path", "pod_reference", "resource",
]
