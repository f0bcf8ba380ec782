"""Progress of a transfer in bytes, with rate and time left, reported through a Job.

Byte counts arrive from worker threads; events go out at most a few times a second. The same
callback is the transfer's safe point for a cancel: it raises :class:`~pmc.errors.Cancelled`
in the worker thread, which closes the channel and removes any partial file.
"""

from __future__ import annotations

import threading
import time

from pmc.errors import Cancelled
from pmc.jobs import JobContext


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


class ByteProgress:
    """Counts bytes of one phase (``what``) and reports them to ``ctx``."""

    def __init__(
        self, ctx: JobContext | None, what: str, total: int | None, *, interval: float = 0.25
    ) -> None:
        self.ctx = ctx
        self.what = what
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self._last = 0.0
        self._interval = interval
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def message(self) -> str:
        rate = self.rate
        total = max(self.total or 0, self.done) if self.total else 0
        text = f"{self.what}: {human_bytes(self.done)}"
        if total:
            text += f" of {human_bytes(total)}"
        text += f" at {human_bytes(rate)}/s"
        if total and rate > 0 and total > self.done:
            left = round((total - self.done) / rate)
            when = f"{left // 60} min {left % 60} s" if left >= 60 else f"{max(left, 1)} s"
            text += f", about {when} left"
        return text

    def __call__(self, n: int) -> None:
        if self.ctx is None:
            self.done += n
            return
        if self.ctx.cancel_requested.is_set():
            raise Cancelled("the job was cancelled by the operator")
        with self._lock:
            self.done += n
            now = time.monotonic()
            if now - self._last < self._interval:
                return
            self._last = now
        self.report()

    def report(self) -> None:
        if self.ctx is not None:
            total = max(self.total or 0, self.done) or None
            self.ctx.progress(self.done, total, unit="B", message=self.message())
