"""The import's big data files sent in parts over several connections (real OpenSSH and
PostgreSQL): the target gets every file byte for byte with its mode and time, as through one
``tar`` stream, and a damaged big file is still refused before anything live changes.

Parts are made small here (64 KiB, files from 128 KiB, in parts from 256 KiB in all) so that a
few megabytes give many parts over every stream.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from pmc.bundle.errors import BundleError
from pmc.bundle.export import ExportOptions, export_bundle
from pmc.bundle.import_parts import BigMember, PartSenders
from pmc.bundle.importer import ImportOptions, import_bundle
from pmc.errors import PmcError
from tests.bundle.conftest import PART, PlayoutHost, logins, stream_logins
from tests.bundle.test_data_checked_on_import import flip

pytestmark = pytest.mark.timeout(180)


def _add_big_files(host: PlayoutHost) -> dict[str, bytes]:
    """Big files: sizes off the part size, a name with spaces and brackets, a sub-folder
    that only a big file is in, and small files beside them (which stay with tar)."""
    files = {
        "av/odd size.ts": os.urandom(5 * PART // 2 + 7),
        "av/new sub/st*r [x].ts": os.urandom(2 * PART),
        "ts/exactly-three-parts.ts": os.urandom(3 * PART),
        "ts/small.txt": b"small\n",
    }
    for rel, data in files.items():
        path = host.data_root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    os.utime(host.data_root / "ts" / "exactly-three-parts.ts", (1_700_000_000, 1_700_000_000))
    return files


async def export_from(host: PlayoutHost, tmp: Path, out: Path) -> None:
    conn = host.connection(tmp / "kh-main")
    try:
        await export_bundle(conn, out, ExportOptions(streams=1))
    finally:
        await conn.close()


async def import_into(
    host: PlayoutHost, tmp: Path, bundle: Path, streams: int | None = None
) -> None:
    conn = host.connection(tmp / "kh-backup")
    try:
        options = ImportOptions(backup_dir=tmp / "backups", restart=False, streams=streams)
        await import_bundle(conn, bundle, options)
    finally:
        await conn.close()


def _exported(main: PlayoutHost, tmp: Path) -> tuple[dict[str, bytes], Path]:
    """Big files added to ``main``'s data folders, then exported (one stream): the files
    and the bundle."""
    files = _add_big_files(main)
    bundle = tmp / "main.pmcbundle"
    asyncio.run(export_from(main, tmp, bundle))
    return files, bundle


def _tree(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """rel → (mode, mtime, content) of every file under ``root``."""
    return {
        str(p.relative_to(root)): (
            p.stat().st_mode & 0o7777,
            int(p.stat().st_mtime),
            p.read_bytes(),
        )
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_big_files_arrive_in_parts_over_two_connections_as_through_one_stream(
    playout_pair: tuple[PlayoutHost, PlayoutHost],
    tmp_path: Path,
    small_parts: None,
    bulk_client: str,
) -> None:
    main, backup = playout_pair
    files, bundle = _exported(main, tmp_path)
    before = logins(backup)
    asyncio.run(import_into(backup, tmp_path, bundle))
    assert logins(backup) - before == stream_logins(bulk_client, 2)
    ours, theirs = _tree(main.data_root), _tree(backup.data_root)
    for rel, data in files.items():
        assert theirs[rel][2] == data, rel
        assert theirs[rel][0] == 0o644, rel  # PMC's mode, never the archive's
    assert theirs["ts/exactly-three-parts.ts"][1] == 1_700_000_000
    assert {r: (t, d) for r, (_, t, d) in theirs.items()} == {
        r: (t, d) for r, (_, t, d) in ours.items()
    }
    assert not [p for p in backup.data_root.parent.rglob("*.pmc-*")]  # nothing staged left


def test_a_damaged_big_file_is_refused_and_the_target_stays_as_it_was(
    playout_pair: tuple[PlayoutHost, PlayoutHost], tmp_path: Path, small_parts: None
) -> None:
    main, backup = playout_pair
    files, bundle = _exported(main, tmp_path)
    before = _tree(backup.data_root)
    flip(bundle, files["ts/exactly-three-parts.ts"][:64], at=2 * PART + 5)  # in a late part
    with pytest.raises(BundleError) as caught:
        asyncio.run(import_into(backup, tmp_path, bundle))
    assert "exactly-three-parts.ts" in str(caught.value)
    assert _tree(backup.data_root) == before
    assert not [p for p in backup.data_root.parent.rglob("*.pmc-*")]
    assert not [t for t in threading.enumerate() if t.name.startswith("pmc-import-part")]


def test_one_stream_asked_for_sends_every_file_through_tar(
    playout_pair: tuple[PlayoutHost, PlayoutHost],
    tmp_path: Path,
    small_parts: None,
    bulk_client: str,
) -> None:
    main, backup = playout_pair
    files, bundle = _exported(main, tmp_path)
    before = logins(backup)
    asyncio.run(import_into(backup, tmp_path, bundle, streams=1))
    assert logins(backup) - before == stream_logins(bulk_client, 1)
    theirs = _tree(backup.data_root)
    assert {rel: theirs[rel][2] for rel in files} == files


def test_a_big_file_short_on_the_server_fails_the_import_before_the_swap(
    playout_pair: tuple[PlayoutHost, PlayoutHost], tmp_path: Path
) -> None:
    _, backup = playout_pair
    staged = backup.data_root / "ts" / "short.ts"
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(b"x" * 10)
    member = BigMember("data/ts/short.ts", str(staged), 11, 0o644, 1_700_000_000)

    async def settle() -> None:
        conn = backup.connection(tmp_path / "kh-backup")
        try:
            await PartSenders(conn, [member], 1).settle()
        finally:
            await conn.close()

    with pytest.raises(PmcError) as caught:
        asyncio.run(settle())
    assert "has 10 of its 11 bytes" in str(caught.value)
