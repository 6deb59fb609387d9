"""The agent package's ``__all__`` is its contract; the agent talks to the API, never to the store, and does not
reach into the scheduler or the controllers."""

import ast
from pathlib import Path

import portside.agent

AGENT = Path(portside.agent.__file__).parent
FORBIDDEN = ("portside.store", "portside.scheduler", "portside.controllers", "portside.apiserver", "portside.cli",
             "portside.supervisor")


def test_every_exported_name_resolves() -> None:
    for name in portside.agent.__all__:
        assert getattr(portside.agent, name) is not None, name
    assert {"Agent", "run_component", "decide", "compute"} <= set(portside.agent.__all__)


def test_the_agent_imports_no_higher_or_sibling_floor() -> None:
    for module in AGENT.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            bad = [n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
            assert not bad, f"{module.name} imports {bad}"
