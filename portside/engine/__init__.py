"""Docker-style containers: resolves images through ``image`` and runs them through ``runtime``.

Exports resolve lazily (PEP 562) so that importing one piece on ``portside run``'s path does not load the rest.
"""

from importlib import import_module

_EXPORTS = {
    "Engine": "portside.engine.engine",
    "containers_using_image": "portside.engine.engine",
    "remove_image": "portside.engine.images",
    "prune_images": "portside.engine.images",
    "commit": "portside.engine.images",
    "ContainerConfig": "portside.engine.config",
    "Container": "portside.engine.model",
    "ContainerRecord": "portside.engine.model",
    "ContainerState": "portside.engine.model",
    "VolumeSpec": "portside.engine.config",
    "Resources": "portside.engine.config",
    "parse_memory": "portside.engine.config",
    "parse_cpus": "portside.engine.config",
    "parse_restart": "portside.engine.config",
    "parse_volume": "portside.engine.config",
    "parse_env_file": "portside.engine.config",
    "Volumes": "portside.engine.volumes",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'portside.engine' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
