"""A real registry (Debian's ``docker-registry``, distribution 2.8) per test, on 127.0.0.1 and a free port.

Each registry gets its own config file and storage directory: the packaged default listens on every address
with htpasswd, which tests must never use. Variants: no auth, htpasswd (basic) auth, and token auth backed by
``token_server.py``. The processes are stopped even when the test fails.
"""

from __future__ import annotations

import pathlib

import pytest
from support.registry import htpasswd_auth
from support.require import require

from .helpers import PASSWORD, USER, Registry, start_registry, stop_registry


@pytest.fixture
def registry_factory(tmp_path: pathlib.Path):
    """Start registries for one test (``auth`` is the config's ``auth`` section); all stop at the end."""
    require("docker-registry")
    started: list[Registry] = []

    def start(auth: dict | None = None) -> Registry:
        registry = start_registry(tmp_path / f"registry-{len(started)}", auth)
        started.append(registry)
        return registry

    try:
        yield start
    finally:
        for registry in started:
            stop_registry(registry.proc)


@pytest.fixture
def registry(registry_factory) -> Registry:
    return registry_factory()


@pytest.fixture
def htpasswd_registry(registry_factory, tmp_path: pathlib.Path) -> Registry:
    """A registry with basic auth; the bcrypt entry comes from apache2-utils' ``htpasswd -B``."""
    require("htpasswd")
    return registry_factory(htpasswd_auth(tmp_path))


@pytest.fixture
def engine_root(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "engine"
    root.mkdir()
    return root


@pytest.fixture
def store(engine_root: pathlib.Path):
    from portside.image.store import ImageStore

    return ImageStore(engine_root / "image")


@pytest.fixture
def token_registry(registry_factory, tmp_path: pathlib.Path):
    """A registry whose auth is bearer tokens from ``token_server.TokenServer``; yields (registry, server)."""
    from .token_server import TokenServer

    server = TokenServer(tmp_path, USER, PASSWORD)
    server.start()
    try:
        yield registry_factory(server.registry_auth()), server
    finally:
        server.stop()
