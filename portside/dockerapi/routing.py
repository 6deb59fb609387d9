"""Docker's paths, with and without the ``/vX.Y`` prefix, and the API version a request asked for.

A client first asks ``/_ping`` for the server's ``API-Version`` and then prefixes every path with the lower of
that and its own; a request without a prefix gets the current version's behaviour. Versions outside
[MIN_API_VERSION, API_VERSION] are refused with docker's own words, so an old or new client knows why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from portside.dockerapi.errors import ApiError

API_VERSION = "1.47"
MIN_API_VERSION = "1.41"
_PREFIX = r"/v{version:[0-9]+\.[0-9]+}"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Routes:
    """One module's handlers; ``add_to`` registers each at its path and at the versioned path."""

    def __init__(self) -> None:
        self.table: list[tuple[str, str, Handler]] = []
        self.shutdown_hooks: list[Callable[[web.Application], Awaitable[None]]] = []

    def on_shutdown(self, hook: Callable[[web.Application], Awaitable[None]]):
        """``hook(app)`` runs when the server begins to stop: what ends the module's endless streams (a follower
        of events, say), which the server would otherwise wait for."""
        self.shutdown_hooks.append(hook)
        return hook

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.table.append((method, path, handler))
            return handler
        return register

    def get(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("GET", path)

    def post(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("POST", path)

    def put(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("PUT", path)

    def delete(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path)

    def head(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("HEAD", path)

    def add_to(self, router: web.UrlDispatcher) -> None:
        for method, path, handler in self.table:
            for full in (path, _PREFIX + path):
                if method == "GET":
                    router.add_get(full, handler)  # and HEAD, as docker answers it
                else:
                    router.add_route(method, full, handler)


def _number(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor)


def api_version(request: web.Request) -> tuple[int, int]:
    """The version this request is served at (the current one when its path has no prefix)."""
    return _number(request.match_info.get("version") or API_VERSION)


@web.middleware
async def check_version(request: web.Request, handler: Handler) -> web.StreamResponse:
    asked = request.match_info.get("version")
    if asked:
        if _number(asked) > _number(API_VERSION):
            raise ApiError(400, f"client version {asked} is too new. Maximum supported API version is "
                                f"{API_VERSION}")
        if _number(asked) < _number(MIN_API_VERSION):
            raise ApiError(400, f"client version {asked} is too old. Minimum supported API version is "
                                f"{MIN_API_VERSION}, please upgrade your client to a newer version")
    return await handler(request)
