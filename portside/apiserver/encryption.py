"""Encryption at rest: chosen resources (Secrets by default) are stored encrypted, as kube-apiserver's
``--encryption-provider-config`` does it, and every reader above the store sees plaintext.

The configuration is Kubernetes' ``EncryptionConfiguration`` (``apiserver.config.k8s.io/v1``), of which the
``aesgcm`` and ``identity`` providers are supported::

    apiVersion: apiserver.config.k8s.io/v1
    kind: EncryptionConfiguration
    resources:
      - resources: [secrets]            # or configmaps, deployments.apps, *.apps, *.*
        providers:
          - aesgcm: {keys: [{name: key1, secret: <base64 of 16, 24 or 32 random bytes>}]}
          - identity: {}

For each rule the first provider encrypts every write; every provider is tried for reads, so keys rotate by
putting a new key first and keeping the old one after it until every object was written again
(``kubectl get secrets -A -o json | kubectl replace -f -``). A value is stored as
``k8s:enc:aesgcm:v1:KEYNAME:`` + a 12-byte random nonce + AES-GCM ciphertext and tag, with the object's store key
as associated data, so a value moved to another key does not decrypt. A value without that prefix is read as
plaintext (data written before encryption was configured).

Without the flag, the first ``up`` writes ``DATA_DIR/pki/encryption-config.yaml`` with a new key for Secrets, and
every server of the cluster takes it from the bootstrap data. The key then lives beside the CA key in that
record: to keep it out of the store altogether, give every server the same ``--encryption-provider-config``.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portside.store import Create, Delete, Event, KeyValue, ListResult, Progress, Store, Update, WatchStream, Write

ENCRYPTED = b"k8s:enc:"
AESGCM_PREFIX = b"k8s:enc:aesgcm:v1:"
NONCE_BYTES = 12
DEFAULT_FILE = "pki/encryption-config.yaml"
KIND, API_VERSION = "EncryptionConfiguration", "apiserver.config.k8s.io/v1"


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and field."""


class DecryptError(Exception):
    pass


@dataclass(frozen=True)
class AESGCMProvider:
    keys: tuple[tuple[str, AESGCM], ...]  # (name, cipher); the first encrypts

    @property
    def prefix(self) -> bytes:
        """What a value sealed with the first key starts with."""
        return AESGCM_PREFIX + self.keys[0][0].encode() + b":"

    def seal(self, plain: bytes, context: bytes) -> bytes:
        name, cipher = self.keys[0]
        nonce = os.urandom(NONCE_BYTES)
        return AESGCM_PREFIX + name.encode() + b":" + nonce + cipher.encrypt(nonce, plain, context)

    def open(self, stored: bytes, context: bytes) -> bytes | None:
        if not stored.startswith(AESGCM_PREFIX):
            return None
        name, sep, rest = stored[len(AESGCM_PREFIX):].partition(b":")
        cipher = next((c for n, c in self.keys if n.encode() == name), None)
        if not sep or cipher is None:
            return None
        try:
            return cipher.decrypt(rest[:NONCE_BYTES], rest[NONCE_BYTES:], context)
        except InvalidTag:
            raise DecryptError(f"the value of {context.decode()} does not decrypt with key {name.decode()!r}") \
                from None


class IdentityProvider:
    def seal(self, plain: bytes, context: bytes) -> bytes:
        return plain

    def open(self, stored: bytes, context: bytes) -> bytes | None:
        return None if stored.startswith(ENCRYPTED) else stored


Provider = AESGCMProvider | IdentityProvider


@dataclass(frozen=True)
class Rule:
    resources: tuple[str, ...]  # "secrets", "deployments.apps", "*.apps", "*.*"
    providers: tuple[Provider, ...]

    def covers(self, group: str, plural: str) -> bool:
        return any(r in ("*.*", f"{plural}.{group}" if group else plural, f"*.{group}" if group else "*.")
                   for r in self.resources)


def _key_bytes(text: Any, where: str) -> bytes:
    try:
        key = base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{where}: expected base64") from None
    if len(key) not in (16, 24, 32):
        raise ConfigError(f"{where}: expected a key of 16, 24 or 32 bytes, got {len(key)}")
    return key


def _provider(entry: Any, where: str) -> Provider:
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ConfigError(f"{where}: expected exactly one of aesgcm or identity")
    kind, spec = next(iter(entry.items()))
    if kind == "identity":
        return IdentityProvider()
    if kind != "aesgcm":
        raise ConfigError(f"{where}: provider {kind!r} is not supported here (aesgcm, identity)")
    keys = (spec or {}).get("keys") or []
    if not keys:
        raise ConfigError(f"{where}.aesgcm.keys: at least one key is required")
    out, names = [], set()
    for i, k in enumerate(keys):
        here = f"{where}.aesgcm.keys[{i}]"
        name = str((k or {}).get("name") or "")
        if not name or ":" in name or name in names:
            raise ConfigError(f"{here}.name: a unique name without ':' is required")
        names.add(name)
        out.append((name, AESGCM(_key_bytes(k.get("secret"), f"{here}.secret"))))
    return AESGCMProvider(tuple(out))


def parse(text: str, where: str = "encryption configuration") -> tuple[Rule, ...]:
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not YAML: {exc}") from None
    if doc.get("kind") != KIND or doc.get("apiVersion") != API_VERSION:
        raise ConfigError(f"{where}: expected kind {KIND} of apiVersion {API_VERSION}")
    rules = []
    for i, entry in enumerate(doc.get("resources") or []):
        here = f"{where}: resources[{i}]"
        resources = tuple(str(r) for r in (entry or {}).get("resources") or [])
        providers = (entry or {}).get("providers") or []
        if not resources or not providers:
            raise ConfigError(f"{here}: both resources and providers are required")
        rules.append(Rule(resources, tuple(_provider(p, f"{here}.providers[{j}]") for j, p in enumerate(providers))))
    return tuple(rules)


def load(path: str) -> tuple[Rule, ...]:
    return parse(Path(path).read_text(), path)


def default_config() -> str:
    secret = base64.b64encode(os.urandom(32)).decode()
    doc = {"apiVersion": API_VERSION, "kind": KIND, "resources": [
        {"resources": ["secrets"], "providers": [{"aesgcm": {"keys": [{"name": "key1", "secret": secret}]}},
                                                 {"identity": {}}]}]}
    return yaml.safe_dump(doc, sort_keys=False)


def ensure_default(data_dir: str) -> Path:
    """``DATA_DIR/pki/encryption-config.yaml``, with a new key for Secrets when missing (0600)."""
    path = Path(data_dir) / DEFAULT_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(default_config())
        os.replace(tmp, path)
    return path


class EncryptingStore:
    """The store with the configured resources' values sealed on the way in and opened on the way out; every
    other key, and every other operation, passes through unchanged."""

    def __init__(self, store: Store, rules: tuple[Rule, ...]) -> None:
        self._store, self.rules = store, rules
        self._by_prefix: dict[tuple[str, str], Rule | None] = {}
        # Keys last read through another key or provider than the first: an update must write them again even
        # when nothing in the object changed (that is how ``kubectl replace`` rotates keys).
        self.stale: set[str] = set()

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def _rule(self, key: str) -> Rule | None:
        """The rule for a ``/registry/GROUP/PLURAL/...`` key (``core`` is the core group)."""
        parts = key.split("/", 4)
        if len(parts) < 4 or parts[1] != "registry":
            return None
        prefix = (parts[2], parts[3])
        rule = self._by_prefix.get(prefix, False)
        if rule is False:
            group = "" if parts[2] == "core" else parts[2]
            rule = self._by_prefix[prefix] = next((r for r in self.rules if r.covers(group, parts[3])), None)
        return rule

    def _passes_through(self, prefix: str) -> bool:
        """Whether every key under ``prefix`` (a list's or a watch's) is of one resource that no rule covers."""
        parts = prefix.split("/", 4)
        return len(parts) == 5 and bool(parts[3]) and self._rule(prefix) is None

    def _seal(self, key: str, value):
        rule = self._rule(key)
        if rule is None or value is None:
            return value
        provider = rule.providers[0]
        self.stale.discard(key)
        if callable(value):
            return lambda revision: provider.seal(value(revision), key.encode())
        return provider.seal(value, key.encode())

    def _open(self, key: str, value: bytes | None) -> bytes | None:
        rule = self._rule(key) if value is not None else None
        if rule is None:
            return value
        for i, provider in enumerate(rule.providers):
            plain = provider.open(value, key.encode())
            if plain is not None:
                if i or (isinstance(provider, AESGCMProvider) and not value.startswith(provider.prefix)):
                    self.stale.add(key)
                return plain
        if not value.startswith(ENCRYPTED):
            self.stale.add(key)
            return value  # written before encryption was configured for it
        raise DecryptError(f"no configured provider decrypts the value of {key}")

    def _kv(self, kv: KeyValue | None) -> KeyValue | None:
        if kv is None or self._rule(kv.key) is None:
            return kv
        return replace(kv, value=self._open(kv.key, kv.value))

    def _write(self, w: Write) -> Write:
        if self._rule(w.key) is None:
            return w
        if isinstance(w, (Create, Update)):
            return replace(w, value=self._seal(w.key, w.value))
        if isinstance(w, Delete) and w.tombstone is not None:
            return replace(w, tombstone=self._seal(w.key, w.tombstone))
        return w

    async def get(self, key: str) -> KeyValue | None:
        return self._kv(await self._store.get(key))

    async def list(self, prefix: str, **kw) -> ListResult:
        listed = await self._store.list(prefix, **kw)
        if self._passes_through(prefix):
            return listed
        return replace(listed, items=[self._kv(kv) for kv in listed.items])

    async def commit(self, writes: list[Write]) -> list[KeyValue]:
        return [self._kv(kv) for kv in await self._store.commit([self._write(w) for w in writes])]

    async def create(self, key: str, value) -> KeyValue:
        return self._kv(await self._store.create(key, self._seal(key, value)))

    async def update(self, key: str, value, expect: int = 0) -> KeyValue:
        return self._kv(await self._store.update(key, self._seal(key, value), expect))

    async def delete(self, key: str, expect: int = 0, tombstone=None) -> KeyValue:
        return self._kv(await self._store.delete(key, expect, self._seal(key, tombstone)))

    async def watch(self, prefix: str, revision: int, progress_every: float = 0) -> WatchStream:
        stream = await self._store.watch(prefix, revision, progress_every)
        if self._passes_through(prefix):  # a watch of pods sees no sealed value: its events go by untouched
            return stream
        return WatchStream(self._opened(stream.batches), stream.close)

    async def _opened(self, batches: AsyncIterator[list[Event] | Progress]) -> AsyncIterator[list[Event] | Progress]:
        async for batch in batches:
            if isinstance(batch, Progress):
                yield batch
            else:
                yield [e if self._rule(e.kv.key) is None else
                       replace(e, kv=self._kv(e.kv), prev=self._open(e.kv.key, e.prev) if e.prev is not None
                               else None) for e in batch]
