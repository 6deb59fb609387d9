"""The container engine's low level: OCI bundles run by runc, cgroups, overlay root filesystems, networks.

Knows nothing of Kubernetes or of image names: it is given layer directories and a process to run.

Exports resolve lazily (PEP 562): ``portside run`` imports submodules of this package on its hot path, and must
not pay for the ones it does not use.
"""

from importlib import import_module

_EXPORTS = {
    "run_oneshot": "portside.runtime.oneshot",
    "mount_overlay": "portside.runtime.rootfs",
    "unmount": "portside.runtime.rootfs",
    "is_mounted": "portside.runtime.rootfs",
    "MountError": "portside.runtime.rootfs",
    "Runc": "portside.runtime.runc",
    "State": "portside.runtime.state",
    "Event": "portside.runtime.state",
    "transition": "portside.runtime.state",
    "Cgroup": "portside.runtime.cgroups",
    "Limits": "portside.runtime.spec",
    "Security": "portside.runtime.spec",
    "Process": "portside.runtime.spec",
    "Mount": "portside.runtime.spec",
    "build_config": "portside.runtime.spec",
    "PortsideError": "portside.runtime.errors",
    "InvalidArgument": "portside.runtime.errors",
    "NotFound": "portside.runtime.errors",
    "ContainerNotFound": "portside.runtime.errors",
    "VolumeNotFound": "portside.runtime.errors",
    "NetworkNotFound": "portside.runtime.errors",
    "Conflict": "portside.runtime.errors",
    "NameInUse": "portside.runtime.errors",
    "PortInUse": "portside.runtime.errors",
    "InvalidTransition": "portside.runtime.errors",
    "OCIRuntimeError": "portside.runtime.errors",
    "CommandNotFound": "portside.runtime.errors",
    "CommandNotExecutable": "portside.runtime.errors",
    "NetworkError": "portside.runtime.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'portside.runtime' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
