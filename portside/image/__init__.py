"""The OCI image store: content-addressed blobs, manifests, names and tags; layers, builds and registries.

Importing this package is cheap (it is on ``portside run``'s path): tar, hashing and the builder load lazily.
"""

from portside.image.errors import (
                                   AmbiguousImage,
                                   ArchiveError,
                                   CorruptBlob,
                                   ImageConflict,
                                   ImageError,
                                   ImageInUse,
                                   ImageNotFound,
                                   InvalidReference,
                                   UnsafeLayer,
)
from portside.image.layout import Layout
from portside.image.reference import normalize, short_id, split_tag
from portside.image.store import Image, ImageStore, LayerRef

__all__ = [
    "AmbiguousImage", "ArchiveError", "CorruptBlob", "Image", "ImageConflict", "ImageError", "ImageInUse", "ImageNotFound",
    "ImageStore", "InvalidReference", "LayerRef", "Layout", "UnsafeLayer", "normalize", "short_id", "split_tag",
]
