"""A pipe read ahead by a thread of its own, within a bound.

:class:`pmc.bundle.parts.PartStreams` reads the parts of big files in order from several
streams; read straight from the pipes, a stream whose turn has not come could only run as
far ahead as SSH's window and the pipes hold, and the streams took turns. Each stream gets a
:class:`ReadAhead` instead: its thread reads the stream's own pieces as they come, at most a
bound ahead (memory stays bounded whatever the size; SSH's flow control holds the stream
while the bound is reached), and the reader takes them in order.
"""

from __future__ import annotations

import collections
import threading

from pmc.bundle.pipe import BulkPipe

CHUNK = 1 << 20  # bytes per read of the pipe
WAIT = 0.5  # seconds between looks at a stop while waiting


class ReadAhead:
    """Pieces of a pipe (their sizes in order) read by a thread of its own, at most ``limit``
    bytes ahead of :meth:`read` (and one read more), which takes them in order. A pipe that
    ends early gives b"" from there on; a failure is raised by :meth:`read`."""

    def __init__(self, pipe: BulkPipe, sizes: list[int], *, limit: int) -> None:
        self.pipe = pipe
        self._sizes = sizes
        self._limit = limit
        self._items: collections.deque[bytes | BaseException] = collections.deque()
        self._held = 0  # bytes in ``_items``
        self._changed = threading.Condition()
        self._stopped = False
        self._chunk = b""  # taken last from ``_items``; handed over up to ``_at``
        self._at = 0
        self._ended = False
        self.thread = threading.Thread(target=self._run, name="pmc-read-ahead", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for size in self._sizes:
                left = size
                while left:
                    data = self.pipe.read(min(left, CHUNK))
                    self._put(data)
                    if not data:
                        return
                    left -= len(data)
        except BaseException as exc:  # raised to the reader, which stops its work
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        with self._changed:
            while self._held >= self._limit and not self._stopped:
                self._changed.wait(WAIT)
            self._items.append(item)
            self._held += len(item) if isinstance(item, bytes) else 0
            self._changed.notify_all()

    def _take(self) -> bytes | BaseException:
        with self._changed:
            while not self._items:
                if self._stopped:
                    raise RuntimeError(f"reading ahead of {self.pipe.command} was stopped")
                self._changed.wait(WAIT)
            item = self._items.popleft()
            self._held -= len(item) if isinstance(item, bytes) else 0
            self._changed.notify_all()
            return item

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (at least 1) of this stream, b"" at an early end."""
        if self._at >= len(self._chunk) and not self._ended:
            item = self._take()
            if isinstance(item, BaseException):
                raise item
            self._chunk, self._at, self._ended = item, 0, not item
        if self._at == 0 and size >= len(self._chunk):  # the whole chunk: no copy
            self._at = len(self._chunk)
            return self._chunk
        data = self._chunk[self._at : self._at + size]
        self._at += len(data)
        return data

    @property
    def waiting(self) -> int:
        """Bytes read from the stream, not yet taken by :meth:`read`."""
        with self._changed:
            return self._held + len(self._chunk) - self._at

    def stop(self) -> None:
        """The thread ends at its next chunk (or once its pipe is aborted)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
