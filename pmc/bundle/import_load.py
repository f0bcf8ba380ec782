"""Staging files and loading the database in one pass; the data-folder switch scripts."""

from __future__ import annotations

import tarfile
from collections.abc import Callable

from pmc.bundle.archive import BLOCK, CHUNK
from pmc.bundle.archive_reader import BundleReader
from pmc.bundle.catalog import Catalog, copy_columns, quote_ident
from pmc.bundle.manifest import TableSpec
from pmc.bundle.pipe import Pipe
from pmc.bundle.preview import Scan
from pmc.bundle.progress import ByteProgress
from pmc.remote.connection import Connection


def _tar_header(name: str, size: int, *, is_dir: bool, mode: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = mode & 0o7777
    info.mtime = mtime
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict")


def load_script_head(
    tables: list[TableSpec], keep: list[str], catalog: Catalog, cycles: bool
) -> str:
    """SQL before the COPYs: transaction, rows set aside, deletes in reverse FK order."""
    lines = ["\\set ON_ERROR_STOP 1", "BEGIN;", "SET LOCAL lock_timeout = '60s';"]
    if cycles:
        lines.append("SET LOCAL session_replication_role = replica;")
    for name in keep:
        lines.append(
            f"CREATE TEMP TABLE {quote_ident('pmc_keep_' + name)} ON COMMIT DROP AS "
            f"SELECT * FROM public.{quote_ident(name)};"
        )
    for name in reversed(keep):
        lines.append(f"DELETE FROM public.{quote_ident(name)};")
    for spec in reversed(tables):
        lines.append(f"DELETE FROM public.{quote_ident(spec.name)};")
    return "\n".join(lines) + "\n"


def load_script_tail(keep: list[str], catalog: Catalog, loaded: set[str]) -> str:
    """SQL after the COPYs: set-aside rows put back where their references still exist."""
    lines = []
    present = loaded | set(keep)
    for name in keep:
        conds = []
        for key in catalog.fkeys:
            if key.child != name or key.parent not in present:
                continue
            nulls = " OR ".join(f"k.{quote_ident(c)} IS NULL" for c in key.child_columns)
            match = " AND ".join(
                f"p.{quote_ident(pc)} = k.{quote_ident(cc)}"
                for cc, pc in zip(key.child_columns, key.parent_columns, strict=True)
            )
            conds.append(
                f"({nulls} OR EXISTS (SELECT 1 FROM public.{quote_ident(key.parent)} p "
                f"WHERE {match}))"
            )
        where = " AND ".join(conds) or "true"
        lines.append(
            f"INSERT INTO public.{quote_ident(name)} SELECT * FROM "
            f"{quote_ident('pmc_keep_' + name)} k WHERE {where};"
        )
    return "\n".join(lines) + ("\n" if lines else "")


class _Loader:
    """Streams one verified pass of the bundle into the psql session and the staging tars."""

    def __init__(  # noqa: PLR0917
        self,
        connection: Connection,
        scan: Scan,
        tables: list[TableSpec],
        stage: dict[str, str],
        psql: Pipe | None,
        start_tar: Callable[[str], Pipe],
        progress: ByteProgress,
    ) -> None:
        self.connection = connection
        self.scan = scan
        self.tables = {f"db/{t.name}.copy": t for t in tables}
        self.stage = stage
        self.psql = psql
        self.start_tar = start_tar
        self.progress = progress
        self.tar: Pipe | None = None
        self.tar_key: str | None = None

    def _end_tar(self) -> None:
        if self.tar is not None:
            self.tar.write(bytes(2 * BLOCK))
            self.tar.close_stdin()
            self.tar.finish()
            self.tar = None
            self.tar_key = None

    def run(self) -> None:
        with open(self.scan.path, "rb") as raw:
            reader = BundleReader(raw, where=str(self.scan.path), expected=self.scan.checksums)
            for member, stream in reader.members():
                name = member.name
                if name in self.tables and self.psql is not None:
                    spec = self.tables[name]
                    self.psql.write(
                        f"COPY public.{quote_ident(spec.name)} ({copy_columns(spec)}) "
                        "FROM STDIN;\n".encode()
                    )
                    while chunk := stream.read(CHUNK):
                        self.psql.write(chunk)
                        self.progress(len(chunk))
                    self.psql.write(b"\\.\n")
                    continue
                if not name.startswith("data/"):
                    continue
                key = name.split("/")[1]
                if key not in self.stage:
                    continue
                if key != self.tar_key:
                    self._end_tar()
                    self.tar = self.start_tar(key)
                    self.tar_key = key
                assert self.tar is not None
                rel = name[len(f"data/{key}") :].lstrip("/")
                if member.is_dir:
                    if rel:
                        self.tar.write(
                            _tar_header(
                                f"./{rel}", 0, is_dir=True, mode=member.mode, mtime=member.mtime
                            )
                        )
                    continue
                self.tar.write(
                    _tar_header(
                        f"./{rel}",
                        member.size,
                        is_dir=False,
                        mode=member.mode,
                        mtime=member.mtime,
                    )
                )
                while chunk := stream.read(CHUNK):
                    self.tar.write(chunk)
                    self.progress(len(chunk))
                if member.size % BLOCK:
                    self.tar.write(bytes(BLOCK - member.size % BLOCK))
            self._end_tar()


SWITCH_SCRIPT = """
set -e
id="$1"; shift
for d in "$@"; do
  if [ -e "$d" ]; then mv -- "$d" "$d.pmc-old-$id"; fi
  mv -- "$d.pmc-stage-$id" "$d"
done
"""

UNSWITCH_SCRIPT = """
id="$1"; shift
for d in "$@"; do
  rm -rf -- "$d.pmc-stage-$id"
  if [ -e "$d.pmc-old-$id" ]; then rm -rf -- "$d" && mv -- "$d.pmc-old-$id" "$d"; fi
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

OWNER_SCRIPT = """
id="$1"; shift
for d in "$@"; do
  if [ -d "$d.pmc-old-$id" ]; then chown -R --reference="$d.pmc-old-$id" -- "$d"; fi
done
"""

CLEANUP_SCRIPT = """
id="$1"; shift
for d in "$@"; do rm -rf -- "$d.pmc-old-$id" "$d.pmc-stage-$id"; done
"""
