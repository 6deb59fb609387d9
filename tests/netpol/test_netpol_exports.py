"""The package's public contract, and the floors it stands on: the API models and client, and the runtime's nft
runner and errors; never the store, the API server, the controllers, the agent, the proxy or the CLI."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import portside.netpol


def test_every_exported_name_exists() -> None:
    assert sorted(portside.netpol.__all__) == sorted(set(portside.netpol.__all__))
    for name in portside.netpol.__all__:
        assert getattr(portside.netpol, name) is not None, name


def test_every_module_defines_all() -> None:
    for info in pkgutil.iter_modules(portside.netpol.__path__):
        module = importlib.import_module(f"portside.netpol.{info.name}")
        assert hasattr(module, "__all__"), info.name


def test_netpol_talks_through_the_api_only() -> None:
    allowed = ("portside.netpol", "portside.client", "portside.api", "portside.runtime.net.nft",
               "portside.runtime.errors")
    for path in Path(portside.netpol.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name.startswith("portside"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"
