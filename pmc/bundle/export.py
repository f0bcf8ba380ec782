"""Export a server's configuration into a bundle, streamed end to end over SSH.

- Database: one ``psql`` session on the server, in one ``REPEATABLE READ`` snapshot, runs
  ``COPY … TO STDOUT`` (text format) for every table in foreign-key order; the output comes
  back over one exec channel, split at marker lines that carry a random nonce. A tar member
  needs its size in its header, so each table is spooled to a temporary file next to the
  bundle (on disk, never in memory), then copied into the bundle.
- API config: ``spoolers.json`` and ``replicate.conf`` (small files, read whole).
- Data folders: ``tar -cf - .`` in each folder on the server, re-read here header by header
  with the bundle's own bounded tar reader and re-written as bundle members (only regular
  files and folders; a link or a special file on the server is skipped and reported). Big
  files come apart from the tar, in parts over several connections at once, handed over in
  order (:mod:`pmc.bundle.parts`).

The bundle is written under a temporary name and renamed at the end; a cancel or an error
removes it, so no partial bundle is ever left behind. Memory stays bounded by the SSH window
and 1 MiB chunks, whatever the size.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets as pysecrets
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pmc import __version__
from pmc.bundle import parts
from pmc.bundle.archive import CHUNK
from pmc.bundle.archive_writer import BundleWriter, open_for_write
from pmc.bundle.errors import BundleOperationFailed
from pmc.bundle.manifest import (
    PART_CONFIG,
    PART_DATA,
    Checksums,
    Manifest,
    Source,
    TableSpec,
)
from pmc.bundle.pipe import BulkPipe, Pipe
from pmc.bundle.progress import ByteProgress, human_bytes
from pmc.bundle.schema import copy_columns, playout_version, postgresql_version, spec_of
from pmc.bundle.tarstream import TarStream
from pmc.catalog import PART_DATABASE, PART_EPG, psql_argv, quote_ident, read_catalog
from pmc.errors import Cancelled
from pmc.jobs import JobContext
from pmc.remote.commands import run
from pmc.remote.connection import Connection


@dataclass(frozen=True)
class ExportOptions:
    database: bool = True
    epg: bool = False  # as in the legacy PMC: the EPG only when asked for
    config: bool = True
    data: bool = True
    streams: int | None = None  # for big data files (pmc.bundle.parts); None: from the cores

    @property
    def parts(self) -> tuple[str, ...]:
        chosen = [
            (PART_DATABASE, self.database),
            (PART_EPG, self.epg),
            (PART_CONFIG, self.config),
            (PART_DATA, self.data),
        ]
        return tuple(p for p, on in chosen if on)

    @classmethod
    def from_parts(cls, parts: tuple[str, ...] | list[str]) -> ExportOptions:
        return cls(
            database=PART_DATABASE in parts,
            epg=PART_EPG in parts,
            config=PART_CONFIG in parts,
            data=PART_DATA in parts,
        )


@dataclass
class ExportResult:
    path: Path
    manifest: Manifest
    checksums: Checksums
    size: int
    seconds: float
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        rate = self.size / self.seconds if self.seconds > 0 else 0
        return (
            f"exported {self.manifest.source.server} to {self.path} "
            f"({human_bytes(self.size)} in {self.seconds:.1f} s, {human_bytes(rate)}/s)"
        )


@dataclass(frozen=True)
class DataListing:
    files: int
    bytes: int
    present: dict[str, str]  # key -> path of each data folder that exists


async def _none() -> None:
    return None


async def _no_data() -> DataListing:
    return DataListing(0, 0, {})


async def list_data(connection: Connection, data_dirs: dict[str, str]) -> DataListing:
    """How many files and bytes the data folders hold (to plan progress and free space)."""
    script = (
        'for d in "$@"; do if [ -d "$d" ]; then echo "dir $d"; '
        "find \"$d\" -type f -printf '%s\\n' | "
        "awk '{n++; s+=$1} END {printf \"sum %.0f %.0f\\n\", n, s}'; "
        "fi; done"
    )
    result = await run(
        connection, ["sh", "-c", script, "pmc", *data_dirs.values()], root=True, check=True
    )
    files = size = 0
    present: dict[str, str] = {}
    by_path = {v: k for k, v in data_dirs.items()}
    for line in result.stdout.splitlines():
        if line.startswith("dir "):
            path = line[4:]
            if path in by_path:
                present[by_path[path]] = path
        elif line.startswith("sum "):
            _, n, s = [*line.split(), "", ""][:3]  # mawk prints 3e+09 for a print of 3000000000
            if not (n.isdecimal() and s.isdecimal()):
                raise BundleOperationFailed(
                    f"cannot count the files in the data folders: the server said {line!r}",
                    where=connection.label,
                    hint="Check that find and awk work on the server, then export again",
                )
            files += int(n)
            size += int(s)
    return DataListing(files, size, present)


async def read_small_file(connection: Connection, path: str, limit: int = 16 << 20) -> bytes | None:
    """The content of a small remote file, or None if it does not exist."""
    pipe = await Pipe.start(
        connection, ["sh", "-c", '[ -f "$1" ] || exit 3; head -c "$2" -- "$1"', "pmc", path,
                     str(limit + 1)],
    )  # fmt: skip

    def go() -> bytes | None:
        parts = []
        while chunk := pipe.read(CHUNK):
            parts.append(chunk)
        status = pipe.finish(check=False)
        if status == 3:
            return None
        if status != 0:
            raise BundleOperationFailed(
                f"cannot read {path}: {pipe.stderr.strip()}", where=connection.label
            )
        data = b"".join(parts)
        if len(data) > limit:
            raise BundleOperationFailed(
                f"{path} is larger than {limit} bytes", where=connection.label
            )
        return data

    return await connection.in_thread(connection.executors.transfers, go)


def db_script(tables: list[TableSpec], nonce: str) -> str:
    lines = [
        "\\set ON_ERROR_STOP 1",
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;",
    ]
    for spec in tables:
        lines.append(f"\\echo PMC-{nonce} {spec.name}")
        lines.append(f"COPY public.{quote_ident(spec.name)} ({copy_columns(spec)}) TO STDOUT;")
    lines.append(f"\\echo PMC-{nonce}")
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


class _TableSplitter:
    """Splits psql's output at the marker lines into one spool file per table."""

    def __init__(self, nonce: str, spool: dict[str, IO[bytes]], where: str) -> None:
        self.marker = f"PMC-{nonce}".encode()
        self.spool = spool
        self.where = where
        self.rows: dict[str, int] = {}
        self.current: str | None = None
        self.buf = b""
        self.at_line_start = True
        self.ended = False

    def _marker_line(self, line: bytes) -> None:
        rest = line[len(self.marker) :].strip().decode()
        self.current = rest or None
        if rest and rest not in self.spool:
            raise BundleOperationFailed(
                f"unexpected table {rest!r} in psql output", where=self.where
            )
        if rest:
            self.rows[rest] = 0
        else:
            self.ended = True

    def _data(self, data: bytes) -> None:
        if not data:
            return
        if self.current is None:
            raise BundleOperationFailed(f"unexpected psql output: {data[:200]!r}", where=self.where)
        self.spool[self.current].write(data)
        self.rows[self.current] += data.count(b"\n")

    def feed(self, chunk: bytes) -> None:
        self.buf += chunk
        keep = len(self.marker) + 1
        while self.buf:
            if self.at_line_start and self.buf.startswith(self.marker):
                nl = self.buf.find(b"\n")
                if nl < 0:
                    return
                self._marker_line(self.buf[:nl])
                self.buf = self.buf[nl + 1 :]
                continue
            if (
                self.at_line_start
                and len(self.buf) < len(self.marker)
                and self.marker.startswith(self.buf)
            ):
                return
            idx = self.buf.find(b"\n" + self.marker)
            if idx >= 0:
                self._data(self.buf[: idx + 1])
                self.buf = self.buf[idx + 1 :]
                self.at_line_start = True
                continue
            if len(self.buf) > keep:
                out, self.buf = self.buf[:-keep], self.buf[-keep:]
                self._data(out)
                self.at_line_start = out.endswith(b"\n")
            return

    def close(self) -> None:
        if self.buf:
            self._data(self.buf)
            self.buf = b""
        if not self.ended:
            raise BundleOperationFailed(
                "the database dump ended early (psql stopped before its end marker)",
                where=self.where,
            )


async def export_bundle(
    connection: Connection,
    path: Path,
    options: ExportOptions | None = None,
    ctx: JobContext | None = None,
) -> ExportResult:
    """Export ``connection``'s server into the bundle file ``path``; see the module docs."""
    options = options or ExportOptions()
    server = connection.server
    layout = server.layout
    started = time.monotonic()
    path = Path(path)
    log = ctx.log if ctx else (lambda *_a, **_k: None)

    # the probes and the small config files are independent: read them side by side over
    # the one SSH connection (each is a round trip; in a row they cost more than the data)
    config_files = (
        (("spoolers.json", layout.spoolers_json), ("replicate.conf", layout.replicate_conf))
        if options.config
        else ()
    )
    configs = asyncio.gather(*(read_small_file(connection, remote) for _, remote in config_files))
    want_db = options.database or options.epg
    try:
        version, pg_version, found, listing, big = await asyncio.gather(
            playout_version(connection),
            postgresql_version(connection, layout),
            read_catalog(connection, layout) if want_db else _none(),
            list_data(connection, layout.data_dirs) if options.data else _no_data(),
            parts.plan(
                connection, layout.data_dirs if options.data else {}, streams=options.streams
            ),
        )
        config_data = await configs
    finally:
        if not configs.done():
            configs.cancel()
            with contextlib.suppress(BaseException):
                await configs
        elif not configs.cancelled():
            configs.exception()  # seen: the probes' error is the one reported
    tables: list[TableSpec] = []
    cycles: list[str] = []
    if found is not None:
        wanted = {p for p in (PART_DATABASE, PART_EPG) if p in options.parts}
        tables = [spec_of(t) for t in found.in_part(*wanted)]
        cycles = [t for t in found.cycles if found.tables[t].part in wanted]
    manifest = Manifest(
        source=Source(
            cluster=connection.cluster,
            server=server.name,
            address=server.management_address,
            playout_version=version,
            postgresql_version=pg_version,
            redundancy_address=server.redundancy_address or "",
        ),
        created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        parts=options.parts,
        tables=tuple(tables),
        fk_cycles=tuple(cycles),
        data_dirs=dict(layout.data_dirs) if options.data else {},
        planned_files=listing.files,
        planned_bytes=listing.bytes,
        pmc_version=__version__,
    )
    progress = ByteProgress(ctx, "Exporting", listing.bytes or None)
    skipped: list[str] = []
    rows: dict[str, int] = {}
    pipes: list[BulkPipe] = []
    folders = list(listing.present.items())
    # each folder's tar starts on the server while the one before is still being copied
    # (the first during the database dump): its start-up round trip overlaps the transfer
    starting: list[asyncio.Future[BulkPipe]] = []
    # big files come as parts over several connections at once (pmc.bundle.parts)
    streams = parts.PartStreams(connection, big)

    def start_tar(key: str, remote_dir: str) -> None:
        tar = parts.start_tar(
            connection, remote_dir, big.exclude_list(key), big=listing.bytes >= parts.MIN_TOTAL
        )
        starting.append(asyncio.ensure_future(tar))

    try:
        await streams.start()
        with open_for_write(path) as out:
            writer = BundleWriter(out, on_bytes=progress)
            writer.write_manifest(manifest)
            if folders:
                start_tar(*folders[0])
            if tables:
                rows = await _export_tables(connection, tables, writer, path.parent, pipes)
            for (name, remote), data in zip(config_files, config_data, strict=True):
                if data is None:
                    skipped.append(f"{remote} (not on the server)")
                    continue
                writer.add_bytes(f"config/{name}", data)
            for index, (key, _remote_dir) in enumerate(folders):
                if ctx:
                    await ctx.acheckpoint()
                pipe = await starting[index]
                pipes.append(pipe)
                if index + 1 < len(folders):
                    start_tar(*folders[index + 1])
                skipped += await connection.in_thread(
                    connection.executors.transfers, _copy_tree, pipe, key, writer, streams
                )
            await connection.in_thread(connection.executors.transfers, streams.finish)
            checksums = writer.finish(rows)
            size = writer.bytes_written
    except (Cancelled, asyncio.CancelledError, Exception):
        for future in starting:
            with contextlib.suppress(BaseException):
                pipe = await future
                if pipe not in pipes:
                    pipes.append(pipe)
        for pipe in pipes:
            await pipe.abort()
        await streams.close(failed=True)
        raise
    await streams.close(failed=False)
    progress.report()
    for item in skipped:
        log(f"skipped {item}", level="warning")
    return ExportResult(path, manifest, checksums, size, time.monotonic() - started, skipped)


async def _export_tables(
    connection: Connection,
    tables: list[TableSpec],
    writer: BundleWriter,
    spool_dir: Path,
    pipes: list[BulkPipe],
) -> dict[str, int]:
    nonce = pysecrets.token_hex(16)
    layout = connection.server.layout
    pipe = await Pipe.start(connection, psql_argv(layout, "-f", "-"))
    pipes.append(pipe)
    with contextlib.ExitStack() as stack:
        spool: dict[str, IO[bytes]] = {
            t.name: stack.enter_context(tempfile.TemporaryFile(dir=spool_dir, prefix=".pmc-"))
            for t in tables
        }

        def dump() -> dict[str, int]:
            pipe.write(db_script(tables, nonce).encode())
            pipe.close_stdin()
            splitter = _TableSplitter(nonce, spool, connection.label)
            while chunk := pipe.read(CHUNK):
                splitter.feed(chunk)
            pipe.finish()
            splitter.close()
            for spec in tables:
                f = spool[spec.name]
                size = f.tell()
                f.seek(0)
                writer.add_stream(spec.member, size, f, mode=0o644)
            return splitter.rows

        return await connection.in_thread(connection.executors.transfers, dump)


def _copy_tree(
    pipe: BulkPipe, key: str, writer: BundleWriter, streams: parts.PartStreams
) -> list[str]:
    """Re-writes the server's ``tar -cf - .`` of data folder ``key`` as bundle members, then
    its big files (left out of the tar) from their part streams."""
    stream = TarStream(pipe, where=f"{pipe.connection.label}: tar of {key}")
    skipped: list[str] = []
    while (info := stream.next()) is not None:
        rel = info.name
        while rel.startswith("./"):
            rel = rel[2:]
        rel = rel.rstrip("/")
        name = f"data/{key}" if rel in ("", ".") else f"data/{key}/{rel}"
        if info.isdir():
            writer.add_dir(name, mode=info.mode, mtime=info.mtime)
        elif info.type == tarfile.REGTYPE:
            writer.add_stream(name, info.size, stream, mode=info.mode, mtime=info.mtime)
        else:
            skipped.append(f"{key}/{rel} (a link or special file; bundles hold files only)")
    pipe.finish()
    for big in streams.plan.files.get(key, []):
        writer.add_stream(
            f"data/{key}/{big.rel}", big.size, streams.reader(big), mode=big.mode, mtime=big.mtime
        )
    return skipped
