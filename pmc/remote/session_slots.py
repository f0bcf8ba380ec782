"""At most so many session channels at once on one SSH connection."""

from __future__ import annotations

import asyncio
import threading
from collections import deque


class SessionSlots:
    """At most ``count`` session channels at once (sshd's MaxSessions is 10 by default);
    awaitable from any event loop, released from any thread."""

    def __init__(self, count: int) -> None:
        self._free = count
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, future))
        try:
            await future
        except asyncio.CancelledError:
            with self._lock:
                granted = (loop, future) not in self._waiters
                if not granted:
                    self._waiters.remove((loop, future))
            if granted:
                self.release()
            raise

    def release(self) -> None:
        with self._lock:
            while self._waiters:
                loop, future = self._waiters.popleft()
                if future.done() or loop.is_closed():
                    continue
                loop.call_soon_threadsafe(self._grant, future)
                return
            self._free += 1

    def _grant(self, future: asyncio.Future[None]) -> None:
        if future.done():  # cancelled meanwhile: pass the slot on
            self.release()
        else:
            future.set_result(None)
