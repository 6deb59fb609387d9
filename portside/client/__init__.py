"""The typed asyncio API client every portside component uses (scheduler, controllers, node agent, proxy, CLI).

    async with Client.from_kubeconfig(path) as c:
        pod = await c.get("pods", "web-1", "default")
        async for event in c.watch("pods", "default"):   # never misses: resumes, re-lists after 410
            ...
"""

from portside.client.client import Client, path, resource
from portside.client.config import ClientConfig, ConfigError, load_kubeconfig
from portside.client.errors import (AlreadyExists, ApiError, BadRequest, Conflict, Forbidden, Gone, Invalid, NotFound,
                                    Unauthorized)
from portside.client.watch import WatchEvent

__all__ = [
    "AlreadyExists", "ApiError", "BadRequest", "Client", "ClientConfig", "ConfigError", "Conflict", "Forbidden",
    "Gone", "Invalid", "NotFound", "Unauthorized", "WatchEvent", "load_kubeconfig", "path", "resource",
]
