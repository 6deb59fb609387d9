"""A by-namespace view of an informer's cache, so a sync reads its namespace's pods without scanning all of them.

Kept current by the informer's change handler; it holds the same objects the cache does (no copies).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from portside.controllers.informer import Informer, cache_key

Obj = Any  # a typed model from the informer


class ByNamespace:
    def __init__(self, informer: Informer) -> None:
        self._objs: defaultdict[str, dict[str, Obj]] = defaultdict(dict)
        informer.on_change(self._changed)

    def _changed(self, kind: str, obj: Obj, prev: Obj | None) -> None:
        namespace = obj.metadata.namespace or ""
        if kind == "DELETED":
            self._objs[namespace].pop(cache_key(obj), None)
            if not self._objs[namespace]:
                del self._objs[namespace]
        else:
            self._objs[namespace][cache_key(obj)] = obj

    def __call__(self, namespace: str) -> list[Obj]:
        return list(self._objs.get(namespace, {}).values())
