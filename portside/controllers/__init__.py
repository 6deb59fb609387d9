"""Controllers: reconcile loops over the API (through the client, never the store).

``Controller`` is the base every controller derives from: informers feed keys into a ``WorkQueue``; workers run
the subclass's level-triggered ``async def sync(key)``, with back-off on failure. ``GarbageCollector`` is the
first controller: ownerReferences with Background, Foreground and Orphan propagation.
"""

from portside.controllers.base import Controller
from portside.controllers.gc import GarbageCollector
from portside.controllers.informer import Informer, cache_key
from portside.controllers.queue import WorkQueue

__all__ = ["Controller", "GarbageCollector", "Informer", "WorkQueue", "cache_key"]
