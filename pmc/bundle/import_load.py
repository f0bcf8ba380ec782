"""Staging files and loading the database in one pass; the data-folder switch scripts."""

from __future__ import annotations

import contextlib
import tarfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from pmc.bundle import parts
from pmc.bundle.archive import BLOCK, CHUNK
from pmc.bundle.archive_reader import BundleReader
from pmc.bundle.import_db import TableLoad
from pmc.bundle.import_parts import BigMember, PartSenders, big_members, streams_for
from pmc.bundle.pipe import BulkPipe, start_bulk
from pmc.bundle.preview import Scan
from pmc.bundle.progress import ByteProgress
from pmc.remote.commands import run, start
from pmc.remote.connection import Connection


def _tar_header(name: str, size: int, *, is_dir: bool, mode: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = mode & 0o777
    info.mtime = mtime
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict")


def staged_mode(rel: str, *, is_dir: bool, executable: set[str]) -> int:
    """The mode a data file or folder gets on the target, by PMC's rule and never the
    archive's: folders 0755, files 0644 — 0755 only where the target's current file at that
    path is executable. No setuid, setgid or sticky bit; owners come from the target's folder
    (:data:`SWITCH_SCRIPT`), device files never get this far (the reader refuses them)."""
    if is_dir:
        return 0o755
    return 0o755 if rel in executable else 0o644


async def executable_files(connection: Connection, folder: str) -> set[str]:
    """Paths (relative to ``folder``) of the regular files there that anyone may execute."""
    script = '[ -d "$1" ] || exit 0; find "$1" -type f -perm /111 -printf \'%P\\0\''
    result = await run(connection, ["sh", "-c", script, "pmc", folder], root=True, check=True)
    return {name for name in result.stdout.split("\0") if name}


class Loader:
    """Streams one verified pass of the bundle into the database and the staging tars."""

    def __init__(  # noqa: PLR0917
        self,
        scan: Scan,
        stage: dict[str, str],
        db: TableLoad | None,
        start_tar: Callable[[str], BulkPipe],
        progress: ByteProgress,
        executable: dict[str, set[str]] | None = None,
        senders: PartSenders | None = None,
    ) -> None:
        self.scan = scan
        self.stage = stage
        self.db = db
        self.start_tar = start_tar
        self.progress = progress
        self.executable = executable or {}
        self.tar: BulkPipe | None = None
        self.tar_key: str | None = None
        self.senders = senders  # the big files go in parts, not through tar
        self.big = {f.name: f for f in senders.files} if senders else {}

    def _end_tar(self) -> None:
        if self.tar is not None:
            self.tar.write(bytes(2 * BLOCK))
            self.tar.close_stdin()
            self.tar.finish()
            self.tar = None
            self.tar_key = None

    def run(self) -> None:
        with open(self.scan.path, "rb") as raw:
            reader = BundleReader(
                raw,
                where=str(self.scan.path),
                expected=self.scan.checksums,
                unverified=self.scan.unhashed,
            )
            for member, stream in reader.members():
                name = member.name
                if self.db is not None and name in self.db.by_member:
                    self.db.copy(self.db.by_member[name], stream, self.progress)
                    continue
                if not name.startswith("data/"):
                    continue
                key = name.split("/")[1]
                if key not in self.stage:
                    continue
                if self.senders is not None and name in self.big:
                    self.senders.send(self.big[name], stream.read, self.progress)
                    continue
                if key != self.tar_key:
                    self._end_tar()
                    self.tar = self.start_tar(key)
                    self.tar_key = key
                assert self.tar is not None
                rel = name[len(f"data/{key}") :].lstrip("/")
                mode = staged_mode(
                    rel, is_dir=member.is_dir, executable=self.executable.get(key, set())
                )
                if member.is_dir:
                    if rel:
                        self.tar.write(
                            _tar_header(f"./{rel}", 0, is_dir=True, mode=mode, mtime=member.mtime)
                        )
                    continue
                header = _tar_header(
                    f"./{rel}", member.size, is_dir=False, mode=mode, mtime=member.mtime
                )
                self.tar.write(header)
                while chunk := stream.read(CHUNK):
                    self.tar.write(chunk)
                    self.progress(len(chunk))
                if member.size % BLOCK:
                    self.tar.write(bytes(BLOCK - member.size % BLOCK))
            self._end_tar()
            if self.senders is not None:
                self.senders.finish()


async def load_in_one_pass(
    connection: Connection,
    scan: Scan,
    staging: dict[str, str],
    db: TableLoad | None,
    progress: ByteProgress,
    *,
    executable: dict[str, set[str]] | None = None,
    before_swap: Awaitable[object] | None = None,
    streams: int | None = None,
) -> None:
    """One pass over the verified bundle ``scan``: its tables into ``db`` (one transaction,
    begun first and committed only at the end, after the swap), each data folder's files
    through ``tar`` into its staging folder (``staging``: key -> folder on the target). Each
    member is checked against ``scan``'s checksums as it ends (the data files whose checksums
    the scan left to the import, :attr:`Scan.unhashed`, included), the trailer at the end.
    The tables swap once ``before_swap`` (the import's backup) has ended too; the transaction
    is kept alive until then (:meth:`TableLoad.kept_alive`). A failure stops every tar and
    leaves the transaction uncommitted."""
    senders = await part_senders(connection, scan, staging, executable or {}, streams)
    tar_pipes: dict[str, BulkPipe] = {}
    much = sum(size for size, _ in scan.files.values()) >= parts.MIN_TOTAL
    for key, folder in staging.items():
        tar_pipes[key] = await start_bulk(
            connection,
            ["tar", "-C", folder, "-xf", "-", "--no-same-owner", "--no-overwrite-dir"],
            big=much,
        )
    loader = Loader(scan, staging, db, lambda k: tar_pipes[k], progress, executable, senders)
    flushing = flushed_as_they_arrive(connection, list(staging.values()) if much else [])

    def stage() -> None:
        loader.run()
        for pipe in tar_pipes.values():  # folders without members
            if not pipe.closed and pipe is not loader.tar:
                pipe.write(bytes(2 * BLOCK))
                pipe.close_stdin()
                pipe.finish(check=False)

    def swap() -> None:
        if db is not None:
            db.swap()
            db.commit()

    transfers = connection.executors.transfers
    try:
        if db is not None:
            await connection.in_thread(transfers, db.begin)
        with db.kept_alive() if db is not None else contextlib.nullcontext():
            async with flushing:
                await connection.in_thread(transfers, stage)
                if senders is not None:
                    await senders.settle()
            if before_swap is not None:
                await before_swap
        await connection.in_thread(transfers, swap)
    except BaseException:
        for pipe in tar_pipes.values():
            await pipe.abort()
        if senders is not None:
            await senders.close(failed=True)
        raise
    if senders is not None:
        await senders.close(failed=False)


FLUSH_SCRIPT = 'while sleep 1; do sync -f -- "$@" || exit 0; done'


@contextlib.asynccontextmanager
async def flushed_as_they_arrive(connection: Connection, folders: list[str]) -> AsyncIterator[None]:
    """While a big staging runs, its folders are flushed to the server's disk each second
    (:data:`FLUSH_SCRIPT`), so the disk takes the files as they arrive and the switch's own
    flush (:data:`SWITCH_SCRIPT`) finds little left; nothing for no folders. The loop ends
    with its channel, closed on the way out whatever happened (no round trip to stop it)."""
    if not folders:
        yield
        return
    argv = ["sh", "-c", FLUSH_SCRIPT, "pmc-flush", *folders]
    flusher = await start(connection, argv, root=True, timeout=None)
    try:
        yield
    finally:
        flusher.close()


async def part_senders(
    connection: Connection,
    scan: Scan,
    staging: dict[str, str],
    executable: dict[str, set[str]],
    streams: int | None,
) -> PartSenders | None:
    """The streams of the big data files (:mod:`pmc.bundle.import_parts`), started; None
    when there are too few or too small ones, or the server or this computer has one core,
    or ``streams`` is 1 (it overrides the choice from the cores)."""
    if streams == 1:
        return None
    modes = {}
    for name in scan.files:
        key, _, rel = name.removeprefix("data/").partition("/")
        modes[name] = staged_mode(rel, is_dir=False, executable=executable.get(key, set()))
    files: list[BigMember] = big_members(scan.files, staging, modes)
    if not files:
        return None
    streams = streams or streams_for(files, await parts.ends(connection))
    if streams < 2:
        return None
    senders = PartSenders(connection, files, streams)
    try:
        await senders.start()
    except BaseException:
        await senders.close(failed=True)
        raise
    return senders


SWITCH_SCRIPT = """
set -e
id="$1"; shift
for d in "$@"; do
  if [ -d "$d" ]; then chown -R --reference="$d" -- "$d.pmc-stage-$id"; fi
  sync -f -- "$d.pmc-stage-$id"
done
for d in "$@"; do
  if [ -e "$d" ]; then mv -- "$d" "$d.pmc-old-$id"; fi
  mv -- "$d.pmc-stage-$id" "$d"
done
for d in "$@"; do sync -f -- "$d"; done
"""
"""The staged data folders into place. Their files are owned as the old folder is and are on
disk (``sync -f``) before they replace it, and the switch itself is on disk before the old
folders are removed at the end: a server that loses power after an import comes back with the
imported files, never with empty ones and no old copy (delayed allocation otherwise leaves
just-written files empty for up to half a minute)."""

UNSWITCH_SCRIPT = """
id="$1"; shift
for d in "$@"; do
  rm -rf -- "$d.pmc-stage-$id"
  if [ -e "$d.pmc-old-$id" ]; then rm -rf -- "$d" && mv -- "$d.pmc-old-$id" "$d"; fi
  if [ -e "$d" ]; then sync -f -- "$d"; fi
done
exit 0
"""

STAGE_SCRIPT = """
id="$1"; shift
for d in "$@"; do
  rm -rf -- "$d.pmc-stage-$id"
  mkdir -p -- "$d.pmc-stage-$id"
  if [ -d "$d" ]; then chown --reference="$d" -- "$d.pmc-stage-$id"; \
chmod --reference="$d" -- "$d.pmc-stage-$id"; fi
done
"""

CLEANUP_SCRIPT = """
id="$1"; shift
for d in "$@"; do rm -rf -- "$d.pmc-old-$id" "$d.pmc-stage-$id"; done
"""


async def on_folders(
    connection: Connection, script: str, ident: str, dirs: Sequence[str], *, check: bool = True
) -> None:
    """Run one of the scripts above (stage, switch, unswitch, cleanup) on the data
    folders ``dirs`` of the import ``ident``; nothing to do without folders."""
    if dirs:
        await run(connection, ["sh", "-c", script, "pmc", ident, *dirs], root=True, check=check)
