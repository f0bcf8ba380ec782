"""A strict, bounded tar parser: headers never trusted to allocate anything."""

from __future__ import annotations

import tarfile
from collections.abc import Callable

from pmc.bundle.archive import BLOCK, CHUNK, Readable
from pmc.bundle.errors import DecompressionBomb, NotABundle, TruncatedBundle, UnsafePath

_PAX_KEYS = ("path", "size", "mtime", "linkpath")
# types that hold a regular file's data; tar extracts each as a regular file
_DATA_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)


class TarStream:
    """A strict, bounded tar reader: ustar/pax/GNU headers, members read front to back.

    Unlike :mod:`tarfile` it never reads a header block of a size the archive declares
    without a bound (pax and GNU long-name headers are limited to 64 KiB, and at most
    :attr:`MAX_EXTENDED_RUN` of them may precede one member), never keeps past headers, and
    reads member data straight from the source in chunks. ``on_header`` is told the size of
    every header block and extended header read (so that a reader's limits count them too).

    Member data is found as tar finds it: a regular file (``0``, old-style ``\0``) and a
    contiguous file (``7``, which tar extracts as a regular file) carry their data, and so
    does a member of a type tar does not know; a folder, link or device must declare none.
    """

    MAX_EXTENDED = 64 << 10
    MAX_EXTENDED_RUN = 4  # pax, GNU long name and long link, one spare

    def __init__(
        self, source: Readable, *, where: str, on_header: Callable[[int], None] | None = None
    ) -> None:
        self._src = source
        self.where = where
        self._on_header = on_header
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
        extended = 0
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
            if self._on_header is not None:
                self._on_header(BLOCK)
            if block == bytes(BLOCK):
                return None
            try:
                info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
            except tarfile.HeaderError as exc:
                raise NotABundle(
                    f"damaged tar header at byte {self.offset - BLOCK} ({exc})", where=self.where
                ) from exc
            if info.type in (tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
                extended += 1
                if extended > self.MAX_EXTENDED_RUN:
                    raise DecompressionBomb(
                        f"more than {self.MAX_EXTENDED_RUN} extended tar headers in a row at "
                        f"byte {self.offset - BLOCK} (a member needs at most three)",
                        where=self.where,
                    )
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
                if self._on_header is not None:
                    self._on_header(len(raw))
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
                    info.mtime = float(pax["mtime"])
            except ValueError as exc:
                raise NotABundle(f"bad pax header value ({exc})", where=self.where) from exc
            info.mtime = _time(info.name, info.mtime, where=self.where)
            if info.name.endswith("/") and info.type in (tarfile.DIRTYPE, tarfile.REGTYPE):
                info.name = info.name.rstrip("/")
                info.type = tarfile.DIRTYPE
            if info.size < 0:
                raise NotABundle("a negative member size", where=self.where)
            has_data = info.type in _DATA_TYPES or info.type not in tarfile.SUPPORTED_TYPES
            if not has_data and info.size:
                raise NotABundle(
                    f"member {info.name!r} is a folder, link or device whose header declares "
                    f"{info.size} bytes of data (tar and PMC could read what follows differently)",
                    where=self.where,
                )
            self._left = info.size if has_data else 0
            if info.type in _DATA_TYPES:
                info.type = tarfile.REGTYPE
            self._pad = _padded(self._left) - self._left
            return info

    def skip(self) -> int | None:
        """Pass over the rest of the current member's data without reading it, when the
        source can (a bundle file on disk: its ``skip``); returns how many bytes, or None
        when the source cannot skip (the data is then still to be read)."""
        skip = getattr(self._src, "skip", None)
        moved = skip(self._left) if skip is not None and self._left else None
        if moved is None:
            return 0 if not self._left else None
        if moved != self._left:
            raise TruncatedBundle(
                "the bundle is truncated (it ends inside a member)", where=self.where
            )
        self._left = 0
        self.offset += moved
        return int(moved)

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


MAX_TIME = 8**11  # seconds either side of 1970: what a tar header's own time field holds


def _time(name: str, mtime: float, *, where: str) -> int:
    """A member's time in whole seconds; :class:`NotABundle` when it is no date (a pax
    header's inf or NaN, or beyond what a ustar header holds: a pax header's 1e300 or a GNU
    header's base-256 number would reach the target's tar and touch)."""
    if not -MAX_TIME < mtime < MAX_TIME:  # NaN is neither
        raise NotABundle(f"member {name!r} has a time that is not a date ({mtime!r})", where=where)
    return int(mtime)


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
