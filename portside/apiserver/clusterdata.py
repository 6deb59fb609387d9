"""What every API server of one cluster shares, kept in the store so that several servers on one etcd are one
cluster: the bootstrap data (CA, admin and read-only tokens, ServiceAccount signing key, join token) and the node
credentials.

The default encryption configuration (Secrets' key, ``encryption``) is bootstrap data too, so that every server
decrypts what any other wrote; a configuration given with ``--encryption-provider-config`` is the operator's to
give every server, and stays out of the store.

Bootstrap data (``BOOTSTRAP_KEY``), as k3s keeps its bootstrap data in the datastore: the first server to start
on an empty store puts its own CA, tokens, signing key and join token there; every later server (or a restart on a fresh data
directory) takes them from there and writes them into its ``DATA_DIR/pki``, so its serving certificate is signed
by the cluster's CA and every kubeconfig, join token and node credential works against any server. A server that
had a CA of its own but finds another cluster's in the store adopts the store's (and logs it): the store is the
cluster. The record itself is not encrypted: whoever reads it holds the CA key.

Node credentials: one key per node (``NODES_PREFIX`` + name) holding the SHA-256 of its bearer token, never the
token. Lookups are answered from memory, which a watch on the prefix keeps current, so a node given its
credential by one server is known to every other within a moment; a server restarting re-reads them all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from pathlib import Path

from portside.store import Conflict, Follower, KeyExists, Store

log = logging.getLogger("portside.apiserver")
BOOTSTRAP_KEY = "/portside/bootstrap"
NODES_PREFIX = "/portside/node-credentials/"
# data-dir-relative files the bootstrap data carries; node-token last: it pins the CA
FILES = ("pki/ca.crt", "pki/ca.key", "pki/tokens.json", "pki/sa.key", "pki/encryption-config.yaml", "node-token")
PRIVATE = frozenset({"pki/ca.key", "pki/tokens.json", "pki/sa.key", "pki/encryption-config.yaml", "node-token"})
LEGACY_CREDENTIALS = "pki/node-credentials.json"  # where a single server kept node credentials before


def _write(path: Path, data: str, private: bool) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(data)
    os.replace(tmp, path)


async def share_bootstrap(store: Store, data_dir: str) -> bool:
    """Make ``data_dir`` hold the cluster's bootstrap files: the store's when it has them, else put this server's
    own there (they must exist). True when files were replaced by the store's (the caller re-issues what the
    old CA signed)."""
    base = Path(data_dir)
    kv = await store.get(BOOTSTRAP_KEY)
    if kv is None:
        mine = {name: (base / name).read_text() for name in FILES}
        try:
            await store.create(BOOTSTRAP_KEY, json.dumps(mine).encode())
            log.info("bootstrap data (CA, tokens, join token) put in the store for other servers to share")
            return False
        except KeyExists:  # another server, starting at the same moment, was first
            kv = await store.get(BOOTSTRAP_KEY)
    shared: dict[str, str] = await _complete(store, kv, base)
    changed = [name for name in FILES if not (base / name).exists() or (base / name).read_text() != shared[name]]
    for name in changed:
        _write(base / name, shared[name], name in PRIVATE)
    if "pki/ca.crt" in changed:
        (base / "pki" / "server.crt").unlink(missing_ok=True)  # signed by the replaced CA: issued anew
        log.warning("this server takes the cluster's CA and tokens from the store (its own were replaced)")
    return bool(changed)


async def _complete(store: Store, kv, base: Path) -> dict[str, str]:
    """The store's bootstrap data, with the files a cluster made by an older server lacks (the ServiceAccount
    key) added from this server's own: the first server to start after the upgrade decides them for all."""
    while True:
        shared: dict[str, str] = json.loads(kv.value)
        missing = [name for name in FILES if name not in shared]
        if not missing:
            return shared
        shared.update({name: (base / name).read_text() for name in missing})
        try:
            await store.update(BOOTSTRAP_KEY, json.dumps(shared).encode(), kv.mod_revision)
            log.info("bootstrap data in the store completed with %s", ", ".join(missing))
            return shared
        except Conflict:
            kv = await store.get(BOOTSTRAP_KEY)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class NodeCredentials:
    """Node name -> SHA-256 of its bearer token: in the store, one key per node; lookups from memory."""

    def __init__(self, store: Store, data_dir: str = "") -> None:
        self.store, self.data_dir = store, data_dir
        self._hashes: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._follower = Follower(store, NODES_PREFIX, reset=self._reset, apply=self._apply, name="node-credentials",
                                  log=log, what="node credentials")

    async def start(self) -> None:
        """Read every credential (taking over a single server's old file first) and follow later changes."""
        await self._migrate()
        await self._follower.start()

    async def stop(self) -> None:
        await self._follower.stop()

    def node(self, token: str) -> str | None:
        """The node whose credential ``token`` is, else None."""
        return self._names.get(_digest(token))

    def has(self, node: str) -> bool:
        return node in self._hashes

    async def issue(self, node: str) -> str:
        """A new credential for ``node``; one it held before stops working (on every server)."""
        token = f"node.{secrets.token_urlsafe(32)}"
        await self._put(node, _digest(token))
        return token

    async def _put(self, node: str, digest: str) -> None:
        key = NODES_PREFIX + node
        try:
            await self.store.create(key, digest.encode())
        except KeyExists:
            await self.store.update(key, digest.encode())
        self._remember(node, digest)

    def _remember(self, node: str, digest: str | None) -> None:
        self._names.pop(self._hashes.pop(node, ""), None)
        if digest:
            self._hashes[node], self._names[digest] = digest, node

    def _reset(self) -> None:
        self._hashes, self._names = {}, {}

    def _apply(self, key: str, value: bytes | None, _revision: int) -> None:
        self._remember(key.removeprefix(NODES_PREFIX), value.decode() if value is not None else None)

    async def _migrate(self) -> None:
        """A single server's ``pki/node-credentials.json`` moves into the store (keys already there win)."""
        legacy = Path(self.data_dir) / LEGACY_CREDENTIALS if self.data_dir else None
        if legacy is None or not legacy.exists():
            return
        for node, digest in json.loads(legacy.read_text()).items():
            try:
                await self.store.create(NODES_PREFIX + node, digest.encode())
            except KeyExists:
                pass
        legacy.rename(legacy.with_name(legacy.name + ".moved"))
        log.info("node credentials moved from %s into the store", legacy)
