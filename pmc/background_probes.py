"""Probes a refresh does not wait for: SNMP over UDP can only be judged by its silence (a
trap receiver never answers, a silent drop looks the same), so a UDP probe takes its whole
timeout whatever the link's health. :class:`BackgroundProbes` runs such probes behind the
refresh: the refresh shows the last known answer with its time (its age), and starts the
next probe if none is under way. Nothing here knows SNMP: a probe is any coroutine giving
a :class:`~pmc.status.Check`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from pmc.status import Check, Health

log = logging.getLogger(__name__)

UNDER_WAY = Check(Health.UNKNOWN, "not checked yet (the probe is under way)")

Answered = Callable[[str, Check], None]


class BackgroundProbes:
    """The last answer of each probe by key; at most one probe per key under way."""

    def __init__(self, on_answer: Answered | None = None) -> None:
        self.known: dict[str, Check] = {}
        self.on_answer = on_answer  # told of each new answer (key, check), on the loop
        self._under_way: dict[str, asyncio.Task[Check]] = {}

    def check(self, key: str, probe: Callable[[], Awaitable[Check]]) -> Check:
        """The last answer for ``key`` (or :data:`UNDER_WAY`), starting ``probe`` unless one
        for ``key`` is under way. Never waits."""
        if key not in self._under_way:
            task = asyncio.ensure_future(probe())
            self._under_way[key] = task
            task.add_done_callback(lambda done: self._answered(key, done))
        return self.known.get(key, UNDER_WAY)

    def _answered(self, key: str, task: asyncio.Task[Check]) -> None:
        if self._under_way.get(key) is not task:  # dropped: a newer answer was remembered
            return
        del self._under_way[key]
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.warning("background probe %s failed: %s", key, error)
            return
        self.known[key] = task.result()
        if self.on_answer is not None:
            self.on_answer(key, task.result())

    def remember(self, key: str, check: Check) -> None:
        """``check`` as ``key``'s last answer, from a probe that was waited for: a probe of
        ``key`` under way (started before it) is dropped, its answer would be older."""
        task = self._under_way.pop(key, None)
        if task is not None:
            task.cancel()
        self.known[key] = check

    @property
    def under_way(self) -> int:
        return len(self._under_way)

    async def settle(self) -> None:
        """Wait for the probes under way (a one-shot such as ``pmc status``)."""
        while self._under_way:
            await asyncio.gather(*self._under_way.values(), return_exceptions=True)

    def close(self) -> None:
        """Cancel the probes under way (the window or the command ends)."""
        for task in self._under_way.values():
            task.cancel()
        self._under_way.clear()
