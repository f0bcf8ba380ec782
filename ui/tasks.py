"""The one gate for background work on the qasync loop.

:class:`Tasks` keeps a reference to every task it starts (qasync may otherwise let them be
collected), reports an unexpected failure to a callback (the main window shows a dialog) and
cancels everything on ``aboutToQuit``. Blocking calls go to one of two executors: ``control``
for short calls (keyring, files) and ``transfer`` for long ones, so that a long transfer never
starves a button click.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")

ErrorHandler = Callable[[str, BaseException], None]


class Tasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()
        self.control = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pmc-control")
        self.transfer = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pmc-transfer")
        self.on_error: ErrorHandler | None = None

    def spawn(self, coro: Coroutine[object, object, T], *, what: str = "") -> asyncio.Task[T]:
        """Run ``coro`` on the loop; a failure other than cancel goes to :attr:`on_error`."""
        task = asyncio.get_event_loop().create_task(coro, name=what or None)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, what))
        return task

    async def in_thread(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a short blocking call (keyring, a small file) off the GUI thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.control, lambda: func(*args, **kwargs))

    def _done(self, task: asyncio.Task[object], what: str) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        if self.on_error is not None:
            self.on_error(what, exc)
        else:
            log.error("%s failed: %s", what or task.get_name(), exc)

    @property
    def running(self) -> int:
        return len(self._tasks)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def shutdown(self) -> None:
        self.cancel_all()
        self.control.shutdown(wait=False, cancel_futures=True)
        self.transfer.shutdown(wait=False, cancel_futures=True)
