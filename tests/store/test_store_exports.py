"""Each of these packages' ``__all__`` is its public contract: every name listed exists."""

import importlib

import pytest


@pytest.mark.parametrize("package", ["portside.store", "portside.client", "portside.apiserver",
                                     "portside.controllers"])
def test_public_names_resolve(package):
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert module.__all__ and missing == []
