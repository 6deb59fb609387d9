"""A container's lifecycle: states, the events that move between them, and the table that allows them.

Theory of operation. A container is CREATED (record and bundle written, nothing running), RUNNING (its monitor
started it and holds it), EXITED (its process ended; the record keeps exit code and OOM flag, the upper directory
keeps its writes) and REMOVING while its files go away. RESTARTING covers the gap between an exit and the restart
policy's next start. PAUSED is a running container whose processes are frozen (``runc pause``): it still has its
monitor, and stop, kill and a forced rm thaw it after signalling, so the signal is delivered. Every change of state goes through ``transition``, which raises ``InvalidTransition`` naming
the container, its state and the event, and changes nothing: e.g. ``start`` on a running container, ``rm`` of a
running one without ``--force``.
"""

from __future__ import annotations

import enum

from portside.runtime.errors import InvalidTransition


class State(enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    RESTARTING = "restarting"
    EXITED = "exited"
    PAUSED = "paused"
    REMOVING = "removing"


class Event(enum.Enum):
    START = "start"
    EXIT = "exit"
    RESTART = "restart"
    STOP = "stop"
    KILL = "kill"
    REMOVE = "remove"
    FORCE_REMOVE = "force-remove"
    EXEC = "exec"
    PAUSE = "pause"
    UNPAUSE = "unpause"


_S, _E = State, Event
TRANSITIONS: dict[tuple[State, Event], State] = {
    (_S.CREATED, _E.START): _S.RUNNING,
    (_S.EXITED, _E.START): _S.RUNNING,
    (_S.RUNNING, _E.EXIT): _S.EXITED,
    (_S.RUNNING, _E.RESTART): _S.RESTARTING,
    (_S.RESTARTING, _E.START): _S.RUNNING,
    (_S.RESTARTING, _E.EXIT): _S.EXITED,
    (_S.RUNNING, _E.STOP): _S.RUNNING,       # stays running until the monitor records the exit
    (_S.RESTARTING, _E.STOP): _S.RESTARTING,
    (_S.RESTARTING, _E.KILL): _S.RESTARTING,
    (_S.CREATED, _E.STOP): _S.CREATED,        # docker: stopping a container that is not running is a no-op
    (_S.EXITED, _E.STOP): _S.EXITED,
    (_S.RUNNING, _E.KILL): _S.RUNNING,
    (_S.RUNNING, _E.EXEC): _S.RUNNING,
    (_S.CREATED, _E.REMOVE): _S.REMOVING,
    (_S.EXITED, _E.REMOVE): _S.REMOVING,
    (_S.CREATED, _E.FORCE_REMOVE): _S.REMOVING,
    (_S.EXITED, _E.FORCE_REMOVE): _S.REMOVING,
    (_S.RUNNING, _E.FORCE_REMOVE): _S.REMOVING,
    (_S.RESTARTING, _E.FORCE_REMOVE): _S.REMOVING,
    (_S.RUNNING, _E.PAUSE): _S.PAUSED,
    (_S.PAUSED, _E.UNPAUSE): _S.RUNNING,
    (_S.PAUSED, _E.EXIT): _S.EXITED,
    (_S.PAUSED, _E.STOP): _S.PAUSED,          # signalled, then thawed: the monitor records the exit
    (_S.PAUSED, _E.KILL): _S.PAUSED,
    (_S.PAUSED, _E.FORCE_REMOVE): _S.REMOVING,
}

_VERB = {Event.REMOVE: "remove it (stop it first, or use --force)", Event.START: "start it",
         Event.KILL: "kill it (it is not running)", Event.EXEC: "exec in it (it is not running)",
         Event.PAUSE: "pause it (it is not running)", Event.UNPAUSE: "unpause it (it is not paused)"}


def transition(container: str, state: State, event: Event) -> State:
    """The state after ``event``, or ``InvalidTransition`` when the table has no such move."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(container, state.value, _VERB.get(event, event.value)) from None
