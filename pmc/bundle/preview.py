"""What a bundle holds, and what importing it would change on a server.

:func:`scan_bundle` reads the bundle once, verifying everything (manifest, names, member types,
sizes, checksums, the trailer, every table member as COPY data of its table's columns:
:mod:`pmc.bundle.copy_text`; and that the bundle agrees with itself: each table once, in the
part its name belongs to, with its member; each member of a part the manifest lists; the data
members a tree a target's tar can make; config files no larger than an export reads) — or
everything but the data files' checksums, which the import
checks as it streams them (``hash_data=False``) — and keeping what a preview needs: the file
list with sizes and times, the small members (config files, the services and networks
tables). :func:`preview` compares that with a target server: DVB services and networks added,
removed or changed; data files added, changed (size or time differ) or removed; config files
as unified diffs; and what the import will do with the target's own addresses.
"""

from __future__ import annotations

import contextlib
import difflib
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import sql

from pmc.bundle.archive_reader import BundleReader, Limits, Member
from pmc.bundle.copy_text import CopyTextCheck
from pmc.bundle.errors import BadTableData, NotABundle
from pmc.bundle.manifest import CONFIG_FILES, PART_CONFIG, PART_DATA, Checksums, Manifest
from pmc.bundle.progress import ByteProgress, human_bytes
from pmc.bundle.schema import LOCAL, copy_columns
from pmc.catalog import part_of, psql_query
from pmc.remote.commands import run
from pmc.remote.connection import Connection
from pmc.words import plural, printable

KEEP_TABLES = ("dvb_services", "networks")  # shown row by row in a preview
SMALL = 64 << 20
MAX_CONFIG = 16 << 20  # the most of a config file an export reads (export.read_small_file)


@dataclass
class Scan:
    path: Path
    manifest: Manifest
    checksums: Checksums
    size: int
    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # data/... -> (size, mtime)
    dirs: set[str] = field(default_factory=set)
    small: dict[str, bytes] = field(default_factory=dict)
    unhashed: frozenset[str] = frozenset()  # data files whose checksum is checked on import

    def summary(self) -> str:
        m = self.manifest
        lines = [
            f"bundle {self.path} ({human_bytes(self.size)}), format {m.format_version}, "
            f"written by PMC {m.pmc_version or '?'} at {m.created}",
            f"source: {m.source.cluster}/{m.source.server} ({m.source.address}), "
            f"{_version('Playout', m.source.playout_version)}, "
            f"{_version('PostgreSQL', m.source.postgresql_version)}",
            f"parts: {', '.join(m.parts)}",
        ]
        if m.tables:
            lines.append("tables (foreign-key order):")
            for spec in m.tables:
                rows = self.checksums.rows.get(spec.name, 0)
                lines.append(f"  {spec.name:<24} {plural(rows, 'row'):>14}  ({spec.part})")
        for name in CONFIG_FILES:
            if f"config/{name}" in self.small:
                size = len(self.small[f"config/{name}"])
                lines.append(f"config: {name} ({plural(size, 'byte')})")
        if PART_DATA in m.parts:
            by_key: dict[str, list[int]] = {}
            for name, (size, _) in self.files.items():
                key = name.split("/")[1]
                entry = by_key.setdefault(key, [0, 0])
                entry[0] += 1
                entry[1] += size
            for key, (count, size) in sorted(by_key.items()):
                lines.append(f"data {key}: {plural(count, 'file')}, {human_bytes(size)}")
        hashed = len(self.checksums.members) - len(self.unhashed)
        lines.append(
            f"{plural(hashed, 'member')} verified (SHA-256)"
            + (
                f", {plural(len(self.unhashed), 'data file')} by size (their SHA-256 is checked "
                "as they are imported)"
                if self.unhashed
                else ""
            )
        )
        return "\n".join(lines)


def scan_bundle(
    path: Path,
    *,
    progress: ByteProgress | None = None,
    limits: Limits | None = None,
    hash_data: bool = True,
) -> Scan:
    """Reads and verifies the whole bundle (blocking: run it in a worker thread). Without
    ``hash_data`` the data files of a bundle on disk are passed over unread: their names,
    types and sizes are checked, their checksums are left to the import, which checks each
    as it streams into a staging folder (:attr:`Scan.unhashed` names them)."""
    path = Path(path)
    try:
        raw = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise NotABundle(f"cannot open the bundle ({exc.strerror})", where=str(path)) from exc
    with raw:
        size = path.stat().st_size
        reader = BundleReader(raw, where=str(path), limits=limits)
        check_parts(reader.manifest, where=str(path))
        files: dict[str, tuple[int, int]] = {}
        dirs: set[str] = set()
        small: dict[str, bytes] = {}
        keep = {f"config/{n}" for n in CONFIG_FILES} | {f"db/{t}.copy" for t in KEEP_TABLES}
        specs = {spec.member: spec for spec in reader.manifest.tables}
        tables: dict[str, CopyTextCheck] = {}
        folders: list[str] = []  # data folders in the order their members come
        tree = _Tree()
        for member, stream in reader.members():
            _announced(member.name, reader.manifest, where=str(path))
            if member.name.startswith("data/"):
                _one_run(folders, member.name.split("/")[1], where=str(path))
                tree.add(member, where=str(path))
            if member.name.startswith("config/") and member.size > MAX_CONFIG:
                raise NotABundle(
                    f"its {member.name} holds {human_bytes(member.size)}, more than the "
                    f"{human_bytes(MAX_CONFIG)} PMC exports of a config file",
                    where=str(path),
                )
            if member.is_dir:
                dirs.add(member.name)
                continue
            if member.name.startswith("data/"):
                files[member.name] = (member.size, member.mtime)
                if not hash_data:
                    stream.skip()
                    if progress:
                        progress(member.size)
                    continue
            check = None
            if member.name.startswith("db/"):
                spec = specs.get(member.name)
                if spec is None:
                    raise BadTableData(
                        f"member {member.name} is not a table of the bundle's manifest",
                        where=str(path),
                    )
                check = tables[spec.name] = CopyTextCheck(
                    member.name, len(spec.columns), where=str(path)
                )
            parts = []
            while chunk := stream.read(1 << 20):
                if progress:
                    progress(len(chunk))
                if check is not None:
                    check.feed(chunk)
                if member.name in keep and member.size <= SMALL:
                    parts.append(chunk)
            if parts or (member.name in keep and member.size == 0):
                small[member.name] = b"".join(parts)
        assert reader.checksums is not None
        for spec in reader.manifest.tables:
            found = tables.get(spec.name)
            if found is None:  # else an import would empty the target's table
                raise NotABundle(
                    f"the bundle's manifest lists table {spec.name}, but the bundle has no "
                    f"{spec.member} (PMC writes one for every table, an empty table's included)",
                    where=str(path),
                )
            found.finish(reader.checksums.rows.get(spec.name, 0))
        return Scan(
            path, reader.manifest, reader.checksums, size, files, dirs, small,
            frozenset(reader.unhashed),
        )  # fmt: skip


def check_parts(manifest: Manifest, *, where: str) -> None:
    """:class:`NotABundle` unless each table is in the part its name puts it in, one of the
    bundle's parts: the parts an operator chooses decide what an import replaces, and a
    per-server table never is; no table or column is listed twice."""
    seen: set[str] = set()
    for spec in manifest.tables:
        if spec.name in seen:
            raise NotABundle(f"the bundle's manifest lists table {spec.name} twice", where=where)
        seen.add(spec.name)
        names: set[str] = set()
        for column, _ in spec.columns:
            if column in names:
                raise NotABundle(
                    f"the bundle's manifest lists column {column} of table {spec.name} twice",
                    where=where,
                )
            names.add(column)
        belongs = part_of(spec.name)
        if belongs is None and spec.part != LOCAL:
            raise NotABundle(
                f"the bundle's manifest lists table {spec.name} in its {spec.part} part, but "
                f"each server keeps its own {spec.name}: an import never replaces it",
                where=where,
            )
        if belongs is not None and spec.part != belongs:
            raise NotABundle(
                f"the bundle's manifest lists table {spec.name} in its {spec.part} part, but "
                f"it belongs to the {belongs} part",
                where=where,
            )
        if spec.part != LOCAL and spec.part not in manifest.parts:
            raise NotABundle(
                f"the bundle's manifest lists table {spec.name} in its {spec.part} part, which "
                f"it does not list among its parts ({', '.join(manifest.parts) or 'none'})",
                where=where,
            )


def _announced(name: str, manifest: Manifest, *, where: str) -> None:
    """A config or data member is of a part the manifest lists (its tables: their specs)."""
    part = {"config": PART_CONFIG, "data": PART_DATA}.get(name.partition("/")[0])
    if part is not None and part not in manifest.parts:
        raise NotABundle(
            f"member {printable(name)} belongs to the {part} part, which the bundle's manifest "
            f"does not list (its parts: {', '.join(manifest.parts) or 'none'})",
            where=where,
        )


class _Tree:
    """The data members seen so far, as a tree of their paths: each path is known by a hash
    of its parent's and its own last part (a path's folders are never kept as strings, which
    a deep path would make quadratic: 20 paths 30 000 folders deep took 48 s and 17 GB)."""

    def __init__(self) -> None:
        self.inside: dict[int, str] = {}  # each folder a member is in -> that member
        self.files: set[int] = set()

    def add(self, member: Member, *, where: str) -> None:
        """A data member is a folder or a file of its data folder, never in a file (a
        target's tar cannot make it) nor a file where a folder is (the data folder itself
        included)."""
        name = member.name
        parts = name.split("/")
        if len(parts) == 2 and not member.is_dir:
            raise NotABundle(
                f"member {printable(name)} is a file where the {parts[1]} data folder belongs",
                where=where,
            )
        key = 0
        for depth, part in enumerate(parts[1:-1], start=2):  # data/KEY, data/KEY/a, …
            key = hash((key, part))
            if key in self.files:
                folder = "/".join(parts[:depth])
                raise NotABundle(
                    f"member {printable(name)} is inside {printable(folder)}, which the "
                    "bundle holds as a file",
                    where=where,
                )
            self.inside.setdefault(key, name)
        key = hash((key, parts[-1]))
        if not member.is_dir:
            if key in self.inside:
                raise NotABundle(
                    f"member {printable(self.inside[key])} is inside {printable(name)}, which "
                    "the bundle holds as a file",
                    where=where,
                )
            self.files.add(key)


def _one_run(folders: list[str], key: str, *, where: str) -> None:
    """Each data folder's members come together (an import streams each folder once)."""
    if folders and folders[-1] == key:
        return
    if key in folders:
        raise NotABundle(
            f"the members of data/{key} are not together (data/{folders[-1]} comes between "
            "them): PMC does not write bundles this way",
            where=where,
        )
    folders.append(key)


# --- comparing with a target -------------------------------------------------------------
@dataclass
class Changes:
    """What the import would change in one table (its rows) or one data folder (its files)."""

    name: str  # the table, or the data folder's key
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def by_verb(self) -> tuple[tuple[str, list[str]], ...]:
        return (("added", self.added), ("changed", self.changed), ("removed", self.removed))


@dataclass
class Preview:
    scan: Scan
    target: str
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (bundle, target)
    rows: list[Changes] = field(default_factory=list)
    files: list[Changes] = field(default_factory=list)
    config_diffs: dict[str, str] = field(default_factory=dict)
    config_actions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def render(self, *, limit: int = 10) -> str:
        lines = [f"import into {self.target}:"]
        for name, (ours, theirs) in self.tables.items():
            lines.append(f"  table {name:<24} {theirs:>8} rows now → {ours:>8} rows")
        for diff in self.rows:
            for verb, items in diff.by_verb():
                if items:
                    shown = ", ".join(items[:limit]) + (" …" if len(items) > limit else "")
                    lines.append(f"  {diff.name} {verb} ({len(items)}): {shown}")
        for fdiff in self.files:
            lines.append(
                f"  data {fdiff.name}: {len(fdiff.added)} added, {len(fdiff.changed)} changed, "
                f"{len(fdiff.removed)} removed"
            )
            for verb, items in (
                ("+", fdiff.added),
                ("~", fdiff.changed),
                ("-", fdiff.removed),
            ):
                lines.extend(f"    {verb} {item}" for item in items[:limit])
        for name, action in self.config_actions.items():
            lines.append(f"  {name}: {action}")
            if self.config_diffs.get(name):
                lines.extend("    " + line for line in self.config_diffs[name].splitlines())
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(printable(line) for line in lines)  # names are the bundle's


def _keyed_rows(text: str, columns: list[str]) -> dict[str, tuple[str, str]]:
    """COPY text rows keyed by their first column: key -> (label, whole row)."""
    name_at = columns.index("name") if "name" in columns else 0
    out: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if not fields or not fields[0]:
            continue
        label = fields[name_at] if name_at < len(fields) else fields[0]
        out[fields[0]] = (f"{fields[0]} {label}".strip(), line)
    return out


def diff_rows(table: str, columns: list[str], ours: str, theirs: str) -> Changes:
    a = _keyed_rows(ours, columns)
    b = _keyed_rows(theirs, columns)
    return Changes(
        table,
        added=[a[k][0] for k in a if k not in b],
        removed=[b[k][0] for k in b if k not in a],
        changed=[a[k][0] for k in a if k in b and a[k][1] != b[k][1]],
    )


def diff_files(
    key: str, ours: dict[str, tuple[int, int]], theirs: dict[str, tuple[int, int]]
) -> Changes:
    return Changes(
        key,
        added=sorted(k for k in ours if k not in theirs),
        changed=sorted(
            k
            for k in ours
            if k in theirs and (ours[k][0] != theirs[k][0] or ours[k][1] != theirs[k][1])
        ),
        removed=sorted(k for k in theirs if k not in ours),
    )


def config_diff(name: str, ours: bytes | None, theirs: bytes | None) -> str:
    a = (theirs or b"").decode("utf-8", "replace").splitlines(keepends=True)
    b = (ours or b"").decode("utf-8", "replace").splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, f"target/{name}", f"bundle/{name}", n=2))


async def target_files(connection: Connection, path: str) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mtime) of every regular file under ``path`` on the server."""
    script = '[ -d "$1" ] || exit 0; find "$1" -type f -printf \'%s\\t%T@\\t%P\\0\''
    result = await run(connection, ["sh", "-c", script, "pmc", path], root=True, check=True)
    out: dict[str, tuple[int, int]] = {}
    for record in result.stdout.split("\0"):  # a name may hold a new line
        size, _, rest = record.partition("\t")
        mtime, _, rel = rest.partition("\t")
        with contextlib.suppress(ValueError, OverflowError):  # the empty end, or garbled
            out[rel] = (int(size), int(float(mtime)))
    return out


async def target_table_text(connection: Connection, table: str, columns: list[str]) -> str:
    layout = connection.server.layout
    query = sql.SQL("COPY (SELECT {} FROM public.{}) TO STDOUT").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table)
    )
    return await psql_query(connection, layout, query.as_string(None))


def counts_sql(tables: list[str]) -> str:
    """One query: each table's name and row count (names quoted by psycopg, never pasted)."""
    return (
        sql.SQL(" UNION ALL ")
        .join(
            sql.SQL("SELECT {}, count(*) FROM public.{}").format(sql.Literal(t), sql.Identifier(t))
            for t in tables
        )
        .as_string(None)
    )


async def target_counts(connection: Connection, tables: list[str]) -> dict[str, int]:
    if not tables:
        return {}
    layout = connection.server.layout
    text = await psql_query(connection, layout, counts_sql(tables))
    out = {}
    for line in text.splitlines():
        name, _, count = line.partition("\t")
        out[name] = int(count)
    return out


__all__ = ["Preview", "Scan", "copy_columns", "diff_files", "diff_rows", "scan_bundle"]


def _version(product: str, version: str) -> str:
    """ "Playout 7.2", or that the server did not say which ("unknown" in the manifest)."""
    return f"{product} {version}" if version != "unknown" else f"{product} version not known"
