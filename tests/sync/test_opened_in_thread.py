"""A database connection opened in a worker thread for a caller that was cancelled meanwhile
is closed when it comes, never left open for the garbage collector (psycopg's warning of an
unclosed connection failed a loaded GUI test when a refresh was dropped mid-open)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pmc.playout_database import opened_in_thread


def test_what_opens_after_the_caller_was_cancelled_is_closed() -> None:
    may_open = threading.Event()
    closed: list[str] = []

    def open_() -> str:
        may_open.wait(30)
        return "connection"

    async def go() -> None:
        asking = asyncio.ensure_future(opened_in_thread(open_, closed.append))
        await asyncio.sleep(0)
        asking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asking
        may_open.set()
        async with asyncio.timeout(30):
            while not closed:
                await asyncio.sleep(0.01)

    asyncio.run(go())
    assert closed == ["connection"]


def test_an_open_that_is_not_cancelled_is_the_caller_s_to_close() -> None:
    closed: list[str] = []
    assert asyncio.run(opened_in_thread(lambda: "connection", closed.append)) == "connection"
    assert closed == []
