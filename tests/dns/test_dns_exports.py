"""The package's public contract, and the floors it stands on: the API models and client, dnspython and the
runtime's resolv.conf reader and DNS sockets; never the store, the API server, the controllers, the agent or the CLI."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import portside.dns


def test_every_exported_name_exists() -> None:
    assert sorted(portside.dns.__all__) == sorted(set(portside.dns.__all__))
    for name in portside.dns.__all__:
        assert getattr(portside.dns, name) is not None, name


def test_every_module_defines_all() -> None:
    for info in pkgutil.iter_modules(portside.dns.__path__):
        module = importlib.import_module(f"portside.dns.{info.name}")
        assert hasattr(module, "__all__"), info.name


def test_dns_talks_through_the_api_only() -> None:
    allowed = ("portside.dns", "portside.client", "portside.api", "portside.runtime.net.resolvconf",
               "portside.runtime.net.dnsserver", "portside.runtime.net.dnswire", "portside.runtime.net.dnsforward")
    for path in Path(portside.dns.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name.startswith("portside"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"
