"""The package's ``__all__`` is its contract: everything listed exists, and errors share one root."""

import portside.image.registry as registry
from portside.image import ImageError
from portside.runtime.errors import PortsideError


def test_every_exported_name_exists():
    assert sorted(registry.__all__) == registry.__all__
    for name in registry.__all__:
        assert getattr(registry, name) is not None, name


def test_errors_derive_from_the_image_and_engine_roots():
    for name in ("RegistryError", "RegistryUnreachable", "Unauthorized", "ManifestUnknown", "DigestMismatch",
                 "PlatformNotFound", "InvalidReference"):
        cls = getattr(registry, name)
        assert issubclass(cls, ImageError) and issubclass(cls, PortsideError), name
