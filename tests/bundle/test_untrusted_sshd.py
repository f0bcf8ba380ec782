"""A bundle is untrusted input: its table data reaches PostgreSQL only as data, its files get
PMC's modes, and every SQL literal is quoted by psycopg. Real OpenSSH and PostgreSQL (see
conftest.py); each hostile bundle is a *valid* one (checksums and row counts recomputed), as
an attacker would write it."""

from __future__ import annotations

import asyncio
import io
import os
import stat
import tarfile
import uuid
from pathlib import Path

import psycopg
import pytest

from pmc.bundle import errors, preview
from pmc.bundle.archive_reader import BundleReader
from pmc.bundle.archive_writer import BundleWriter
from pmc.bundle.import_db import target_database
from pmc.bundle.importer import ImportOptions, import_bundle
from pmc.bundle.preview import target_counts
from pmc.lab.playout import CONFIG_TABLES, EPG_TABLES, LOCAL_TABLES
from tests.bundle.conftest import PlayoutHost
from tests.bundle.test_refusals_sshd import rewrite

pytestmark = pytest.mark.timeout(300)
ALL_TABLES = CONFIG_TABLES + EPG_TABLES + LOCAL_TABLES


def _import(host: PlayoutHost, tmp: Path, bundle: Path, **layout: str | int) -> object:
    async def go() -> object:
        conn = host.connection(tmp / f"kh-{host.name}", **layout)
        try:
            return await import_bundle(
                conn, bundle, ImportOptions(backup_dir=tmp / "backups", restart=False)
            )
        finally:
            await conn.close()

    return asyncio.run(go())


def _injection(marker: Path) -> bytes:
    """What the security review appended to a table member: the end of the COPY data, then
    SQL that psql would have run as the superuser."""
    return (
        b"\\.\n"
        b"CREATE TABLE pwned (x integer);\n"
        + f"COPY (SELECT 1) TO PROGRAM 'id > {marker}';\n".encode()
    )


def _pwned(host: PlayoutHost) -> bool:
    with psycopg.connect(host.dsn) as conn:
        row = conn.execute("SELECT to_regclass('public.pwned') IS NOT NULL").fetchone()
        return bool(row and row[0])


def _append(member: str, extra: bytes):  # type: ignore[no-untyped-def]
    return lambda name, data: data + extra if name == member else data


def test_end_of_data_marker_and_sql_in_a_member_are_refused_with_the_line(
    playout_pair: tuple[PlayoutHost, PlayoutHost], good: Path, tmp_path: Path
) -> None:
    _, backup = playout_pair
    marker = Path(f"/tmp/pmc-pwned-{uuid.uuid4().hex}")
    bad = rewrite(
        good, tmp_path / "bad.pmcbundle", tables=_append("db/dvb_services.copy", _injection(marker))
    )
    rows = _rows_of(good, "dvb_services")
    before = backup.tree_digest(), backup.table_digest(ALL_TABLES)
    with pytest.raises(errors.BadTableData) as info:
        _import(backup, tmp_path, bad)
    assert (
        f"member db/dvb_services.copy, line {rows + 1}: an end-of-data marker (\\.) inside the "
        "data: it is not COPY data of the table"
    ) in str(info.value)
    assert "Nothing was changed on any server" in str(info.value)
    assert not _pwned(backup) and not marker.exists()
    assert (backup.tree_digest(), backup.table_digest(ALL_TABLES)) == before
    assert not (tmp_path / "backups").exists()  # refused before the target was touched


def test_without_the_check_postgresql_still_sees_the_member_only_as_data(
    playout_pair: tuple[PlayoutHost, PlayoutHost],
    good: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Second line of defence: with the local COPY check switched off, the member goes to
    PostgreSQL as COPY data over the protocol. The marker only ends the data early; the SQL
    after it is never run, the short row count is caught and nothing is swapped in."""
    _, backup = playout_pair
    marker = Path(f"/tmp/pmc-pwned-{uuid.uuid4().hex}")
    bad = rewrite(
        good, tmp_path / "bad.pmcbundle", tables=_append("db/dvb_services.copy", _injection(marker))
    )
    monkeypatch.setattr(preview, "CopyTextCheck", _NoCheck)
    before = backup.table_digest(ALL_TABLES)
    with pytest.raises(errors.BadTableData, match=r"loaded \d+ rows? but the bundle says"):
        _import(backup, tmp_path, bad)
    assert not _pwned(backup) and not marker.exists()
    assert backup.table_digest(ALL_TABLES) == before


class _NoCheck:
    def __init__(self, *_args: object, **_kw: object) -> None:
        pass

    def feed(self, chunk: bytes) -> None:
        pass

    def finish(self, expected_rows: int | None) -> None:
        pass


def test_a_row_with_more_columns_than_the_table_is_refused_with_its_line(
    playout_pair: tuple[PlayoutHost, PlayoutHost],
    good: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, backup = playout_pair
    with good.open("rb") as raw:
        columns = len(BundleReader(raw, where="g").manifest.table("networks").columns)
    widened = rewrite(
        good,
        tmp_path / "wide.pmcbundle",
        tables=lambda name, data: (
            data.replace(b"\n", b"\tDROP TABLE networks\n", 2)
            if name == "db/networks.copy"
            else data
        ),
    )
    before = backup.tree_digest(), backup.table_digest(ALL_TABLES)
    with pytest.raises(errors.BadTableData) as info:
        _import(backup, tmp_path, widened)
    assert (
        f"member db/networks.copy, line 1: it has {columns + 1} fields but the table has "
        f"{columns} columns"
    ) in str(info.value)
    assert (backup.tree_digest(), backup.table_digest(ALL_TABLES)) == before
    # and PostgreSQL itself refuses it the same way, with the line, when it gets that far
    monkeypatch.setattr(preview, "CopyTextCheck", _NoCheck)
    with pytest.raises(errors.BadTableData) as info:
        _import(backup, tmp_path, widened)
    assert "member db/networks.copy, line 1: PostgreSQL does not read it as the table's COPY" in (
        str(info.value)
    )
    assert "extra data after last expected column" in str(info.value)
    assert backup.table_digest(ALL_TABLES) == before[1]


def _rows_of(bundle: Path, table: str) -> int:
    with bundle.open("rb") as raw:
        reader = BundleReader(raw, where="g")
        reader.verify_all()
        assert reader.checksums is not None
        return reader.checksums.rows[table]


def with_files(src: Path, dst: Path, extra: list[tuple[str, bytes, int]]) -> Path:
    """A copy of ``src`` with carousel members ``(name, data, mode)`` added after its own
    (a valid bundle; ``b"/"`` as data makes a folder)."""
    with src.open("rb") as raw, dst.open("wb") as out:
        reader = BundleReader(raw, where=str(src))
        writer = BundleWriter(out)
        writer.write_manifest(reader.manifest)
        seen = False
        for member, stream in reader.members():
            if member.name.startswith("data/carousel"):
                seen = True
            elif seen and extra:
                for name, data, mode in extra:
                    if data == b"/":
                        writer.add_dir(name, mode=mode)
                    else:
                        writer.add_stream(name, len(data), io.BytesIO(data), mode=mode)
                seen = False
            if member.is_dir:
                writer.add_dir(member.name, mode=member.mode, mtime=member.mtime)
            else:
                writer.add_stream(member.name, member.size, stream, mode=member.mode)
        assert reader.checksums is not None
        writer.finish(reader.checksums.rows)
    with tarfile.open(dst) as tf:  # the archive really asks for these modes
        assert tf.getmember(extra[0][0]).mode == extra[0][2]
    return dst


def test_files_get_pmcs_modes_never_the_archives(
    playout_pair: tuple[PlayoutHost, PlayoutHost], good: Path, tmp_path: Path
) -> None:
    """No setuid, setgid or sticky bit from a bundle; a file is executable only where the
    target's current file is."""
    _, backup = playout_pair
    carousel = backup.data_root / "carousel"
    (carousel / "start.sh").write_text("#!/bin/sh\necho old\n")
    (carousel / "start.sh").chmod(0o755)
    bundle = with_files(
        good,
        tmp_path / "modes.pmcbundle",
        [
            ("data/carousel/rootshell", b"\x7fELF pretend", 0o4755),
            ("data/carousel/group.sh", b"#!/bin/sh\n", 0o2775),
            ("data/carousel/start.sh", b"#!/bin/sh\necho new\n", 0o6755),
            ("data/carousel/drop", b"/", 0o1777),
        ],
    )
    _import(backup, tmp_path, bundle)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in carousel.iterdir()}
    assert modes["rootshell"] == 0o644
    assert modes["group.sh"] == 0o644
    assert modes["start.sh"] == 0o755  # executable before, so executable again
    assert modes["drop"] == 0o755
    assert (carousel / "start.sh").read_text() == "#!/bin/sh\necho new\n"
    for path in backup.data_root.rglob("*"):
        assert not stat.S_IMODE(path.stat().st_mode) & 0o7000, path
        assert stat.S_ISREG(path.stat().st_mode) or stat.S_ISDIR(path.stat().st_mode), path
        assert path.stat().st_uid == os.stat(backup.data_root).st_uid, path


def test_import_needs_no_superuser(
    playout_pair: tuple[PlayoutHost, PlayoutHost], good: Path, tmp_path: Path
) -> None:
    """A database user with only the rights to read and replace the tables' rows imports the
    bundle: the import needs nothing an operator typing the same rows would not."""
    main, backup = playout_pair
    with psycopg.connect(backup.dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE pmc_loader LOGIN NOSUPERUSER")
        conn.execute("GRANT SELECT, INSERT, DELETE ON ALL TABLES IN SCHEMA public TO pmc_loader")
    _import(backup, tmp_path, good, database_user="pmc_loader")
    assert main.table_digest(CONFIG_TABLES) == backup.table_digest(CONFIG_TABLES)


def test_sql_literals_are_quoted_by_psycopg(
    playout_pair: tuple[PlayoutHost, PlayoutHost], tmp_path: Path
) -> None:
    """A table name is quoted as a literal too (the row counts of a preview and a verify):
    a name with a quote in it is a name, not the end of the string."""
    main, _ = playout_pair
    name = "it's; DROP TABLE networks; --"
    with psycopg.connect(main.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE public."{name}" (x integer)')
        conn.execute(f'INSERT INTO public."{name}" VALUES (1), (2)')

    async def go() -> dict[str, int]:
        conn = main.connection(tmp_path / "kh-main")
        try:
            return await target_counts(conn, [name, "networks"])
        finally:
            await conn.close()

    try:
        counts = asyncio.run(go())
        assert counts[name] == 2 and counts["networks"] > 0
    finally:
        with psycopg.connect(main.dsn, autocommit=True) as conn:
            conn.execute(f'DROP TABLE IF EXISTS public."{name}"')


def test_the_imports_database_session_has_pmcs_session_limits(
    playout_pair: tuple[PlayoutHost, PlayoutHost], tmp_path: Path
) -> None:
    """The import's own session (psycopg through the tunnel) ends by itself when left idle in
    a transaction and waits a bounded time for a lock, as every session PMC opens does
    (pmc.catalog.SESSION_LIMITS); and it has none of the sync's settings: no statement time
    limit (one COPY over a slow link may take longer), the server's own date style (the
    members' dates are read as the server's psql wrote them)."""
    _, backup = playout_pair

    async def go() -> list[str]:
        conn = backup.connection(tmp_path / "kh-backup")
        try:
            async with target_database(conn) as pg:
                shown = []
                for setting in (
                    "idle_in_transaction_session_timeout", "lock_timeout", "statement_timeout",
                    "DateStyle",
                ):  # fmt: skip
                    row = pg.execute(f"SHOW {setting}").fetchone()
                    shown.append(str(row[0]) if row else "")
                return shown
        finally:
            await conn.close()

    with psycopg.connect(backup.dsn) as pg:  # the server's own setting
        row = pg.execute("SHOW DateStyle").fetchone()
    assert asyncio.run(go()) == ["5min", "1min", "0", str(row[0]) if row else "?"]
