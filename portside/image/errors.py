"""The image store's exceptions, a branch of the runtime's tree so the CLI and the engine catch one root class."""

from __future__ import annotations

from portside.runtime.errors import Conflict, InvalidArgument, NotFound, PortsideError


class ImageError(PortsideError):
    """Root of every failure the image store, the layer code and the builder raise on purpose."""


class ImageNotFound(ImageError, NotFound):
    """No image answers to the reference (name, id, digest or id prefix) the caller gave."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"no such image: {ref}")
        self.ref = ref


class AmbiguousImage(ImageError):
    """An id prefix shared by several images: resolving it to one of them would be a guess."""

    def __init__(self, ref: str, count: int) -> None:
        super().__init__(f"image id prefix {ref!r} is ambiguous: it matches {count} images; give more digits")
        self.ref = ref


class InvalidReference(ImageError, InvalidArgument):
    """A NAME[:TAG] that docker would refuse: the message names the part that is wrong."""


class UnsafeLayer(ImageError):
    """A layer tar that would write outside its directory or create what a layer may not hold; names the member."""

    def __init__(self, member: str, why: str) -> None:
        super().__init__(f"refusing layer: member {member!r} {why}")
        self.member = member


class CorruptBlob(ImageError):
    """A blob whose content does not match its digest, or a JSON document that does not parse."""


class ImageConflict(ImageError, Conflict):
    """A removal that needs ``-f``: the image is in use, or has several names and was given by id."""


class ImageInUse(ImageConflict):
    """``rmi`` without ``-f`` of an image a container was created from; docker's own words, which say whether
    a name or the image itself was asked for."""

    def __init__(self, ref: str, container: str, image_id: str = "", by_name: bool = True,
                 running: bool = False) -> None:
        short = image_id.removeprefix("sha256:")[:12]
        if by_name:
            message = (f"conflict: unable to remove repository reference \"{ref}\" (must force) - container "
                       f"{container[:12]} is using its referenced image {short}")
        else:
            message = (f"conflict: unable to delete {short} (must be forced) - image is being used by "
                       f"{'running' if running else 'stopped'} container {container[:12]}")
        super().__init__(message)
        self.ref = ref
        self.container = container


class ArchiveError(ImageError):
    """A save/load archive that is neither a docker-archive nor an OCI archive, or misses a file it names."""
