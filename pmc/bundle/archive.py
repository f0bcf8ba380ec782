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
    db/<table>.copy               COPY … TO STDOUT (text format), tables in foreign-key order
    config/spoolers.json, config/replicate.conf
    data/<carousel|av|ts>/…       directories and regular files only
    checksums.json                size and SHA-256 of every member above, row counts

The reader refuses, with its own message each: something that is not a PMC bundle, a
truncated file, a checksum mismatch, an unknown format version, unsafe names (``..``,
absolute, drive letters, backslashes) and any link or special file, duplicate members, and
decompression bombs (every header block and extended header, member bytes and the ratio
counted while streaming — header sizes are never trusted to allocate anything). A bundle is
untrusted input even when it verifies: checksums prove it intact, not who wrote it. Its table
members are checked as COPY text (:mod:`pmc.bundle.copy_text`) and reach PostgreSQL only as
data (:mod:`pmc.bundle.import_db`); its files get PMC's modes, never the archive's.

The writer is :mod:`pmc.bundle.archive_writer`, the checking reader
:mod:`pmc.bundle.archive_reader` and the bounded tar parser :mod:`pmc.bundle.tarstream`;
this module holds what they share: block sizes and the member-name rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from pmc.bundle.errors import UnsafePath
from pmc.bundle.manifest import CHECKSUMS_NAME, CONFIG_FILES, DATA_DIRS, MANIFEST_NAME

CHUNK = 1 << 20
BLOCK = 512
RECORD = 20 * BLOCK
MAX_MANIFEST = 16 << 20


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class MemberData(Readable, Protocol):
    """A member's data as a bundle reader yields it: read, or passed over (``skip``)."""

    def skip(self) -> None: ...


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


class BytesReader:
    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1, /) -> bytes:
        end = len(self._view) if size < 0 else self._pos + size
        chunk = bytes(self._view[self._pos : end])
        self._pos += len(chunk)
        return chunk

    def skip(self) -> None:
        self._pos = len(self._view)
