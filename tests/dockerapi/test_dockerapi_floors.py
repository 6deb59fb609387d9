"""The Docker API is the engine's, not the cluster's: ``dockerapi/`` stands on ``engine/``, ``image/`` and
``runtime/`` and imports nothing of the cluster (its API, client, server, store, controllers, agent) nor the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import portside

FORBIDDEN = ("api", "client", "apiserver", "store", "scheduler", "controllers", "agent", "proxy", "dns", "netpol",
             "capacity", "metrics", "dashboard", "cli", "supervisor", "agentd")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return names


def test_the_docker_api_imports_only_the_engines_floors() -> None:
    base = Path(portside.__file__).parent
    found = [f"{path.relative_to(base)} imports {name}" for path in sorted((base / "dockerapi").rglob("*.py"))
             for name in _imports(path)
             if name.startswith("portside.") and name.split(".")[1] in FORBIDDEN]
    assert found == []
    assert any("portside.engine" in n for p in (base / "dockerapi").glob("*.py") for n in _imports(p))
