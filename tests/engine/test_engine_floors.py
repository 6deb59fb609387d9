"""The engine stays a docker-style tool: ``engine/``, ``runtime/`` and ``image/`` (and the Docker API over them)
import no part of the cluster (the API, its client and server, the store, the controllers, the agent, the
cluster DNS) and not the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import portside

ABOVE = ("api", "client", "apiserver", "store", "scheduler", "controllers", "agent", "proxy", "dns", "capacity",
         "dashboard", "dockerapi", "cli", "supervisor", "agentd")


def imported(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return names


@pytest.mark.parametrize("package", ["engine", "runtime", "image"])
def test_no_import_runs_up_a_floor(package: str) -> None:
    base = Path(portside.__file__).parent
    for path in sorted((base / package).rglob("*.py")):
        for name in imported(path):
            parts = name.split(".")
            assert not (parts[0] == "portside" and len(parts) > 1 and parts[1] in ABOVE), \
                f"{path.relative_to(base)} imports {name}"


# The Docker API is the engine's, not the cluster's: it stands on engine/, image/ and runtime/ only.
NOT_UNDER_DOCKERAPI = ("api", "client", "apiserver", "store", "scheduler", "controllers", "agent", "proxy", "dns",
                       "netpol", "capacity", "metrics", "dashboard", "cli", "supervisor", "agentd")


def test_the_docker_api_imports_only_the_engines_floors() -> None:
    base = Path(portside.__file__).parent
    found = [f"{path.relative_to(base)} imports {name}" for path in sorted((base / "dockerapi").rglob("*.py"))
             for name in imported(path)
             if name.startswith("portside.") and name.split(".")[1] in NOT_UNDER_DOCKERAPI]
    assert found == []
