"""The package's public contract: every ``__all__`` name exists, and ``api`` imports nothing else of portside."""

import ast
import importlib
import pathlib

import pytest

import portside.api

PACKAGE = pathlib.Path(portside.api.__file__).parent
MODULES = sorted(".".join(p.relative_to(PACKAGE.parent.parent).with_suffix("").parts).removesuffix(".__init__")
                 for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), name
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert missing == []


def test_agreed_interface_is_public() -> None:
    for name in ("RESOURCES", "ResourceInfo", "lookup", "prepare_create", "prepare_update", "spec_changed",
                 "apply_patch", "table", "openapi_v2", "openapi_v3", "openapi_v3_index", "label_selector",
                 "selector_from_object", "field_selector", "Invalid", "FieldError", "Selector", "FieldSelector"):
        assert name in portside.api.__all__


def test_api_is_the_bottom_floor() -> None:
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert not node.module.startswith("portside"), (path, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("portside") for a in node.names), path
