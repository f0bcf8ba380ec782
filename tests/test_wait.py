"""The tests' one way of waiting (tests/wait.py): the answer once it holds, a clear failure
naming what was awaited once the bound has passed."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tests.wait import WaitTimedOut, wait_until, wait_until_async


def test_returns_the_first_true_answer() -> None:
    answers = iter([None, 0, "", "ready", "later"])
    assert wait_until(lambda: next(answers), timeout=10, what="an answer") == "ready"


def test_fails_naming_what_it_waited_for_and_the_last_error() -> None:
    count = itertools.count()

    def refused() -> bool:
        next(count)
        raise ConnectionRefusedError("port 22 closed")

    with pytest.raises(WaitTimedOut) as caught:
        wait_until(refused, timeout=0.2, what="sshd", ignoring=(OSError,))
    assert str(caught.value) == (
        "timed out after 0.2 s waiting for sshd (last error: ConnectionRefusedError: port 22 "
        "closed)"
    )
    assert next(count) > 2  # it looked more than once


def test_other_errors_are_not_swallowed() -> None:
    def broken() -> bool:
        raise KeyError("x")

    with pytest.raises(KeyError):
        wait_until(broken, timeout=10, what="anything", ignoring=(OSError,))


def test_async_waits_on_coroutines_and_lets_the_loop_run() -> None:
    async def scenario() -> str:
        done = asyncio.Event()
        asyncio.get_running_loop().call_soon(done.set)

        async def state() -> str:
            return "set" if done.is_set() else ""

        return await wait_until_async(state, timeout=10, what="the event")

    assert asyncio.run(scenario()) == "set"

    async def never() -> None:
        await wait_until_async(lambda: False, timeout=0.1, what="nothing")

    with pytest.raises(WaitTimedOut, match=r"waiting for nothing \(last answer: False\)"):
        asyncio.run(never())
