"""``eventually``: the first truthy value, or a failure that names what was awaited."""

import asyncio
import itertools

import pytest

from support.wait import eventually, eventually_async


def test_returns_the_first_truthy_value() -> None:
    counter = itertools.count()
    assert eventually(lambda: (n := next(counter)) >= 3 and n, 5, 0.001) == 3


def test_a_condition_that_never_holds_fails_naming_it() -> None:
    with pytest.raises(AssertionError, match="timed out after 0.1 s waiting for the moon"):
        eventually(lambda: False, 0.1, what="the moon")


def test_async_checks_are_awaited() -> None:
    counter = itertools.count()

    async def check() -> bool:
        return next(counter) == 2

    assert asyncio.run(eventually_async(check, 5, 0.001)) is True
    with pytest.raises(AssertionError, match="waiting for never"):
        asyncio.run(eventually_async(lambda: None, 0.1, what="never"))
