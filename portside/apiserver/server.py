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

from aiohttp import web

from portside import api
from portside.apiserver import alloc, bootstrap, clusterdata, errors, pki, podsecurity
from portside.apiserver.app import make_app
from portside.apiserver.exposition import TimedStore
from portside.apiserver.objects import Target
from portside.apiserver.registry import Registry, WriteOptions
from portside.store import Store, open_store

log = logging.getLogger("portside.apiserver")
BOOTSTRAP_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
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
        self.join_token = None

    async def start(self) -> None:
        cfg = self.config
        os.makedirs(cfg.data_dir, mode=0o700, exist_ok=True)
        creds = pki.ensure(cfg.data_dir, (cfg.host, *cfg.tls_sans))
        self.join_token = bootstrap.ensure_token(cfg.data_dir, creds.ca_cert)
        self.store = await open_store(cfg.store_url or f"sqlite://{os.path.join(cfg.data_dir, 'state.db')}")
        if await clusterdata.share_bootstrap(self.store, cfg.data_dir):  # another server made this cluster
            creds = pki.ensure(cfg.data_dir, (cfg.host, *cfg.tls_sans))
            self.join_token = bootstrap.ensure_token(cfg.data_dir, creds.ca_cert)
        self.registry = Registry(TimedStore(self.store), cfg.default_toleration_seconds)
        if cfg.pod_security_config:
            self.registry.admission.pod_security.config = podsecurity.load_config_file(cfg.pod_security_config)
        await self._bootstrap()
        join = None
        if not cfg.insecure_http:
            self._nodes = clusterdata.NodeCredentials(self.store, cfg.data_dir)
            await self._nodes.start()
            join = bootstrap.Bootstrap(self.registry, self.join_token, creds.ca_cert, self._nodes)
        app = make_app(self.registry, creds, f"{cfg.host}:{cfg.port}", cfg.insecure_http, cfg.bookmark_every_s,
                       join)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     shutdown_timeout=cfg.shutdown_timeout)
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.host, cfg.port, ssl_context=self._tls(creds), reuse_address=True)
        await site.start()
        pki.write_kubeconfigs(cfg.data_dir, cfg.url, creds, not cfg.insecure_http)
        self._compactor = asyncio.create_task(self._compact_forever())

    def _tls(self, creds: pki.Credentials) -> ssl.SSLContext | None:
        if self.config.insecure_http:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(creds.server_cert, creds.server_key)
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

    async def _compact_forever(self) -> None:
        while True:
            await asyncio.sleep(COMPACT_EVERY_S)
            revision = await self.store.current_revision()
            if revision > KEEP_REVISIONS:
                await self.store.compact(revision - KEEP_REVISIONS)

    async def stop(self) -> None:
        if self._compactor is not None:
            self._compactor.cancel()
        if self._nodes is not None:
            await self._nodes.stop()
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
