"""The bundle file: a POSIX (pax) tar stream, written and read strictly front to back.

Why tar and not zip: a zip's central directory sits at the *end*, so a reader must seek (or
trust local headers that may disagree with it) and a writer of unknown-size members needs data
descriptors; tar is a plain sequence of header + data, so both export (from an SSH channel to a
file) and import (from a file to an SSH channel) stream without seeking, any member may be
larger than 4 GiB, and the data folders come over the wire as ``tar -cf -`` from the server and
go back as ``tar -xf -`` — the same format end to end. Bundles are not compressed: carousel,
AV and TS files are already compressed media, and compression would cost the CPU the SSH cipher
needs. (The reader also accepts a gzip-compressed bundle, with the decompression-bomb checks
below.)

Layout, in this order::

    manifest.json                 the plan (see pmc.bundle.manifest)
    db/<table>.copy               PostgreSQL COPY … (FORMAT binary), tables in foreign-key order
    config/spoolers.json, config/replicate.conf
    data/<carousel|av|ts>/…       directories and regular files only
    checksums.json                size and SHA-256 of every member above, row counts

The reader refuses, with its own message each: something that is not a PMC bundle, a
truncated file, a checksum mismatch, an unknown format version, unsafe names (``..``,
absolute, drive letters, backslashes) and any link or special file, duplicate members, and
decompression bombs (entries, bytes and ratio counted while streaming — header sizes are never
trusted to allocate anything).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import queue
import re
import sys
import tarfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from pmc.bundle.errors import (
    ChecksumMismatch,
    DecompressionBomb,
    DuplicateMember,
    NotABundle,
    TruncatedBundle,
    UnsafePath,
)
from pmc.bundle.manifest import (
    CHECKSUMS_NAME,
    CONFIG_FILES,
    DATA_DIRS,
    MANIFEST_NAME,
    Checksums,
    Manifest,
    MemberSum,
)

CHUNK = 1 << 20
BLOCK = 512
RECORD = 20 * BLOCK
MAX_MANIFEST = 16 << 20


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


ByteCounter = Callable[[int], None]


# --- names ---------------------------------------------------------------------------------
_DRIVE = re.compile(r"^[A-Za-z]:")
_TABLE = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")


def check_member_name(name: str, *, where: str) -> str:
    """``name`` if it is a safe, known bundle member name; else :class:`UnsafePath`."""
    bad = (
        not name
        or name.startswith(("/", "\\"))
        or "\\" in name
        or "\x00" in name
        or _DRIVE.match(name) is not None
        or any(part in ("", ".", "..") for part in name.split("/"))
    )
    if bad:
        raise UnsafePath(
            f"member {name!r} has an unsafe path (absolute, '..', a drive letter or a "
            "backslash) that could write outside the target folder",
            where=where,
        )
    if name in (MANIFEST_NAME, CHECKSUMS_NAME):
        return name
    top, _, rest = name.partition("/")
    if top == "db" and rest.endswith(".copy") and _TABLE.match(rest[:-5]):
        return name
    if top == "config" and rest in CONFIG_FILES:
        return name
    if top == "data" and rest.split("/", 1)[0] in DATA_DIRS:
        return name
    raise UnsafePath(f"member {name!r} is outside the bundle's known folders", where=where)


# --- writing -------------------------------------------------------------------------------
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
        return self.add_stream(name, len(data), _BytesReader(data), mode=mode)

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


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1, /) -> bytes:
        end = len(self._view) if size < 0 else self._pos + size
        chunk = bytes(self._view[self._pos : end])
        self._pos += len(chunk)
        return chunk


class _BackgroundFile:
    """A write-only file whose disk writes run on their own thread, overlapping the network.

    Chunks are handed over by reference (no copy), batched to about 1 MiB and written with
    ``os.writev``; at most ``depth`` batches wait, so memory stays bounded. An error of the
    writer thread is raised by the next ``write`` or by ``close``.
    """

    def __init__(self, fd: int, *, depth: int = 8) -> None:
        self._fd = fd
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
    a cancel removes the temporary file, so no partial bundle is ever left behind. Disk writes
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
        os.close(fd)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        out.abandon()
        with contextlib.suppress(OSError):
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


# --- reading -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    max_entries: int = 2_000_000
    max_total_bytes: int = 16 << 40
    max_ratio: float = 200.0  # member bytes per raw file byte (only a compressed file exceeds 1)
    ratio_grace: int = 64 << 20  # member bytes before the ratio is enforced


@dataclass(frozen=True)
class Member:
    name: str
    is_dir: bool
    size: int
    mode: int
    mtime: int


class _CountingReader:
    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        return data


class _Prefixed:
    def __init__(self, prefix: bytes, rest: Readable) -> None:
        self._prefix = prefix
        self._rest = rest

    def read(self, size: int = -1, /) -> bytes:
        if self._prefix:
            if size < 0 or size >= len(self._prefix):
                head, self._prefix = self._prefix, b""
                more = self._rest.read(size - len(head)) if size > len(head) else b""
                return head + more
            head, self._prefix = self._prefix[:size], self._prefix[size:]
            return head
        return self._rest.read(size)


_PAX_KEYS = ("path", "size", "mtime", "linkpath")


class TarStream:
    """A strict, bounded tar reader: ustar/pax/GNU headers, members read front to back.

    Unlike :mod:`tarfile` it never reads a header block of a size the archive declares
    without a bound (pax and GNU long-name headers are limited to 64 KiB), never keeps past
    headers, and reads member data straight from the source in chunks.
    """

    MAX_EXTENDED = 64 << 10

    def __init__(self, source: Readable, *, where: str) -> None:
        self._src = source
        self.where = where
        self._left = 0  # data bytes of the current member not yet read
        self._pad = 0
        self.offset = 0

    def _exact(self, n: int) -> bytes:
        parts = []
        got = 0
        while got < n:
            chunk = self._src.read(n - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        data = b"".join(parts)
        self.offset += len(data)
        return data

    def _skip_rest(self) -> None:
        while self._left:
            if not self.read(min(CHUNK, self._left)):
                raise TruncatedBundle(
                    "the bundle is truncated (it ends inside a member)", where=self.where
                )
        if self._pad:
            if len(self._exact(self._pad)) != self._pad:
                raise TruncatedBundle(
                    "the bundle is truncated (it ends inside a member)", where=self.where
                )
            self._pad = 0

    def next(self) -> tarfile.TarInfo | None:
        """The next member's header (data unread), or None at the end of the archive."""
        self._skip_rest()
        pax: dict[str, str] = {}
        longname: str | None = None
        longlink: str | None = None
        while True:
            block = self._exact(BLOCK)
            if not block:
                raise TruncatedBundle(
                    "the bundle is truncated (no end-of-archive marker)", where=self.where
                )
            if len(block) != BLOCK:
                raise TruncatedBundle(
                    "the bundle is truncated (it ends inside a header)", where=self.where
                )
            if block == bytes(BLOCK):
                return None
            try:
                info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
            except tarfile.HeaderError as exc:
                raise NotABundle(
                    f"damaged tar header at byte {self.offset - BLOCK} ({exc})", where=self.where
                ) from exc
            if info.type in (tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
                if info.size > self.MAX_EXTENDED:
                    raise DecompressionBomb(
                        f"an extended tar header declares {info.size} bytes (at most "
                        f"{self.MAX_EXTENDED} are allowed)",
                        where=self.where,
                    )
                raw = self._exact(_padded(info.size))
                if len(raw) != _padded(info.size):
                    raise TruncatedBundle(
                        "the bundle is truncated (it ends inside a header)", where=self.where
                    )
                raw = raw[: info.size]
                if info.type == tarfile.XHDTYPE:
                    pax.update(_parse_pax(raw, where=self.where))
                elif info.type == tarfile.GNUTYPE_LONGNAME:
                    longname = raw.rstrip(b"\x00").decode("utf-8", "surrogateescape")
                else:
                    longlink = raw.rstrip(b"\x00").decode("utf-8", "surrogateescape")
                continue
            if info.type == tarfile.XGLTYPE:
                raise NotABundle("the archive has a global pax header", where=self.where)
            if longname is not None:
                info.name = longname
            if longlink is not None:
                info.linkname = longlink
            if "path" in pax:
                info.name = pax["path"]
            if "linkpath" in pax:
                info.linkname = pax["linkpath"]
            try:
                if "size" in pax:
                    info.size = int(pax["size"])
                if "mtime" in pax:
                    info.mtime = int(float(pax["mtime"]))
            except ValueError as exc:
                raise NotABundle(f"bad pax header value ({exc})", where=self.where) from exc
            if info.name.endswith("/") and info.type in (tarfile.DIRTYPE, tarfile.REGTYPE):
                info.name = info.name.rstrip("/")
                info.type = tarfile.DIRTYPE
            if info.size < 0:
                raise NotABundle("a negative member size", where=self.where)
            self._left = info.size if info.type in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
            if info.type == tarfile.AREGTYPE:
                info.type = tarfile.REGTYPE
            self._pad = _padded(self._left) - self._left
            return info

    def read(self, size: int = CHUNK) -> bytes:
        """Up to ``size`` bytes of the current member's data (b"" at its end)."""
        if not self._left:
            return b""
        want = min(size if size > 0 else CHUNK, self._left)
        data = self._src.read(want)
        if not data:
            raise TruncatedBundle(
                "the bundle is truncated (it ends inside a member)", where=self.where
            )
        self._left -= len(data)
        self.offset += len(data)
        return data


def _padded(n: int) -> int:
    return (n + BLOCK - 1) // BLOCK * BLOCK


def _parse_pax(raw: bytes, *, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(raw):
        space = raw.find(b" ", pos)
        try:
            length = int(raw[pos:space])
        except ValueError as exc:
            raise NotABundle("a damaged pax header", where=where) from exc
        if length <= 0 or space < 0 or pos + length > len(raw):
            raise NotABundle("a damaged pax header", where=where)
        record = raw[space + 1 : pos + length - 1]
        key, _, value = record.partition(b"=")
        name = key.decode("utf-8", "surrogateescape")
        if name in _PAX_KEYS:
            out[name] = value.decode("utf-8", "surrogateescape")
        elif name.startswith("GNU.sparse"):
            raise UnsafePath("a sparse member (not allowed in bundles)", where=where)
        pos += length
    return out


class BundleReader:
    """Reads a bundle front to back, checking it as it goes.

    ``members()`` yields each data member (not the manifest or the trailer) with a reader;
    the consumer may read it or not (the rest is drained and hashed). After the last member
    the trailer is compared with what was hashed. When ``expected`` (the trailer from an
    earlier full pass) is given, each member is compared as soon as it ends, so a file that
    changed since it was verified is caught before the next member is used.
    """

    def __init__(
        self,
        raw: Readable,
        *,
        where: str,
        limits: Limits | None = None,
        expected: Checksums | None = None,
    ) -> None:
        self.where = where
        self.limits = limits or Limits()
        self.expected = expected
        self._raw = _CountingReader(raw)
        self._entries = 0
        self._member_bytes = 0
        self._names: set[str] = set()
        self.sums: dict[str, MemberSum] = {}
        self.checksums: Checksums | None = None
        head = self._raw.read(BLOCK)
        source: Readable = _Prefixed(head, self._raw)
        if head[:2] == b"\x1f\x8b":
            source = gzip.GzipFile(fileobj=source, mode="rb")  # type: ignore[call-overload]
        elif len(head) < BLOCK or head[257:262] != b"ustar":
            raise NotABundle("this file is not a PMC bundle (not a tar archive)", where=where)
        self._tar = TarStream(source, where=where)
        try:
            first = self._next()
        except (TruncatedBundle, NotABundle, EOFError, OSError, zlib.error) as exc:
            raise NotABundle(f"this file is not a PMC bundle ({exc})", where=where) from exc
        if first is None or first.name != MANIFEST_NAME or not first.isreg():
            raise NotABundle(
                "this file is not a PMC bundle (its first member is not manifest.json)",
                where=where,
            )
        if first.size > MAX_MANIFEST:
            raise NotABundle("its manifest.json is implausibly large", where=where)
        raw_manifest = self._read_all(first)
        self.manifest = Manifest.from_json(raw_manifest, where=where)
        self.sums[MANIFEST_NAME] = MemberSum(
            len(raw_manifest), hashlib.sha256(raw_manifest).hexdigest()
        )

    # --- public
    def members(self) -> Iterator[tuple[Member, Readable]]:
        while True:
            info = self._next()
            if info is None:
                raise TruncatedBundle(
                    "the bundle ends before its checksums.json trailer (the file is truncated "
                    "or the export did not finish)",
                    where=self.where,
                )
            name = check_member_name(info.name, where=self.where)
            self._check_type(info)
            if name in self._names:
                raise DuplicateMember(
                    f"member {name!r} appears more than once in the bundle", where=self.where
                )
            self._names.add(name)
            if name == CHECKSUMS_NAME:
                self._finish(info)
                return
            if name == MANIFEST_NAME:
                raise DuplicateMember("the bundle has a second manifest.json", where=self.where)
            member = Member(name, info.isdir(), info.size, info.mode, int(info.mtime))
            if info.isdir():
                yield member, _BytesReader(b"")
                continue
            stream = _MemberStream(self, info)
            yield member, stream
            stream.drain()
            self._close_member(name, stream)

    def verify_all(self, on_bytes: ByteCounter | None = None) -> Checksums:
        """Reads every member, checks everything; returns the verified trailer."""
        for member, stream in self.members():
            if not member.is_dir:
                while chunk := stream.read(CHUNK):
                    if on_bytes:
                        on_bytes(len(chunk))
        assert self.checksums is not None
        return self.checksums

    # --- internals
    def _next(self) -> tarfile.TarInfo | None:
        try:
            info = self._tar.next()
        except (EOFError, OSError, zlib.error) as exc:
            raise TruncatedBundle(f"the bundle is truncated ({exc})", where=self.where) from exc
        if info is not None:
            self._entries += 1
            if self._entries > self.limits.max_entries:
                raise DecompressionBomb(
                    f"the bundle has more than {self.limits.max_entries} members",
                    where=self.where,
                )
        return info

    def _check_type(self, info: tarfile.TarInfo) -> None:
        if info.issym() or info.islnk():
            raise UnsafePath(
                f"member {info.name!r} is a link (to {info.linkname!r}); bundles hold only "
                "regular files and folders, and a link could point out of the target folder",
                where=self.where,
            )
        if not (info.isreg() or info.isdir()):
            raise UnsafePath(
                f"member {info.name!r} is a special file (device, fifo or sparse); bundles "
                "hold only regular files and folders",
                where=self.where,
            )
        if info.isdir() and not info.name.startswith("data/"):
            raise UnsafePath(
                f"member {info.name!r} is a folder where a file belongs", where=self.where
            )

    def _count(self, n: int) -> None:
        self._member_bytes += n
        limits = self.limits
        if self._member_bytes > limits.max_total_bytes:
            raise DecompressionBomb(
                f"the bundle unpacks to more than {limits.max_total_bytes} bytes",
                where=self.where,
            )
        if self._member_bytes > limits.ratio_grace and self._member_bytes > limits.max_ratio * max(
            1, self._raw.count
        ):
            raise DecompressionBomb(
                f"the bundle unpacks to {self._member_bytes} bytes from only {self._raw.count} "
                f"bytes of file (more than {limits.max_ratio:.0f}×): a decompression bomb",
                where=self.where,
            )

    def _read_all(self, info: tarfile.TarInfo) -> bytes:
        stream = _MemberStream(self, info)
        parts = []
        while chunk := stream.read(CHUNK):
            parts.append(chunk)
        return b"".join(parts)

    def _close_member(self, name: str, stream: _MemberStream) -> None:
        got = MemberSum(stream.size, stream.digest.hexdigest())
        self.sums[name] = got
        if self.expected is not None:
            want = self.expected.members.get(name)
            if want != got:
                raise ChecksumMismatch(
                    f"member {name!r} differs from the checksums verified earlier "
                    "(the file changed while it was being imported)",
                    where=self.where,
                )

    def _finish(self, info: tarfile.TarInfo) -> None:
        if info.size > MAX_MANIFEST:
            raise NotABundle("its checksums.json is implausibly large", where=self.where)
        trailer = Checksums.from_json(self._read_all(info), where=self.where)
        seen = {k: v for k, v in self.sums.items() if k != MANIFEST_NAME}
        listed = dict(trailer.members)
        if MANIFEST_NAME in listed:
            seen[MANIFEST_NAME] = self.sums[MANIFEST_NAME]
        for name, want in listed.items():
            got = seen.get(name)
            if got is None:
                raise ChecksumMismatch(
                    f"member {name!r} is listed in checksums.json but is not in the bundle",
                    where=self.where,
                )
            if got != want:
                raise ChecksumMismatch(
                    f"member {name!r} does not match its checksum (size {got.size}, expected "
                    f"{want.size}; SHA-256 {got.sha256[:16]}…, expected {want.sha256[:16]}…): "
                    "the bundle is damaged or was altered",
                    where=self.where,
                )
        extra = sorted(set(seen) - set(listed))
        if extra:
            raise ChecksumMismatch(
                f"member {extra[0]!r} has no checksum in checksums.json", where=self.where
            )
        after = self._next()
        if after is not None:
            raise NotABundle(
                f"member {after.name!r} follows the checksums trailer", where=self.where
            )
        self.checksums = trailer


class _MemberStream:
    def __init__(self, reader: BundleReader, info: tarfile.TarInfo) -> None:
        self._reader = reader
        self.size = 0
        self._declared = info.size
        self.digest = hashlib.sha256()
        self.name = info.name

    def read(self, size: int = -1, /) -> bytes:
        want = CHUNK if size is None or size < 0 else min(size, CHUNK)
        try:
            data = self._reader._tar.read(want)
        except (EOFError, OSError, zlib.error) as exc:
            raise TruncatedBundle(
                f"the bundle is truncated inside member {self.name!r} ({exc})",
                where=self._reader.where,
            ) from exc
        if data:
            self.size += len(data)
            self.digest.update(data)
            self._reader._count(len(data))
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def verify_file(path: Path, *, on_bytes: ByteCounter | None = None) -> tuple[Manifest, Checksums]:
    """Reads the whole bundle at ``path`` once and checks everything; nothing else is done."""
    where = str(path)
    try:
        raw = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise NotABundle(f"cannot open the bundle ({exc.strerror})", where=where) from exc
    with raw:
        reader = BundleReader(raw, where=where)
        sums = reader.verify_all(on_bytes)
        return reader.manifest, sums
