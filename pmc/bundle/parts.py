"""Big data files moved as parts over several SSH connections at once, handed over in order.

One SSH connection is one stream of packets that one sshd process encrypts on one core, and
that one paramiko thread here decrypts: the speed of a single ``tar`` stream is the speed of
one core at each end. A bundle's data folders hold a few big media files (AV clips, transport
streams), so those are read in parts of :data:`PART` bytes over ``N`` connections (``N`` from
the cores of both ends, at most :data:`MAX_STREAMS`): part ``g`` of the whole list goes over
stream ``g mod N``. Each stream is one remote script that ``dd``-s its own parts one after the
other, read here by a thread of its own a part ahead (:mod:`pmc.bundle.read_ahead`), so all
streams move at once while the parts are handed over in order, and memory stays bounded
whatever the size (SSH's flow control holds a stream whose queue is full).

The reader takes the parts in order, so the member's bytes and checksum in the bundle are the
same as from one ``tar`` stream. A file that changes size while it is read makes its stream
fail (the script compares the size after the last part) and with it the export, as ``tar``
would ("file changed as we read it"); small files and folders still come through ``tar``,
which leaves the big ones out (``--exclude-from``, literal names).

Extra connections log in like the first one (same server, credentials, known host key). One
that cannot connect is left out, with a note in the log: fewer streams, same bundle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from pmc.bundle.errors import BundleOperationFailed
from pmc.bundle.pipe import BulkPipe, start_all, start_bulk
from pmc.bundle.read_ahead import ReadAhead
from pmc.errors import RemoteError
from pmc.remote import openssh
from pmc.remote.commands import run
from pmc.remote.connection import Connection

log = logging.getLogger("pmc.bundle")

PART = 8 << 20  # bytes per part: at most the SSH window, so a waiting part arrives whole
BIG = 64 << 20  # files at least this big move in parts
MIN_TOTAL = 256 << 20  # ... when the big files add up to at least this much
MAX_STREAMS = 4
AHEAD_PARTS = 1  # parts each stream is read ahead of the reader (pmc.bundle.read_ahead)

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")  # one running kernel's own id (Linux)

_ENDS_SCRIPT = r"""
nproc 2>/dev/null || echo 1
cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo
"""

_LIST_SCRIPT = (
    _ENDS_SCRIPT
    + r"""
min=$1; shift
for d in "$@"; do
  [ -d "$d" ] || continue
  printf 'D %s\0' "$d"
  find "$d" -type f -size +"$min"c -printf '%s %m %T@ %p\0'
done
"""
)


_STREAM_SCRIPT = r"""
set -u
{prelude}
part=$1; n=$2; k=$3; shift 3
g=0
while [ $# -ge 2 ]; do
  size=$1; f=$2; shift 2
  {before}
  off=0
  while [ "$off" -lt "$size" ]; do
    if [ $((g % n)) -eq "$k" ]; then
      left=$((size - off)); [ "$left" -lt "$part" ] || left=$part
      {each} || exit 5
    fi
    g=$((g + 1)); off=$((off + part))
  done
  {after}
done
"""


def stream_script(each: str, *, before: str = ":", after: str = ":", prelude: str = ":") -> str:
    """The remote script of stream K of N, for the export and the import alike (arguments:
    the part size, N, K, then the size and path of every big file in order): part ``g`` of
    the whole list is stream ``g mod N``'s, and for each of its own parts it runs ``each``
    with ``$f``, ``$off`` and ``$left`` set (``before`` and ``after`` run once per file,
    ``prelude`` once at the start)."""
    return _STREAM_SCRIPT.format(prelude=prelude, before=before, each=each, after=after)


_READ_SCRIPT = stream_script(
    'dd if="$f" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$left" status=none',
    after="""now=$(stat -c %s -- "$f") || exit 5
  [ "$now" -eq "$size" ] || {
    echo "pmc: $f changed while it was read ($size bytes, now $now)" >&2; exit 3; }""",
)


@dataclass(frozen=True)
class BigFile:
    path: str  # absolute, on the server
    rel: str  # inside its data folder
    size: int
    mode: int
    mtime: int


@dataclass
class PartsPlan:
    """The big files of each data folder (by key), and how many streams to read them with."""

    streams: int
    files: dict[str, list[BigFile]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(f.size for files in self.files.values() for f in files)

    def exclude_list(self, key: str) -> bytes:
        """``tar --exclude-from=-`` input: the folder's big files, as tar names them."""
        return b"".join(f"./{f.rel}\n".encode() for f in self.files.get(key, []))


@dataclass(frozen=True)
class Ends:
    """The two ends of a transfer: their cores, and whether they are one machine."""

    local_cores: int
    remote_cores: int
    shared: bool  # the same running kernel at both ends (the lab; PMC on the server itself)


def _read_ends(head: str) -> Ends:
    """The :class:`Ends` from the two lines ``_ENDS_SCRIPT`` printed on the server."""
    cores, _, boot_id = head.partition("\n")
    try:
        local_boot_id = BOOT_ID.read_text().strip()
    except OSError:  # not Linux: never the server's kernel
        local_boot_id = ""
    return Ends(
        os.cpu_count() or 1,
        int(cores) if cores.strip().isdigit() else 1,
        bool(local_boot_id) and boot_id.strip() == local_boot_id,
    )


async def ends(connection: Connection) -> Ends:
    """The cores of this computer and of the server, and whether they are the same machine."""
    result = await run(connection, ["sh", "-c", _ENDS_SCRIPT], check=False)
    return _read_ends(result.stdout.strip())


def choose_streams(ends: Ends, total: int) -> int:
    """Streams for ``total`` bytes of big files: one per core at the slower end (at most
    :data:`MAX_STREAMS`); 1 (no parts) when there is too little to gain. Where both ends are
    one machine, each stream's two ends take a core each out of the same ones: one stream
    per two cores (measured on the 2-core lab: two streams moved a file at 0.5× of one)."""
    if total < MIN_TOTAL:
        return 1
    if ends.shared:
        return max(1, min(MAX_STREAMS, ends.local_cores // 2))
    return max(1, min(MAX_STREAMS, ends.local_cores, ends.remote_cores))


async def plan(
    connection: Connection, folders: dict[str, str], *, streams: int | None = None
) -> PartsPlan:
    """Which files of ``folders`` (key → remote path) move in parts, over how many streams.
    ``streams`` overrides the choice (1: everything through tar)."""
    if streams == 1 or not folders:
        return PartsPlan(1)
    argv = ["sh", "-c", _LIST_SCRIPT, "pmc", str(BIG - 1), *folders.values()]
    result = await run(connection, argv, root=True, check=True)
    cores, _, rest = result.stdout.lstrip("\n").partition("\n")
    boot_id, _, rest = rest.partition("\n")
    both = _read_ends(f"{cores}\n{boot_id}")
    by_path = {path: key for key, path in folders.items()}
    found: dict[str, list[BigFile]] = {}
    key: str | None = None
    for record in rest.split("\0"):
        if record.startswith("D "):
            key = by_path.get(record[2:])
            continue
        fields = record.split(" ", 3)
        if key is None or len(fields) != 4 or "\n" in fields[3]:
            continue  # a name with a newline cannot be left out of tar: it goes through tar
        size, mode, mtime, path = fields
        root = folders[key]
        rel = posixpath.relpath(path, root)
        found.setdefault(key, []).append(
            BigFile(path, rel, int(size), int(mode, 8), int(float(mtime)))
        )
    total = sum(f.size for files in found.values() for f in files)
    chosen = streams or choose_streams(both, total)
    if chosen < 2:
        return PartsPlan(1)
    return PartsPlan(chosen, found)


async def connect_streams(
    connection: Connection, streams: int, extras: list[Connection]
) -> list[Connection]:
    """``connection`` and up to ``streams - 1`` more to the same server, logged in like it
    (each made is added to ``extras``, to be closed by the caller); one that cannot connect
    is left out, with a note in the log. Where the streams go over the system's OpenSSH
    client (:mod:`pmc.remote.openssh`), each of them is a connection of its own already:
    ``connection`` itself, ``streams`` times, only stops them."""
    if openssh.client() is not None:
        return [connection] * streams
    made = [
        Connection(
            connection.server,
            cluster=connection.cluster,
            known_hosts=connection.known_hosts,
            credentials=connection.credentials,
            timeouts=connection.timeouts,
            executors=connection.executors,
        )
        for _ in range(streams - 1)
    ]
    extras.extend(made)
    outcomes = await asyncio.gather(*(e.transport() for e in made), return_exceptions=True)
    connections = [connection]
    for extra, outcome in zip(made, outcomes, strict=True):
        if isinstance(outcome, RemoteError):
            log.warning("%s: an extra stream could not connect (%s)", extra.label, outcome)
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            connections.append(extra)
    return connections


class PartStreams:
    """The running streams of a :class:`PartsPlan`; read the files with :meth:`reader`, in the
    plan's order (folder by folder), then :meth:`finish`; :meth:`close` in every case.

    Each stream is read ahead by a thread of its own (:class:`ReadAhead`, at most
    :data:`AHEAD_PARTS` parts ahead), so every stream moves at once while the reader takes
    the parts in order."""

    def __init__(self, connection: Connection, parts: PartsPlan) -> None:
        self.connection = connection
        self.plan = parts
        self.order = [f for files in parts.files.values() for f in files]
        self._next = 0  # index in ``order`` of the file the next reader is for
        self._part = 0  # global index of the next part
        self._extra: list[Connection] = []
        self.pipes: list[BulkPipe] = []
        self.ahead: list[ReadAhead] = []

    async def start(self) -> None:
        """Connect the extra streams, start every stream's script and its read-ahead."""
        if not self.order:
            return
        connections = await connect_streams(self.connection, self.plan.streams, self._extra)
        files = [str(x) for f in self.order for x in (f.size, f.path)]
        count = len(connections)
        self.pipes = await start_all(
            [
                (conn, ["sh", "-c", _READ_SCRIPT, "pmc", str(PART), str(count), str(k), *files])
                for k, conn in enumerate(connections)
            ]
        )
        sizes: list[list[int]] = [[] for _ in self.pipes]
        g = 0
        for file in self.order:
            for offset in range(0, file.size, PART):
                sizes[g % count].append(min(PART, file.size - offset))
                g += 1
        self.ahead = [
            ReadAhead(pipe, own, limit=AHEAD_PARTS * PART)
            for pipe, own in zip(self.pipes, sizes, strict=True)
        ]

    def reader(self, file: BigFile) -> _PartReader:
        """The content of ``file`` (the next in the plan's order), read part by part."""
        if self._next >= len(self.order) or self.order[self._next] != file:
            raise RuntimeError(f"{file.path} read out of the plan's order")
        self._next += 1
        reader = _PartReader(self, file, self._part)
        self._part += (file.size + PART - 1) // PART
        return reader

    def finish(self) -> None:
        """Blocking: every stream ended well (each file kept its size while it was read)."""
        if self._next != len(self.order):
            raise RuntimeError(f"{len(self.order) - self._next} big files were not read")
        for ahead in self.ahead:
            ahead.thread.join()
        for pipe in self.pipes:
            pipe.finish()

    async def close(self, *, failed: bool) -> None:
        for ahead in self.ahead:
            ahead.stop()
        if failed:
            for pipe in self.pipes:
                with contextlib.suppress(Exception):
                    await pipe.abort()
        for ahead in self.ahead:
            await asyncio.to_thread(ahead.thread.join, 10)
        for extra in self._extra:
            await extra.close()


class _PartReader:
    """``read(n)`` over a big file's parts, each from its own stream, in order."""

    def __init__(self, streams: PartStreams, file: BigFile, first_part: int) -> None:
        self._streams = streams
        self._file = file
        self._part = first_part
        self._offset = 0  # bytes of the file handed over so far
        self._left_in_part = 0

    def read(self, size: int = -1, /) -> bytes:
        file = self._file
        if self._offset >= file.size:
            return b""
        if not self._left_in_part:
            self._left_in_part = min(PART, file.size - self._offset)
        ahead = self._streams.ahead
        stream = ahead[self._part % len(ahead)]
        want = self._left_in_part if size < 0 else min(size, self._left_in_part)
        data = stream.read(want)
        if not data:
            stream.pipe.finish()  # raises the script's own message when it failed
            raise BundleOperationFailed(
                f"{file.path} ended after {self._offset} of {file.size} bytes (it changed "
                "while it was being read?)",
                where=self._streams.connection.label,
                hint="Export again.",
            )
        self._offset += len(data)
        self._left_in_part -= len(data)
        if not self._left_in_part:
            self._part += 1
        return data


async def start_tar(
    connection: Connection, remote_dir: str, exclude: bytes, *, big: bool
) -> BulkPipe:
    """``tar -cf - .`` of a data folder, leaving out the files listed in ``exclude`` (``big``:
    the data folders hold hundreds of MB, see :func:`~pmc.bundle.pipe.start_bulk`)."""
    if not exclude:
        return await start_bulk(connection, ["tar", "-C", remote_dir, "-cf", "-", "."], big=big)
    argv = ["tar", "-C", remote_dir, "--anchored", "--no-wildcards", "--exclude-from=-",
            "-cf", "-", "."]  # fmt: skip
    pipe = await start_bulk(connection, argv, big=big)

    def give_list() -> None:
        pipe.write(exclude)
        pipe.close_stdin()

    try:
        await connection.in_thread(connection.executors.control, give_list)
    except BaseException:
        await pipe.abort()
        raise
    return pipe
