"""The API server process part: store, credentials, the aiohttp application, start and orderly stop.

Stopping runs in the order that loses nothing: stop accepting connections, end the open watches (their clients
reconnect elsewhere or later and resume from their last revision), let in-flight requests finish under a
timeout, and only then close the store, whose writer acknowledges nothing it has not committed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from portside import api
from portside.apiserver import (
    alloc,
    bootstrap,
    clusterdata,
    encryption,
    errors,
    pki,
    podsecurity,
    satokens,
    selfendpoint,
    tokenfile,
)
from portside.apiserver.app import make_app
from portside.apiserver.auth import Authenticator
from portside.apiserver.authz import reconcile
from portside.apiserver.authz.chain import DEFAULT_MODES, Authorizer
from portside.apiserver.authz.escalation import EscalationCheck
from portside.apiserver.authz.rbac import RBACAuthorizer
from portside.apiserver.authz.reviews import Reviews
from portside.apiserver.exposition import TimedStore
from portside.apiserver.objects import Target
from portside.apiserver.registry import Registry, WriteOptions
from portside.apiserver.saadmission import ServiceAccountAdmission
from portside.apiserver.tokenrequest import TokenRequests
from portside.store import Store, open_store

log = logging.getLogger("portside.apiserver")
BOOTSTRAP_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
IN_CLUSTER_NAMES = (alloc.KUBERNETES_SERVICE_IP, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local")
COMPACT_EVERY_S = 300
KEEP_REVISIONS = 100_000


@dataclass
class ServerConfig:
    data_dir: str
    host: str = "127.0.0.1"
    port: int = 6443
    insecure_http: bool = False
    store_url: str = ""
    shutdown_timeout: float = 5.0
    bookmark_every_s: float = 5.0  # how often a quiet watch that asked for bookmarks gets one
    tls_sans: tuple[str, ...] = ()  # more addresses and names the serving certificate carries
    default_toleration_seconds: int = 10  # how long a new pod tolerates a lost node (--default-eviction-timeout)
    pod_security_config: str = ""  # a PodSecurityConfiguration file: defaults and exemptions (--pod-security-config)
    authorization_modes: tuple[str, ...] = DEFAULT_MODES  # --authorization-mode
    token_auth_file: str = ""  # --token-auth-file
    encryption_config: str = ""  # --encryption-provider-config

    @property
    def url(self) -> str:
        return f"{'http' if self.insecure_http else 'https'}://{self.host}:{self.port}"


class APIServer:
    def __init__(self, config: ServerConfig) -> None:
        if config.insecure_http and config.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"--insecure-http serves plain HTTP on loopback only, not on {config.host}")
        self.config = config
        self.store: Store | None = None
        self.registry: Registry | None = None
        self.kubeconfig = os.path.join(config.data_dir, "kubeconfig.yaml")
        self._runner: web.AppRunner | None = None
        self._compactor: asyncio.Task | None = None
        self._nodes: clusterdata.NodeCredentials | None = None
        self.rbac: RBACAuthorizer | None = None
        self._advertised = ""
        self._tls_context: ssl.SSLContext | None = None
        self.join_token = None

    async def start(self) -> None:
        cfg = self.config
        os.makedirs(cfg.data_dir, mode=0o700, exist_ok=True)
        creds = pki.ensure(cfg.data_dir, self._sans())
        self.join_token = bootstrap.ensure_token(cfg.data_dir, creds.ca_cert)
        satokens.ensure_key(cfg.data_dir)
        encryption.ensure_default(cfg.data_dir)
        raw = await open_store(cfg.store_url or f"sqlite://{os.path.join(cfg.data_dir, 'state.db')}")
        self.store = raw
        if await clusterdata.share_bootstrap(raw, cfg.data_dir):  # another server made this cluster
            creds = pki.ensure(cfg.data_dir, self._sans())
            self.join_token = bootstrap.ensure_token(cfg.data_dir, creds.ca_cert)
        self.store = encryption.EncryptingStore(raw, encryption.load(
            cfg.encryption_config or os.path.join(cfg.data_dir, encryption.DEFAULT_FILE)))
        self.registry = Registry(TimedStore(self.store), cfg.default_toleration_seconds)
        if cfg.pod_security_config:
            self.registry.admission.pod_security.config = podsecurity.load_config_file(cfg.pod_security_config)
        await self._bootstrap()
        await reconcile.reconcile(self.registry)
        self.rbac = RBACAuthorizer(self.store)
        await self.rbac.start()
        authorizer = Authorizer(cfg.authorization_modes, self.rbac, self.registry)
        self.registry.admission.guards += [EscalationCheck(authorizer), ServiceAccountAdmission(self.store)]
        join = None
        if not cfg.insecure_http:
            self._nodes = clusterdata.NodeCredentials(self.store, cfg.data_dir)
            await self._nodes.start()
            join = bootstrap.Bootstrap(self.registry, self.join_token, creds.ca_cert, self._nodes)
        app = make_app(self.registry, creds, f"{cfg.host}:{cfg.port}", cfg.insecure_http, cfg.bookmark_every_s,
                       join, authorizer=authorizer, **self._identities(creds, authorizer))
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     shutdown_timeout=cfg.shutdown_timeout)
        await self._runner.setup()
        self._tls_context = self._tls(creds)
        site = web.TCPSite(self._runner, cfg.host, cfg.port, ssl_context=self._tls_context, reuse_address=True)
        await site.start()
        pki.write_kubeconfigs(cfg.data_dir, cfg.url, creds, not cfg.insecure_http)
        self._compactor = asyncio.create_task(self._compact_forever())

    def _identities(self, creds: pki.Credentials, authorizer: Authorizer) -> dict:
        """Who callers are (tokens, certificates, node credentials, ServiceAccount tokens), and the endpoints that
        answer questions about identities (TokenRequest, TokenReview)."""
        cfg = self.config
        authenticator = Authenticator(creds.admin_token, creds.readonly_token, open_loopback=cfg.insecure_http,
                                      nodes=self._nodes, static=tokenfile.load(cfg.token_auth_file)
                                      if cfg.token_auth_file else None)
        tokens = satokens.ServiceAccountTokens(self.store, satokens.Signer(Path(cfg.data_dir) / satokens.KEY_FILE))
        authenticator.more.append(tokens.authenticate)

        async def token_user(token: str, audiences: list[str]):
            if not satokens.looks_like_jwt(token):
                return await authenticator.review(token, audiences, satokens.API_AUDIENCES)
            try:
                return await tokens.validate(token, tuple(audiences) or satokens.API_AUDIENCES)
            except satokens.TokenError:
                return None, []
        return {"authenticator": authenticator, "reviews": Reviews(authorizer, token_user),
                "token_requests": TokenRequests(self.registry, tokens)}

    def _sans(self) -> tuple[str, ...]:
        """The serving certificate's names: the address served and ``--tls-san``, and the names pods reach the
        API by (the ``kubernetes`` Service's ClusterIP and DNS names), which in-cluster clients verify."""
        return (self.config.host, *self.config.tls_sans, *IN_CLUSTER_NAMES)

    def _tls(self, creds: pki.Credentials) -> ssl.SSLContext | None:
        if self.config.insecure_http:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(creds.server_cert, creds.server_key)
        ctx.verify_mode = ssl.CERT_OPTIONAL  # a client certificate, when one is shown, must be the cluster CA's
        ctx.load_verify_locations(creds.ca_cert)
        return ctx

    async def _bootstrap(self) -> None:
        """The namespaces and the ``kubernetes`` Service every cluster has; idempotent across restarts."""
        namespaces = api.lookup("", "v1", "namespaces")
        for name in BOOTSTRAP_NAMESPACES:
            await self._ensure(Target(namespaces), {"metadata": {"name": name}})
        service = {"metadata": {"name": "kubernetes", "namespace": "default",
                                "labels": {"component": "apiserver", "provider": "kubernetes"}},
                   "spec": {"clusterIP": alloc.KUBERNETES_SERVICE_IP, "type": "ClusterIP",
                            "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                       "targetPort": self.config.port}]}}
        await self._ensure(Target(api.lookup("", "v1", "services"), "default"), service)

    async def _ensure(self, t: Target, obj: dict) -> None:
        try:
            await self.registry.create(t, obj, WriteOptions())
        except errors.ApiError as exc:
            if exc.code != 409:
                raise

    async def advertise(self, pod_gateway: str, node_ip: str = "") -> str:
        """Publish where pods reach this server (``selfendpoint``): the address it serves on when pods can reach
        that, else ``pod_gateway``, on which it then listens too. Returns the address published."""
        cfg = self.config
        if cfg.insecure_http:
            return ""
        wildcard = cfg.host in ("0.0.0.0", "::")
        if selfendpoint.reachable_by_pods(cfg.host) and not wildcard:
            address = cfg.host
        elif wildcard and node_ip and selfendpoint.reachable_by_pods(node_ip):
            address = node_ip
        else:
            address = pod_gateway
            if not wildcard:
                sock = selfendpoint.listen_socket(address, cfg.port)
                site = web.SockSite(self._runner, sock, ssl_context=self._tls_context)
                await site.start()
        await selfendpoint.publish(self.registry, address, cfg.port)
        self._advertised = address
        return address

    async def _compact_forever(self) -> None:
        while True:
            await asyncio.sleep(COMPACT_EVERY_S)
            revision = await self.store.current_revision()
            if revision > KEEP_REVISIONS:
                await self.store.compact(revision - KEEP_REVISIONS)

    async def stop(self) -> None:
        if self._compactor is not None:
            self._compactor.cancel()
        if self._advertised and self.registry is not None:
            try:
                await selfendpoint.publish(self.registry, self._advertised, self.config.port, present=False)
            except Exception as exc:  # noqa: BLE001 - a stop goes on: the next start puts it right
                log.warning("kubernetes endpoints: could not remove %s: %s", self._advertised, exc)
        if self._nodes is not None:
            await self._nodes.stop()
        if self.rbac is not None:
            await self.rbac.stop()
        if self._runner is not None:
            for site in list(self._runner.sites):
                await site.stop()
            if self.store is not None:
                self.store.end_watches()
            await self._runner.cleanup()
            self._runner = None
        if self.store is not None:
            await self.store.close()
            self.store = None

    async def run(self, ready: asyncio.Event) -> None:
        """Serve until cancelled: the form the ``up`` supervisor runs components in."""
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        ready.set()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.shield(self.stop())
