"""Bad bundles are refused with their own message and the target stays byte-for-byte the same;
a connection killed in the middle of an import leaves the target as it was.

Real OpenSSH and PostgreSQL (see conftest.py); nothing is mocked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import io
import subprocess
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pmc.bundle import errors
from pmc.bundle.archive_reader import BundleReader
from pmc.bundle.archive_writer import BundleWriter
from pmc.bundle.importer import ImportOptions, import_bundle
from pmc.bundle.manifest import Manifest, TableSpec
from pmc.errors import PmcError
from pmc.jobs import EventKind, Job, JobContext, JobEvent
from pmc.lab.playout import CONFIG_TABLES, EPG_TABLES, LOCAL_TABLES
from tests.bundle.conftest import PlayoutHost

pytestmark = pytest.mark.timeout(300)
ALL_TABLES = CONFIG_TABLES + EPG_TABLES + LOCAL_TABLES


def rewrite(
    src: Path,
    dst: Path,
    manifest: Callable[[Manifest], Manifest] = lambda m: m,
    tables: Callable[[str, bytes], bytes] | None = None,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """A copy of ``src`` with its manifest (and, with ``tables``, the data of each table
    member) changed, and ``extra`` table members (name: data) added after its own;
    checksums and row counts recomputed: a *valid* bundle."""
    with src.open("rb") as raw, dst.open("wb") as out:
        reader = BundleReader(raw, where=str(src))
        writer = BundleWriter(out)
        writer.write_manifest(manifest(reader.manifest))
        rows = {}
        for member, stream in reader.members():
            if member.is_dir:
                writer.add_dir(member.name, mode=member.mode, mtime=member.mtime)
            elif tables is not None and member.name.startswith("db/"):
                data = tables(member.name, stream.read(1 << 30))
                writer.add_bytes(member.name, data)
                rows[member.name[3:-5]] = data.count(b"\n")
            else:
                writer.add_stream(member.name, member.size, stream, mode=member.mode)
            if member.name.startswith("db/") and extra:  # the tables come together
                for name, data in extra.items():
                    writer.add_bytes(name, data)
                    rows[name[3:-5]] = data.count(b"\n")
                extra = None
        assert reader.checksums is not None
        writer.finish({**reader.checksums.rows, **rows})
    return dst


def raw_tar(good: Path, dst: Path, extra: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(good) as tf:
        manifest = tf.extractfile("manifest.json").read()  # type: ignore[union-attr]
    with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tf.addfile(info, io.BytesIO(manifest))
        for info, data in extra:
            tf.addfile(info, io.BytesIO(data) if data else None)
    return dst


def _reg(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _bad_bundles(good: Path, tmp: Path) -> dict[str, tuple[Path, type[PmcError], str]]:
    data = good.read_bytes()
    (tmp / "not.pmcbundle").write_bytes(b"PK\x03\x04 a zip, not a bundle" + bytes(4096))
    (tmp / "truncated.pmcbundle").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    pos = flipped.index(b"Icareus Playout lab sample carousel")
    flipped[pos] ^= 0x01
    (tmp / "flipped.pmcbundle").write_bytes(bytes(flipped))
    flipped = bytearray(data)
    flipped[flipped.index(b"Icareus Network 1")] ^= 0x01
    (tmp / "flipped-table.pmcbundle").write_bytes(bytes(flipped))
    link = tarfile.TarInfo("data/carousel/escape")
    link.type = tarfile.SYMTYPE
    link.linkname = "../../../../etc"
    zeros = tmp / "zeros.tar"
    with zeros.open("wb") as out:
        writer = BundleWriter(out)
        with good.open("rb") as raw:
            writer.write_manifest(BundleReader(raw, where="good").manifest)

        class Zeros:
            def read(self, n: int = -1, /) -> bytes:
                return bytes(max(0, min(n, 1 << 20)))

        writer.add_stream("data/av/zeros.ts", 400 << 20, Zeros())
        writer.finish({})
    (tmp / "bomb.pmcbundle").write_bytes(gzip.compress(zeros.read_bytes(), compresslevel=1))
    zeros.unlink()

    def newer_column(m: Manifest) -> Manifest:
        tables = tuple(
            dataclasses.replace(t, columns=(*t.columns, ("dvb_t2_profile", "integer")))
            if t.name == "dvb_services"
            else t
            for t in m.tables
        )
        return dataclasses.replace(m, tables=tables)

    return {
        "not a bundle": (tmp / "not.pmcbundle", errors.NotABundle, "not a PMC bundle"),
        "truncated": (tmp / "truncated.pmcbundle", errors.TruncatedBundle, "truncated"),
        "checksum": (  # a data file: found as it streams into the staging folder
            tmp / "flipped.pmcbundle",
            errors.ChecksumMismatch,
            "does not match its checksum",
        ),
        "table checksum": (  # found before the target is touched
            tmp / "flipped-table.pmcbundle",
            errors.ChecksumMismatch,
            "'db/networks.copy' does not match its checksum",
        ),
        "format version": (
            rewrite(
                good, tmp / "v99.pmcbundle", lambda m: dataclasses.replace(m, format_version=99)
            ),
            errors.UnknownFormatVersion,
            "format version 99 is not supported",
        ),
        "newer schema": (
            rewrite(
                good,
                tmp / "newer.pmcbundle",
                newer_column,
                lambda name, data: (
                    data.replace(b"\n", b"\t\\N\n") if name == "db/dvb_services.copy" else data
                ),
            ),
            errors.NewerSchema,
            "dvb_services.dvb_t2_profile",
        ),
        "newer playout": (
            rewrite(
                good,
                tmp / "newer-playout.pmcbundle",
                lambda m: dataclasses.replace(
                    m,
                    source=dataclasses.replace(m.source, playout_version="99.1"),
                    tables=(*m.tables, TableSpec("ott_channels", "database", (("id", "integer"),))),
                ),
                extra={"db/ott_channels.copy": b"1\n"},
            ),
            errors.NewerSchema,
            "ott_channels",
        ),
        "traversal": (
            raw_tar(good, tmp / "dotdot.pmcbundle", [_reg("data/carousel/../../../../tmp/evil")]),
            errors.UnsafePath,
            "unsafe path",
        ),
        "absolute": (
            raw_tar(good, tmp / "abs.pmcbundle", [_reg("/etc/cron.d/evil")]),
            errors.UnsafePath,
            "unsafe path",
        ),
        "link": (
            raw_tar(good, tmp / "link.pmcbundle", [(link, b"")]),
            errors.UnsafePath,
            "is a link",
        ),
        "bomb": (tmp / "bomb.pmcbundle", errors.DecompressionBomb, "decompression bomb"),
        "duplicate": (
            raw_tar(good, tmp / "dup.pmcbundle", [_reg("data/ts/a.ts"), _reg("data/ts/a.ts")]),
            errors.DuplicateMember,
            "more than once",
        ),
    }


async def _import(
    host: PlayoutHost, tmp: Path, bundle: Path, ctx: JobContext | None = None
) -> object:
    conn = host.connection(tmp / f"kh-{host.name}")
    try:
        return await import_bundle(
            conn, bundle, ImportOptions(backup_dir=tmp / "backups", restart=False), ctx
        )
    finally:
        await conn.close()


def test_each_bad_bundle_is_refused_and_the_target_is_unchanged(
    playout_pair: tuple[PlayoutHost, PlayoutHost], good: Path, tmp_path: Path
) -> None:
    _, backup = playout_pair
    cases = _bad_bundles(good, tmp_path)
    before = backup.tree_digest(), backup.table_digest(ALL_TABLES)
    messages = set()
    for label, (path, kind, text) in cases.items():
        with pytest.raises(kind) as info:
            asyncio.run(_import(backup, tmp_path, path))
        message = str(info.value)
        assert text in message, (label, message)
        assert "Nothing was changed" in message, (label, message)
        messages.add(message)
        assert (backup.tree_digest(), backup.table_digest(ALL_TABLES)) == before, label
        if label == "checksum":  # refused as it streamed: staging and backup removed
            assert not list((tmp_path / "backups").iterdir()), label
            (tmp_path / "backups").rmdir()
        else:
            assert not (tmp_path / "backups").exists(), label  # refused before any work
    assert len(messages) == len(cases)


def test_bundle_bigger_than_free_space_is_refused(
    playout_pair: tuple[PlayoutHost, PlayoutHost], good: Path, tmp_path: Path
) -> None:
    _, backup = playout_pair
    small = backup.data_root / "av"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(small)], check=True)
    try:
        before = backup.tree_digest(), backup.table_digest(ALL_TABLES)
        with pytest.raises(errors.NotEnoughSpace, match="are free on the target"):
            asyncio.run(_import(backup, tmp_path, good))
        assert (backup.tree_digest(), backup.table_digest(ALL_TABLES)) == before
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_connection_killed_halfway_through_an_import_restores_the_target(
    playout_pair: tuple[PlayoutHost, PlayoutHost], good: Path, tmp_path: Path
) -> None:
    _, backup = playout_pair
    before = backup.tree_digest(), backup.table_digest(ALL_TABLES)
    killed = threading.Event()

    def kill_sshd() -> None:
        backup.sshd.stop(all_sessions=True)  # every session dies, as on a network cut
        backup.sshd.start()

    said: list[str] = []

    def on_event(event: JobEvent) -> None:
        said.append(event.message)
        if (
            event.kind is EventKind.PROGRESS
            and event.message.startswith("Importing")
            and event.fraction is not None
            and event.fraction > 0.3
            and not killed.is_set()
        ):
            killed.set()
            threading.Thread(target=kill_sshd).start()

    async def go() -> object:
        job: Job[object] = Job("import", "import", lambda ctx: _import(backup, tmp_path, good, ctx))
        job.subscribe(on_event)
        return await job.run()

    with pytest.raises(PmcError):
        asyncio.run(go())
    assert killed.is_set()
    assert (backup.tree_digest(), backup.table_digest(ALL_TABLES)) == before
    # the rollback ran under the cluster lock again (its holder had ended with the session)
    assert any("the cluster lock was taken again after the dropped connection" in m for m in said)
