"""Waiting in tests: poll a condition until it holds, within a sanity bound (about ten times
what the work needs on a loaded machine), and fail with what was awaited. The one place where
a test pauses between looks; a test never sleeps a fixed time in the hope that something
happened meanwhile. GUI tests use ``qtbot.waitUntil``/``waitSignal`` instead (they keep Qt's
event loop turning)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

FIRST_PAUSE = 0.01
LONGEST_PAUSE = 0.2


class WaitTimedOut(AssertionError):
    """The awaited condition did not hold within the sanity bound."""


def _message(what: str, timeout: float, last: object, error: BaseException | None) -> str:
    text = f"timed out after {timeout:g} s waiting for {what}"
    if error is not None:
        return f"{text} (last error: {type(error).__name__}: {error})"
    return f"{text} (last answer: {last!r})"


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``condition`` until it returns something true, and return that. Exceptions of the
    types in ``ignoring`` count as "not yet"; after ``timeout`` seconds fail, naming ``what``."""
    deadline = time.monotonic() + timeout
    pause = FIRST_PAUSE
    while True:
        error: BaseException | None = None
        answer: T | None = None
        try:
            answer = condition()
        except ignoring as exc:
            error = exc
        if error is None and answer:
            return answer
        if time.monotonic() >= deadline:
            raise WaitTimedOut(_message(what, timeout, answer, error)) from error
        time.sleep(pause)  # the one pause between looks
        pause = min(pause * 2, LONGEST_PAUSE)


async def wait_until_async(
    condition: Callable[[], T | Awaitable[T]],
    *,
    timeout: float,
    what: str,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """:func:`wait_until` inside a coroutine: the event loop runs between looks, and
    ``condition`` may be a coroutine function."""
    deadline = time.monotonic() + timeout
    pause = FIRST_PAUSE
    while True:
        error: BaseException | None = None
        answer: T | None = None
        try:
            result = condition()
            answer = await result if isinstance(result, Awaitable) else result
        except ignoring as exc:
            error = exc
        if error is None and answer:
            return answer
        if time.monotonic() >= deadline:
            raise WaitTimedOut(_message(what, timeout, answer, error)) from error
        await asyncio.sleep(pause)  # the one pause between looks
        pause = min(pause * 2, LONGEST_PAUSE)
