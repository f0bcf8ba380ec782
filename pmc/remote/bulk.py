"""Channels that carry bulk data (a tar stream, a file, psql input and output): their receive
buffer, and sending without copies.

paramiko hands every SSH data packet (32 KiB from OpenSSH) to the channel's buffer on its
transport thread, and that buffer wakes the reading thread for each packet and copies each
byte three times (into an array, out of it, and the remainder moved down on every partial
read). Measured on a 1 GB transfer: half of PMC's CPU time went to those wake-ups and copies
(``bench/bench_transport.py``).

:class:`ReceiveBuffer` takes its place on the channels of :mod:`pmc.remote.files` and
:mod:`pmc.bundle.pipe`: packets are kept by reference, the reader is woken once a whole batch
(1 MiB, or what it asked for if less) is there, or when the stream ends, and a read copies
each byte once, into the block it returns. A stream that pauses with less than a batch
waiting is handed over after ``linger`` seconds, so nothing waits on a slow trickle.

:func:`send_all` hands paramiko a view of the data: its ``sendall`` slices what is left after
each 32 KiB packet, and a slice of ``bytes`` is a copy (about 16 MiB copied per MiB sent).

SSH flow control is unchanged: ``Channel.recv`` still reports what was read, and paramiko
opens the window again as before. The batch stays well below the window (8 MiB), so the
server never waits for a reader that waits for a fuller batch.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING

import paramiko
from paramiko.buffered_pipe import BufferedPipe, PipeTimeout

BATCH = 1 << 20
LINGER = 0.005

if TYPE_CHECKING:
    _Pipe = BufferedPipe[bytes]  # generic in paramiko's type stubs only
else:
    _Pipe = BufferedPipe


class ReceiveBuffer(_Pipe):
    """A drop-in for paramiko's ``BufferedPipe`` that batches wake-ups and copies once."""

    def __init__(self, *, batch: int = BATCH, linger: float = LINGER) -> None:
        # paramiko's own attributes are not used: everything lives in the ones below
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._event: threading.Event | None = None
        self._closed = False
        self._parts: deque[memoryview] = deque()
        self._size = 0
        self._want = 0  # what a waiting reader needs before it is woken; 0: nobody waits
        self._batch = batch
        self._linger = linger

    def set_event(self, event: threading.Event) -> None:
        with self._lock:
            self._event = event
            if self._size or self._closed:
                event.set()
            else:
                event.clear()

    def feed(self, data: bytes | memoryview) -> None:
        if not data:
            return
        view = data if isinstance(data, memoryview) else memoryview(data)
        with self._lock:
            self._parts.append(view)
            self._size += len(view)
            if self._event is not None:
                self._event.set()
            if self._want and self._size >= self._want:
                self._cv.notify()

    def read_ready(self) -> bool:
        with self._lock:
            return self._size > 0

    def read(self, nbytes: int, timeout: float | None = None) -> bytes:
        """Up to ``nbytes``: waits for ``min(nbytes, batch)`` bytes, the end of the stream,
        or ``linger`` seconds once some data is there; b"" at the end of the stream."""
        with self._lock:
            want = min(nbytes, self._batch)
            if self._size < want and not self._closed:
                self._wait(want, timeout)
            out = self._take(min(nbytes, self._size))
            if not self._size and self._event is not None and not self._closed:
                self._event.clear()
            return out

    def _wait(self, want: int, timeout: float | None) -> None:
        now = time.monotonic()
        deadline = None if timeout is None else now + timeout
        handover: float | None = None
        while self._size < want and not self._closed:
            if self._size:
                handover = handover or now + self._linger
                wait: float | None = handover - now
            else:
                wait = None if deadline is None else deadline - now
            if wait is not None and wait <= 0:
                if not self._size:
                    raise PipeTimeout()
                return
            self._want = want
            try:
                self._cv.wait(wait)
            finally:
                self._want = 0
            now = time.monotonic()

    def _take(self, n: int) -> bytes:
        parts = self._parts
        if not n:
            return b""
        first = parts[0]
        if len(first) >= n:  # one packet (or a part of it) is enough: a single copy
            out = first[:n].tobytes()
            if len(first) == n:
                parts.popleft()
            else:
                parts[0] = first[n:]
            self._size -= n
            return out
        taken: list[memoryview] = []
        left = n
        while left:
            part = parts[0]
            if len(part) <= left:
                taken.append(parts.popleft())
                left -= len(part)
            else:
                taken.append(part[:left])
                parts[0] = part[left:]
                left = 0
        self._size -= n
        return b"".join(taken)

    def empty(self) -> bytes:
        with self._lock:
            out = self._take(self._size)
            if self._event is not None and not self._closed:
                self._event.clear()
            return out

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._cv.notify_all()
            if self._event is not None:
                self._event.set()

    def __len__(self) -> int:
        return self._size


def prepare(channel: paramiko.Channel) -> None:
    """Give ``channel`` a :class:`ReceiveBuffer`; call it before the channel's command runs
    (data already received would be left behind in the old buffer)."""
    channel.in_buffer = ReceiveBuffer()


def send_all(channel: paramiko.Channel, data: bytes) -> None:
    """``channel.sendall(data)`` without paramiko's copy of the rest after every packet."""
    channel.sendall(memoryview(data))  # type: ignore[arg-type]  # paramiko takes any buffer
