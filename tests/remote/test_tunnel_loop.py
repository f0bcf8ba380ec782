"""A tunnel's thread asks the event loop it was opened from to (re)connect: the loop may stop
or close at any moment (the window closing), and no coroutine may be left un-awaited, no thread
left waiting for ten minutes."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import warnings
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from pmc.remote.tunnels import LoopGone, run_on_loop


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    while not loop.is_running():
        time.sleep(0.01)
    yield loop
    if loop.is_running():
        loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    if not loop.is_closed():
        loop.close()


async def _answer(value: int) -> int:
    await asyncio.sleep(0.01)
    return value


def test_the_result_comes_back_from_the_loop(loop: asyncio.AbstractEventLoop) -> None:
    assert run_on_loop(loop, lambda: _answer(7), 10) == 7


def test_a_timeout_of_the_work_itself_is_its_error_not_a_wait(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def times_out() -> int:
        raise TimeoutError("connect timed out")

    started = time.monotonic()
    with pytest.raises(TimeoutError, match="connect timed out"):
        run_on_loop(loop, times_out, 30)
    assert time.monotonic() - started < 5


def test_work_past_its_limit_is_cancelled(loop: asyncio.AbstractEventLoop) -> None:
    cancelled = threading.Event()

    async def hangs() -> int:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 0

    with pytest.raises(TimeoutError, match="no result within 1 s"):
        run_on_loop(loop, hangs, 1)
    assert cancelled.wait(5)


def test_a_loop_that_stops_before_taking_the_work_up_makes_no_coroutine(
    loop: asyncio.AbstractEventLoop,
) -> None:
    busy, release = threading.Event(), threading.Event()

    def block() -> None:
        busy.set()
        release.wait(10)

    loop.call_soon_threadsafe(block)
    assert busy.wait(5)
    made: list[int] = []

    def make() -> Coroutine[Any, Any, int]:
        made.append(1)
        return _answer(1)

    outcome: list[BaseException | int] = []

    def ask() -> None:
        try:
            outcome.append(run_on_loop(loop, make, 600))
        except BaseException as exc:
            outcome.append(exc)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asker = threading.Thread(target=ask)
        asker.start()
        time.sleep(0.3)  # the work is queued behind the blocking callback
        loop.stop()  # the loop ends after the callback it runs now
        release.set()
        asker.join(10)
        gc.collect()
    assert not asker.is_alive(), "the thread still waits for a loop that stopped"
    assert len(outcome) == 1 and isinstance(outcome[0], LoopGone)
    assert made == []


def test_a_closed_loop_is_gone(loop: asyncio.AbstractEventLoop) -> None:
    loop.call_soon_threadsafe(loop.stop)
    while loop.is_running():
        time.sleep(0.01)
    loop.close()
    with pytest.raises(LoopGone):
        run_on_loop(loop, lambda: _answer(1), 10)


def test_work_that_cannot_start_fails_at_once(loop: asyncio.AbstractEventLoop) -> None:
    def make() -> Coroutine[Any, Any, int]:
        raise ValueError("no such server")

    started = time.monotonic()
    with pytest.raises(ValueError, match="no such server"):
        run_on_loop(loop, make, 30)
    assert time.monotonic() - started < 5
