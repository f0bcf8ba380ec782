"""Export from one server, import into another, over real SSH and PostgreSQL (no mocks)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import psycopg
import pytest

from pmc.bundle.archive_reader import verify_file
from pmc.bundle.export import ExportOptions, export_bundle
from pmc.bundle.import_preview import preview_import
from pmc.bundle.importer import ImportOptions, import_bundle
from pmc.bundle.preview import scan_bundle
from pmc.jobs import Job
from pmc.lab.playout import CONFIG_TABLES, EPG_TABLES, LOCAL_TABLES
from tests.bundle.conftest import PlayoutHost

pytestmark = pytest.mark.timeout(180)


async def _export(host: PlayoutHost, tmp: Path, out: Path, **kw: bool) -> None:
    conn = host.connection(tmp / f"kh-{host.name}")
    try:
        await export_bundle(conn, out, ExportOptions(**kw))
    finally:
        await conn.close()


async def _import(host: PlayoutHost, tmp: Path, bundle: Path, **kw: object) -> object:
    conn = host.connection(tmp / f"kh-{host.name}")
    try:
        return await import_bundle(
            conn,
            bundle,
            ImportOptions(backup_dir=tmp / "backups", restart=False, **kw),  # type: ignore[arg-type]
        )
    finally:
        await conn.close()


def test_export_then_import_config_tables_match(
    playout_pair: tuple[PlayoutHost, PlayoutHost], tmp_path: Path
) -> None:
    main, backup = playout_pair
    bundle = tmp_path / "main.pmcbundle"
    asyncio.run(_export(main, tmp_path, bundle))
    manifest, sums = verify_file(bundle)
    names = [t.name for t in manifest.tables]
    # the catalog's order is a valid FK order: the lab's own list is the oracle
    assert set(names) == set(CONFIG_TABLES)
    assert not set(names) & set(EPG_TABLES + LOCAL_TABLES)
    assert names.index("networks") < names.index("transport_streams") < names.index("dvb_services")
    assert names.index("carousels") < names.index("carousel_files")
    assert any(n.startswith("data/carousel/") for n in sums.members)
    assert "config/spoolers.json" in sums.members
    before_epg = backup.table_digest(EPG_TABLES + LOCAL_TABLES)
    result = asyncio.run(_import(backup, tmp_path, bundle))
    assert main.table_digest(CONFIG_TABLES) == backup.table_digest(CONFIG_TABLES)
    assert backup.table_digest(EPG_TABLES + LOCAL_TABLES) == before_epg
    # files arrived byte for byte, the old one is gone
    for key in ("carousel", "av", "ts"):
        ours = {
            p.relative_to(main.data_root / key): p.read_bytes()
            for p in (main.data_root / key).rglob("*")
            if p.is_file()
        }
        theirs = {
            p.relative_to(backup.data_root / key): p.read_bytes()
            for p in (backup.data_root / key).rglob("*")
            if p.is_file()
        }
        assert ours == theirs
    # another server's spoolers.json is not copied blindly
    assert "127.0.0.22" in (backup.config_dir / "spoolers.json").read_text()
    assert "skipped" in str(result.config_actions["spoolers.json"])  # type: ignore[attr-defined]
    assert result.backup.exists()  # type: ignore[attr-defined]
    assert not any(".pmc-" in p.name for p in backup.data_root.iterdir())


def test_with_epg_the_epg_matches_too(
    playout_pair: tuple[PlayoutHost, PlayoutHost], tmp_path: Path
) -> None:
    main, backup = playout_pair
    bundle = tmp_path / "main-epg.pmcbundle"
    asyncio.run(_export(main, tmp_path, bundle, epg=True, data=False))
    scan = scan_bundle(bundle)
    assert "eit_event" in [t.name for t in scan.manifest.tables]
    asyncio.run(_import(backup, tmp_path, bundle, addresses="adapt"))
    assert main.table_digest(CONFIG_TABLES + EPG_TABLES) == backup.table_digest(
        CONFIG_TABLES + EPG_TABLES
    )
    # adapted: main's addresses swapped for backup's
    spoolers = (backup.config_dir / "spoolers.json").read_text()
    assert "127.0.0.22" in spoolers and "127.0.0.21" not in spoolers
    assert (backup.config_dir / "replicate.conf").read_text().startswith("127.17.59.129")


def test_dry_run_preview_shows_the_difference(
    playout_pair: tuple[PlayoutHost, PlayoutHost], tmp_path: Path
) -> None:
    main, backup = playout_pair
    bundle = tmp_path / "main.pmcbundle"
    asyncio.run(_export(main, tmp_path, bundle))
    before = backup.tree_digest(), backup.table_digest(CONFIG_TABLES)

    async def go() -> str:
        conn = backup.connection(tmp_path / "kh")
        try:
            preview = await preview_import(conn, scan_bundle(bundle), ImportOptions())
            return preview.render()
        finally:
            await conn.close()

    text = asyncio.run(go())
    assert "dvb_services added" in text
    assert "data carousel:" in text and "removed" in text and "- old-app.html" in text
    assert "spoolers.json: skipped" in text
    assert (backup.tree_digest(), backup.table_digest(CONFIG_TABLES)) == before


def test_an_import_job_is_recorded_in_the_targets_audit_log(
    playout_pair: tuple[PlayoutHost, PlayoutHost], tmp_path: Path
) -> None:
    """One line on the target: the job, what was imported (parts, rows per table), and the
    config files written with the SHA-256 of their bytes before and after."""
    main, backup = playout_pair
    bundle = tmp_path / "main.pmcbundle"
    asyncio.run(_export(main, tmp_path, bundle, data=False))
    config = [backup.config_dir / name for name in ("spoolers.json", "replicate.conf")]
    before = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in config}

    async def go() -> str:
        job: Job[object] = Job(
            "import", "Import main.pmcbundle into backup",
            lambda ctx: _import(backup, tmp_path, bundle, addresses="adapt"),
        )  # fmt: skip
        await job.run()
        return job.id

    job_id = asyncio.run(go())
    after = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in config}
    (line,) = backup.audit_log.read_text().splitlines()
    entry = json.loads(line)
    assert entry["job"] == {"id": job_id, "kind": "import", "title": "Import main.pmcbundle"
                            " into backup"}  # fmt: skip
    assert (entry["server"], entry["result"]) == ("backup", "succeeded")
    assert entry["message"].startswith("imported main.pmcbundle into backup (")
    assert "(database, config) in " in entry["message"]
    assert {f["path"]: (f["before"], f["after"]) for f in entry["files"]} == {
        path: (before[path], after[path]) for path in before
    }
    imported = entry["imported"]
    assert (imported["bundle"], imported["parts"]) == ("main.pmcbundle", ["database", "config"])
    with psycopg.connect(backup.dsn) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
                  for t in CONFIG_TABLES}  # fmt: skip
    assert imported["rows"] == counts and sum(counts.values()) > 0
