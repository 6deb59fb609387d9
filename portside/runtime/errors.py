"""The runtime's exception tree.

Every failure the runtime and the engine report derives from ``PortsideError``, so the CLI catches one class and
prints one line. Subclasses say *what kind* of failure it was, which decides the exit code (docker's 125 for engine
errors, 126/127 for a command that cannot run) and lets callers react (a ``PortInUse`` is the user's to fix, an
``OCIRuntimeError`` is not).
"""

from __future__ import annotations


class PortsideError(Exception):
    """Root of every error the runtime and the engine raise on purpose; ``str()`` is the one line shown.

    ``reported`` is true when the user has seen that line already: runc writes why an exec could not start to the
    process's own stderr, which is the caller's, so the CLI does not print it a second time.
    """

    exit_code = 125
    reported = False


class InvalidArgument(PortsideError):
    """Input that is malformed: a flag value, a spec field, a file line. The message names which and why."""


class NotFound(PortsideError):
    """Something named by the caller does not exist."""


class ContainerNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"no such container: {ref}")
        self.ref = ref


class VolumeNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"no such volume: {name}")
        self.name = name


class NetworkNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"network {ref} not found")  # docker's words
        self.ref = ref


class Conflict(PortsideError):
    """The request is well formed but clashes with current state (a taken name, a running container)."""


class NameInUse(Conflict):
    def __init__(self, name: str, owner: str) -> None:
        super().__init__(f"the container name {name!r} is already in use by container {owner[:12]}")
        self.name = name
        self.owner = owner


class PortInUse(Conflict):
    def __init__(self, host_ip: str, port: int, protocol: str = "tcp") -> None:
        where = f"{host_ip}:{port}" if host_ip else str(port)
        super().__init__(f"host port {where}/{protocol} is already in use")
        self.host_ip = host_ip
        self.port = port
        self.protocol = protocol


class InvalidTransition(Conflict):
    """A lifecycle event that the container's current state does not allow (see ``state.py``)."""

    def __init__(self, container: str, state: str, event: str) -> None:
        super().__init__(f"container {container[:12]} is {state}: cannot {event}")
        self.container = container
        self.state = state
        self.event = event


class OCIRuntimeError(PortsideError):
    """runc failed; the message carries runc's own explanation (its last error line)."""


class CommandNotFound(OCIRuntimeError):
    """The container's command does not exist in the image (docker exits 127)."""

    exit_code = 127


class CommandNotExecutable(OCIRuntimeError):
    """The command cannot be invoked: it exists but may not be executed (permission, not a binary), or its working
    directory is missing (docker exits 126)."""

    exit_code = 126


class NetworkError(PortsideError):
    """Setting up or tearing down a container's network failed (bridge, veth, netns, rules)."""
