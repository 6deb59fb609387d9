"""The aiohttp application: health, version, discovery, OpenAPI, and the resource tree under /api and /apis.

One middleware turns every failure into a ``Status`` body (kubectl reads reason and message from it) and, before
any handler runs, authenticates the caller and asks the authorizer chain whether it may do what the request
asks: every path is authorized, resource or not, before routing (``authz``).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from portside.apiserver import discovery, errors, exposition, issuer, nodeproxy
from portside.apiserver.agents import AgentClient
from portside.apiserver.auth import ANONYMOUS, CALLER, SELF_AUTHENTICATING, USER, Authenticator, User
from portside.apiserver.authz import attributes
from portside.apiserver.authz.chain import Authorizer, forbidden
from portside.apiserver.authz.impersonation import impersonated
from portside.apiserver.authz.rbac import WRITES, settle_write
from portside.apiserver.authz.reviews import KINDS as REVIEW_KINDS
from portside.apiserver.authz.reviews import Reviews
from portside.apiserver.bootstrap import Bootstrap
from portside.apiserver.handlers import Handlers, json_body, resolve, respond
from portside.apiserver.metricsapi import MetricsAPI
from portside.apiserver.nodecerts import ServingCertificates
from portside.apiserver.pki import Credentials
from portside.apiserver.registry import Registry
from portside.apiserver.tokenrequest import TokenRequests

log = logging.getLogger("portside.apiserver")
MAX_BODY = 3 * 1024 * 1024  # Kubernetes' request size limit


async def _authorize(authorizer: Authorizer, user: User, request: web.Request) -> attributes.Attributes:
    attrs = attributes.from_request(user, request.method, request.path, request.query)
    checks = [attrs]
    also = attributes.also_create(attrs, request.method, request.headers.get("Upgrade", "").lower() == "websocket")
    if also is not None:
        checks.append(also)
    for asked in checks:
        decision = await authorizer.decide(asked, request)
        if not decision.allowed:
            if user.anonymous:
                raise errors.unauthorized()
            raise forbidden(asked, decision.reason)
    return attrs


def _middleware(auth: Authenticator, authorizer: Authorizer):
    @web.middleware
    async def handle(request: web.Request, handler):
        caller = None
        try:
            if request.path in SELF_AUTHENTICATING:
                request[USER] = ANONYMOUS
                return await handler(request)
            user = await impersonated(authorizer, await auth.authenticate(request), request)
            request[USER] = user
            attrs = await _authorize(authorizer, user, request)
            caller = CALLER.set(user)
            response = await handler(request)
            if attrs.api_group == "rbac.authorization.k8s.io" and request.method in WRITES \
                    and response.status < 300 and isinstance(response, web.Response) and response.body:
                await settle_write(authorizer.rbac, request.method, response.body)
            return response
        except errors.ApiError as exc:
            return respond(exc.body(), exc.code)
        except web.HTTPRequestEntityTooLarge:
            too_big = errors.ApiError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY}")
            return respond(too_big.body(), 413)
        except web.HTTPException:
            raise
        except Exception as exc:  # a bug: answer 500 with the message rather than drop the connection
            log.exception("%s %s failed", request.method, request.path)
            failure = errors.ApiError(500, "InternalError", f"Internal error occurred: {exc}")
            return respond(failure.body(), 500)
        finally:
            if caller is not None:
                CALLER.reset(caller)
    return handle


def _ok(body: bytes | None, what: str) -> web.Response:
    if body is None:
        raise errors.route_not_found(what)
    return respond(body)


class Routes:
    def __init__(self, handlers: Handlers, address: str, reviews: Reviews,
                 token_requests: TokenRequests | None = None) -> None:
        self.handlers, self.address, self.reviews = handlers, address, reviews
        self.token_requests = token_requests

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def version(self, request: web.Request) -> web.Response:
        return respond(discovery.version())

    async def core(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.match_info.get("tail", "").split("/") if p]
        if not parts:
            if discovery.wants_aggregated(request.headers.get("Accept", "")):
                return respond(discovery.aggregated(True), content_type=discovery.AGGREGATED)
            return respond(discovery.core_versions(self.address))
        if len(parts) == 1:
            return _ok(discovery.resource_list("", parts[0]), request.path)
        if parts[0] != "v1":
            raise errors.route_not_found(request.path)
        t = resolve("", parts[0], parts[1:])
        if t.subresource == "token" and t.info.kind == "ServiceAccount" and self.token_requests is not None:
            if request.method != "POST":
                raise errors.method_not_allowed(request.method.lower(), t.info)
            body = await self.token_requests.create(t, await json_body(request), request[USER])
            return respond(body, 201)
        return await self.handlers.serve(request, t)

    async def groups(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.match_info.get("tail", "").split("/") if p]
        if not parts:
            if discovery.wants_aggregated(request.headers.get("Accept", "")):
                return respond(discovery.aggregated(False), content_type=discovery.AGGREGATED)
            return respond(discovery.group_list())
        if len(parts) == 1:
            return _ok(discovery.group(parts[0]), request.path)
        if len(parts) == 2:
            return _ok(discovery.resource_list(parts[0], parts[1]), request.path)
        t = resolve(parts[0], parts[1], parts[2:])
        if t.info.kind in REVIEW_KINDS and not t.name:
            if request.method != "POST":
                raise errors.method_not_allowed(request.method.lower(), t.info)
            return respond(await self.reviews.answer(t, await json_body(request), request[USER]), 201)
        return await self.handlers.serve(request, t)

    async def openapi_v2(self, request: web.Request) -> web.Response:
        """JSON or gnostic protobuf by Accept; 304 to a matching If-None-Match, since the document is ~200 kB.

        In a thread: the first protobuf request encodes the document (a quarter second) and watches must not stall.
        """
        served = await asyncio.to_thread(discovery.openapi_v2_for, request.headers.get("Accept", ""))
        if served is None:
            raise errors.ApiError(406, "NotAcceptable", "only application/json and "
                                  "application/com.github.proto-openapi.spec.v2.v1.0+protobuf are served here")
        headers = {"ETag": served.etag, "Vary": "Accept"}
        if served.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        response = respond(served.body, content_type=served.content_type)
        response.headers.update(headers)
        response.enable_compression()
        return response

    async def openapi_v3(self, request: web.Request) -> web.Response:
        tail = request.match_info.get("tail", "").strip("/")
        if not tail:
            return respond(discovery.openapi_v3_index())
        parts = tail.split("/")
        if parts[0] == "api" and len(parts) == 2:
            return _ok(discovery.openapi_v3("", parts[1]), request.path)
        if parts[0] == "apis" and len(parts) == 3:
            return _ok(discovery.openapi_v3(parts[1], parts[2]), request.path)
        raise errors.route_not_found(request.path)


def make_app(registry: Registry, creds: Credentials, address: str, insecure: bool = False,
             bookmark_every: float = 5.0, join: Bootstrap | None = None, *, authorizer: Authorizer,
             authenticator: Authenticator | None = None, reviews: Reviews | None = None,
             token_requests: TokenRequests | None = None) -> web.Application:
    """``join``: the endpoints that let agents join, and the node credentials they were given."""
    auth = authenticator or Authenticator(creds.admin_token, creds.readonly_token, open_loopback=insecure,
                                          nodes=join.credentials if join else None)
    app = web.Application(middlewares=[exposition.middleware(), _middleware(auth, authorizer)],
                          client_max_size=MAX_BODY)
    agents = AgentClient(creds)
    r = Routes(Handlers(registry, agents, bookmark_every), address, reviews or Reviews(authorizer), token_requests)
    for path in ("/healthz", "/livez", "/readyz"):
        app.router.add_get(path, r.health)
    app.router.add_get("/version", r.version)
    if token_requests is not None:
        issuer.routes(app, token_requests.tokens.signer, address)
    if join is not None:
        join.routes(app)
    ServingCertificates(creds).routes(app)
    app.router.add_get("/openapi/v2", r.openapi_v2)
    app.router.add_get("/openapi/v3", r.openapi_v3)
    app.router.add_get("/openapi/v3/{tail:.*}", r.openapi_v3)

    async def node_proxy(request: web.Request) -> web.StreamResponse:
        return await nodeproxy.node_proxy(registry, agents, request)

    for path in ("/api/v1/nodes/{name}/proxy", "/api/v1/nodes/{name}/proxy/{path:.*}"):  # before /api/{tail}
        app.router.add_route("*", path, node_proxy)
    app.router.add_route("*", "/api", r.core)
    app.router.add_route("*", "/api/{tail:.*}", r.core)
    metrics_api = MetricsAPI(registry, agents)
    metrics_api.routes(app)
    app.router.add_get("/metrics", exposition.Exposition(registry, metrics_api).serve)
    app.router.add_route("*", "/apis", r.groups)
    app.router.add_route("*", "/apis/{tail:.*}", r.groups)
    return app
