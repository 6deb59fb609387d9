"""The lifecycle table: allowed moves, and refusals that name container, state and event."""

import pytest

from portside.runtime.errors import InvalidTransition
from portside.runtime.state import TRANSITIONS, Event, State, transition


def test_a_normal_life() -> None:
    state = State.CREATED
    for event, expected in ((Event.START, State.RUNNING), (Event.EXIT, State.EXITED), (Event.START, State.RUNNING),
                            (Event.RESTART, State.RESTARTING), (Event.START, State.RUNNING),
                            (Event.FORCE_REMOVE, State.REMOVING)):
        state = transition("c1", state, event)
        assert state is expected


@pytest.mark.parametrize("state,event,words", [
    (State.RUNNING, Event.START, "container abcdefabcdef is running: cannot start it"),
    (State.RUNNING, Event.REMOVE, "is running: cannot remove it (stop it first, or use --force)"),
    (State.EXITED, Event.EXEC, "is exited: cannot exec in it"),
    (State.CREATED, Event.KILL, "is created: cannot kill it"),
    (State.REMOVING, Event.START, "is removing: cannot start it"),
])
def test_refusals(state: State, event: Event, words: str) -> None:
    with pytest.raises(InvalidTransition) as err:
        transition("abcdefabcdef0123", state, event)
    assert words in str(err.value)
    assert (err.value.state, err.value.event) == (state.value, err.value.event)


def test_nothing_leaves_removing() -> None:
    assert not [key for key in TRANSITIONS if key[0] is State.REMOVING]
