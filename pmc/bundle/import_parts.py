"""The import's big data files sent in parts over several SSH connections at once.

The export's :mod:`pmc.bundle.parts` in the other direction. One SSH connection is one stream
that one sshd process decrypts on one core, and PMC's sending of it is one thread: measured
on the lab, one PMC connection sent a file at 0.58× the speed of ``ssh … dd of=`` on the same
cipher, two at 0.94×. So the big files of the data folders being imported (at least
:data:`~pmc.bundle.parts.BIG` bytes, when they add up to at least
:data:`~pmc.bundle.parts.MIN_TOTAL`) leave the staging ``tar`` stream: the bundle is still
read once, in order, each member's checksum still computed as it is read (by the one loader,
:class:`pmc.bundle.import_load.Loader`), and part ``g`` of the big files (each
:data:`~pmc.bundle.parts.PART` bytes) is handed to stream ``g mod N``, a thread of its own
that writes it to a remote script ``dd``-ing its parts into place in the staging folder. A
bounded queue per stream keeps memory bounded whatever the size.

Nothing live changes by this: the files land in ``FOLDER.pmc-stage-ID``. Once every stream
has ended, each file's size is checked on the server and it gets its mode
(:func:`~pmc.bundle.import_load.staged_mode`) and time, before the tables swap; a failure of
any stream fails the import before anything live changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from pmc.bundle import parts
from pmc.bundle.pipe import BulkPipe, start_all
from pmc.remote.commands import run
from pmc.remote.connection import Connection

QUEUE = 8  # chunks waiting per stream (1 MiB each)
PUT_WAIT = 0.5  # seconds between looks at the streams' errors while a queue is full

# One part from stdin into "$f" at "$off". dd ends well when its input ends early, so the part
# must say it got all its "$left" bytes: a stream whose connection was cut stops at the part it
# was writing; before, it went on through its list, making each folder and an empty file, and
# those came back after a rollback had removed the staging folder.
_PART_IN = r"""
part_in() {
  r=$(LC_ALL=C dd of="$f" bs=1M iflag=fullblock,count_bytes oflag=seek_bytes seek="$off" \
    count="$left" conv=notrunc 2>&1) || { printf '%s\n' "$r" >&2; return 1; }
  case "$r" in *"
$left byte"*) return 0 ;; esac
  echo "pmc: the data of $f ended in its part at byte $off" >&2
  return 1
}"""

_WRITE_SCRIPT = parts.stream_script(
    "part_in", before='mkdir -p -- "$(dirname -- "$f")" || exit 5', prelude=_PART_IN
)

_SETTLE_SCRIPT = r"""
set -u
while [ $# -ge 4 ]; do
  mode=$1; mtime=$2; size=$3; f=$4; shift 4
  now=$(stat -c %s -- "$f") || exit 5
  [ "$now" -eq "$size" ] || { echo "pmc: $f has $now of its $size bytes" >&2; exit 3; }
  chmod "$mode" -- "$f" && touch -m -d "@$mtime" -- "$f" || exit 5
done
"""


@dataclass(frozen=True)
class BigMember:
    name: str  # in the bundle: data/KEY/…
    path: str  # on the server, in the staging folder
    size: int
    mode: int
    mtime: int


def big_members(
    files: dict[str, tuple[int, int]], staging: dict[str, str], modes: dict[str, int]
) -> list[BigMember]:
    """The data files (bundle name → (size, mtime), in bundle order) of the staged folders
    (key → staging folder) that go in parts, with their mode (``modes``: name → mode); none
    when they add up to too little to gain. A name that is not UTF-8 (a byte of it read as
    a surrogate) stays in the tar stream: the parts' command lines cross SSH as UTF-8."""
    found = []
    for name, (size, mtime) in files.items():
        key, _, rel = name.removeprefix("data/").partition("/")
        if size >= parts.BIG and key in staging and rel and _utf8(name):
            path = posixpath.join(staging[key], rel)
            found.append(BigMember(name, path, size, modes.get(name, 0o644), mtime))
    return found if sum(f.size for f in found) >= parts.MIN_TOTAL else []


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class PartSenders:
    """The streams of the big files: :meth:`start`, then :meth:`send` each file in the order
    of :attr:`files` (blocking, from the loader's thread), :meth:`finish` (blocking) and
    :meth:`settle`; :meth:`close` in every case."""

    def __init__(self, connection: Connection, files: list[BigMember], streams: int) -> None:
        self.connection = connection
        self.files = files
        self.streams = streams
        self._extra: list[Connection] = []
        self._queues: list[queue.Queue[bytes | None]] = []
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []
        self._next = 0  # the file to send next
        self._part = 0  # global index of the next part
        self.pipes: list[BulkPipe] = []

    async def start(self) -> None:
        connections = await parts.connect_streams(self.connection, self.streams, self._extra)
        listed = [str(x) for f in self.files for x in (f.size, f.path)]
        count = len(connections)
        head = ["sh", "-c", _WRITE_SCRIPT, "pmc", str(parts.PART), str(count)]
        self.pipes = await start_all(
            [(conn, [*head, str(k), *listed]) for k, conn in enumerate(connections)]
        )
        for index, pipe in enumerate(self.pipes):
            pipe.command = f"the big data files' stream {index + 1} of {count}"  # not the script
        for index, pipe in enumerate(self.pipes):
            waiting: queue.Queue[bytes | None] = queue.Queue(QUEUE)
            thread = threading.Thread(
                target=self._sender,
                args=(pipe, waiting),
                name=f"pmc-import-part-{index}",
                daemon=True,  # never keeps PMC from ending; close() ends it in any case
            )
            self._queues.append(waiting)
            self._threads.append(thread)
            thread.start()

    def _sender(self, pipe: BulkPipe, waiting: queue.Queue[bytes | None]) -> None:
        try:
            while (chunk := waiting.get()) is not None:
                pipe.write(chunk)
        except BaseException as exc:  # handed to the loader, which stops the import
            self._errors.append(exc)
            with contextlib.suppress(queue.Empty):
                while True:  # a loader waiting on a full queue goes on and sees the error
                    waiting.get_nowait()

    def _put(self, index: int, chunk: bytes | None) -> None:
        while True:
            if self._errors:
                raise self._errors[0]
            try:
                self._queues[index].put(chunk, timeout=PUT_WAIT)
                return
            except queue.Full:
                continue

    def send(
        self, file: BigMember, read: Callable[[int], bytes], progress: Callable[[int], None]
    ) -> None:
        """``file``'s bytes from ``read`` (the bundle member, checked as it is read), each
        part to its stream."""
        if self._next >= len(self.files) or self.files[self._next] != file:
            raise RuntimeError(f"{file.name} sent out of the plan's order")
        self._next += 1
        offset = 0
        while offset < file.size:
            index = self._part % len(self.pipes)
            left = min(parts.PART, file.size - offset)
            while left:
                chunk = read(min(left, 1 << 20))
                if not chunk:
                    return  # the reader says what is wrong with the member
                self._put(index, chunk)
                progress(len(chunk))
                left -= len(chunk)
                offset += len(chunk)
            self._part += 1

    def finish(self) -> None:
        """Blocking: every stream has written all its parts and ended well."""
        for index in range(len(self._queues)):
            self._put(index, None)
        for thread in self._threads:
            thread.join()
        if self._errors:
            raise self._errors[0]
        for pipe in self.pipes:
            pipe.close_stdin()
            pipe.finish()

    async def settle(self) -> None:
        """Each file's size checked on the server; its mode and time given."""
        listed = [str(x) for f in self.files for x in (f"{f.mode:o}", f.mtime, f.size, f.path)]
        argv = ["sh", "-c", _SETTLE_SCRIPT, "pmc", *listed]
        await run(self.connection, argv, root=True, check=True)  # a short file fails here

    async def close(self, *, failed: bool) -> None:
        if failed:
            for pipe in self.pipes:
                with contextlib.suppress(Exception):
                    await pipe.abort()
            for waiting in self._queues:  # each sender ends
                with contextlib.suppress(queue.Full):
                    waiting.put_nowait(None)
        for thread in self._threads:
            await asyncio.to_thread(thread.join, 10)
        for extra in self._extra:
            await extra.close()


def streams_for(files: list[BigMember], ends: parts.Ends) -> int:
    """How many streams (:func:`pmc.bundle.parts.choose_streams`)."""
    return parts.choose_streams(ends, sum(f.size for f in files))
