"""The package's public contract, and the floors it stands on: the API client and the runtime's nft runner, never
the store, the controllers or the CLI."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import portside.proxy


def test_every_exported_name_exists() -> None:
    assert sorted(portside.proxy.__all__) == sorted(set(portside.proxy.__all__))
    for name in portside.proxy.__all__:
        assert getattr(portside.proxy, name) is not None, name


def test_every_module_defines_all() -> None:
    for info in pkgutil.iter_modules(portside.proxy.__path__):
        module = importlib.import_module(f"portside.proxy.{info.name}")
        assert hasattr(module, "__all__"), info.name


def test_proxy_talks_through_the_api_only() -> None:
    allowed = ("portside.proxy", "portside.client", "portside.runtime.errors", "portside.runtime.net.nft")
    for path in Path(portside.proxy.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name.startswith("portside"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"
