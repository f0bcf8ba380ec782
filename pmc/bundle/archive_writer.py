"""Writing a bundle: :class:`BundleWriter` and the atomic, background-written file."""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pmc.bundle.archive import (
    BLOCK,
    CHUNK,
    RECORD,
    ByteCounter,
    BytesReader,
    Readable,
    check_member_name,
)
from pmc.bundle.errors import DuplicateMember, TruncatedBundle
from pmc.bundle.manifest import CHECKSUMS_NAME, MANIFEST_NAME, Checksums, Manifest, MemberSum


class BundleWriter:
    """Writes a bundle to ``out`` front to back; see :func:`open_for_write` for the file."""

    def __init__(self, out: BinaryIO, *, on_bytes: ByteCounter | None = None) -> None:
        self._out = out
        self._sums: dict[str, MemberSum] = {}
        self._names: set[str] = set()
        self._on_bytes = on_bytes
        self._written = 0
        self.manifest: Manifest | None = None

    @property
    def bytes_written(self) -> int:
        return self._written

    def _write(self, data: bytes | memoryview) -> None:
        self._out.write(data)
        self._written += len(data)

    def _header(self, name: str, size: int, *, kind: bytes, mode: int, mtime: float) -> None:
        check_member_name(name, where="bundle writer")
        if name in self._names:
            raise DuplicateMember(f"member {name!r} written twice", where="bundle writer")
        self._names.add(name)
        info = tarfile.TarInfo(name)
        info.size = size
        info.type = kind
        info.mode = mode & 0o7777
        info.mtime = int(mtime)
        info.uname = info.gname = ""
        self._write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict"))

    def write_manifest(self, manifest: Manifest) -> None:
        if self._names:
            raise RuntimeError("the manifest must be the first member")
        self.manifest = manifest
        self.add_bytes(MANIFEST_NAME, manifest.to_json())

    def add_bytes(self, name: str, data: bytes, *, mode: int = 0o644) -> MemberSum:
        return self.add_stream(name, len(data), BytesReader(data), mode=mode)

    def add_dir(self, name: str, *, mode: int = 0o755, mtime: float | None = None) -> None:
        self._header(name, 0, kind=tarfile.DIRTYPE, mode=mode, mtime=mtime or time.time())

    def add_stream(
        self,
        name: str,
        size: int,
        source: Readable,
        *,
        mode: int = 0o644,
        mtime: float | None = None,
    ) -> MemberSum:
        """Copies exactly ``size`` bytes of ``source`` as member ``name``, hashing them."""
        if name != MANIFEST_NAME and not self._names:
            raise RuntimeError("the manifest must be the first member")
        self._header(name, size, kind=tarfile.REGTYPE, mode=mode, mtime=mtime or time.time())
        digest = hashlib.sha256()
        left = size
        while left:
            chunk = source.read(min(CHUNK, left))
            if not chunk:
                raise TruncatedBundle(
                    f"{name}: the source ended {left} bytes early (it changed while being "
                    "exported?)",
                    where="export",
                    hint="Export again.",
                )
            digest.update(chunk)
            self._write(chunk)
            left -= len(chunk)
            if self._on_bytes:
                self._on_bytes(len(chunk))
        if size % BLOCK:
            self._write(bytes(BLOCK - size % BLOCK))
        member = MemberSum(size, digest.hexdigest())
        self._sums[name] = member
        return member

    def finish(self, rows: dict[str, int]) -> Checksums:
        """Writes the checksums trailer and the end of the archive."""
        sums = Checksums(members=dict(self._sums), rows=dict(rows))
        raw = sums.to_json()
        self._header(CHECKSUMS_NAME, len(raw), kind=tarfile.REGTYPE, mode=0o644, mtime=time.time())
        self._write(raw)
        if len(raw) % BLOCK:
            self._write(bytes(BLOCK - len(raw) % BLOCK))
        self._write(bytes(2 * BLOCK))
        if self._written % RECORD:
            self._write(bytes(RECORD - self._written % RECORD))
        return sums


WRITE_BACK = 32 << 20  # bytes of the bundle handed to the disk at a time


class _WriteBack:
    """Hands the bundle to the disk as it grows instead of all at the end.

    Each :data:`WRITE_BACK` bytes written, the kernel is asked to start writing them to disk
    (on Linux ``POSIX_FADV_DONTNEED`` starts the write-back of a range's dirty pages) and to
    forget the part two steps back, on disk by then: the final fsync waits for little (2 GB:
    0.8 s → 0.03 s on the lab machine) and the page cache never holds the whole bundle. Once the
    file is fsynced, :meth:`forget` drops what is left of it. Only a hint: where the system has
    no ``posix_fadvise`` (Windows) or the file system refuses it, nothing happens."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._written = 0
        self._asked = 0  # [0, _asked) has been handed to the disk
        self._forgotten = 0  # [0, _forgotten) has been let go of
        self._on = hasattr(os, "posix_fadvise")  # not on Windows

    def _advise(self, start: int, length: int) -> None:
        if sys.platform != "win32":
            try:
                os.posix_fadvise(self._fd, start, length, os.POSIX_FADV_DONTNEED)
            except OSError:
                self._on = False

    def wrote(self, size: int) -> None:
        self._written += size
        if not self._on or self._written - self._asked < WRITE_BACK:
            return
        self._advise(self._asked, self._written - self._asked)  # start writing it
        if (old := self._asked - 2 * WRITE_BACK) > self._forgotten:  # on disk by now
            self._advise(self._forgotten, old - self._forgotten)
            self._forgotten = old
        self._asked = self._written

    def forget(self) -> None:
        """After the fsync: the whole file is on disk, none of it need stay in memory."""
        if self._on:
            self._advise(0, 0)


class _BackgroundFile:
    """A write-only file whose disk writes run on their own thread, overlapping the network.

    Chunks are handed over by reference (no copy), batched to about 1 MiB and written with
    ``os.writev``; at most ``depth`` batches wait, so memory stays bounded. An error of the
    writer thread is raised by the next ``write`` or by ``close``.
    """

    def __init__(self, fd: int, *, depth: int = 8) -> None:
        self._fd = fd
        self.write_back = _WriteBack(fd)
        self._queue: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=depth)
        self._batch: list[bytes] = []
        self._batch_size = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pmc-bundle-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self._error is not None:
                continue
            try:
                views = [memoryview(b) for b in batch]
                while views:
                    if sys.platform == "win32":  # no writev there: one buffer at a time
                        done = os.write(self._fd, views[0])
                    else:
                        done = os.writev(self._fd, views)
                    self.write_back.wrote(done)
                    while views and done >= len(views[0]):
                        done -= len(views[0])
                        views.pop(0)
                    if views and done:
                        views[0] = views[0][done:]
            except BaseException as exc:  # reported to the producer
                self._error = exc

    def write(self, data: bytes) -> int:
        if self._error is not None:
            raise self._error
        self._batch.append(data)
        self._batch_size += len(data)
        if self._batch_size >= CHUNK:
            self._queue.put(self._batch)
            self._batch, self._batch_size = [], 0
        return len(data)

    def close(self) -> None:
        """Writes what is left and waits for the writer thread."""
        if self._batch:
            self._queue.put(self._batch)
            self._batch, self._batch_size = [], 0
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        self._error = self._error or RuntimeError("abandoned")
        self._queue.put(None)
        self._thread.join()


@contextlib.contextmanager
def open_for_write(path: Path) -> Iterator[BinaryIO]:
    """A file that appears at ``path`` only when the block ends without an error.

    It is written under a temporary name in the same folder, fsynced and renamed; an error or
    a cancel removes the temporary file, so no partial bundle is ever left behind. The file is
    the operator's alone (0600, whatever the umask): it holds the whole configuration. Disk writes
    run on a thread of their own, overlapping the transfer from the server.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    out = _BackgroundFile(fd)
    try:
        yield out  # type: ignore[misc]
        out.close()
        os.fsync(fd)
        out.write_back.forget()
        os.close(fd)
        os.replace(tmp, path)  # 0600: a bundle is a full dump of the configuration
    except BaseException:
        out.abandon()
        with contextlib.suppress(OSError):
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
