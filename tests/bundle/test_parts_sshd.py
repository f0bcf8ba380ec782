"""Big data files exported as parts over several connections (real OpenSSH and PostgreSQL).

Parts are made small here (64 KiB, files from 128 KiB) so that a few megabytes of data give
many parts over every stream; the bundle must be the one a single ``tar`` stream gives: the
same members with the same sizes, checksums, modes and times.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from pmc.bundle import parts
from pmc.bundle.archive_reader import BundleReader, verify_file
from pmc.bundle.export import ExportOptions, export_bundle
from pmc.bundle.manifest import MemberSum
from pmc.errors import PmcError
from tests.bundle.conftest import PART, PlayoutHost, logins, stream_logins

pytestmark = pytest.mark.timeout(180)


def _add_big_files(host: PlayoutHost) -> dict[str, bytes]:
    """Big files in awkward places: sizes off the part size, names tar would read as
    patterns, a sub-folder, and one name with a newline (which stays with tar)."""
    files = {
        "av/odd size.ts": os.urandom(5 * PART // 2 + 7),
        "av/sub dir/st*r [x].ts": os.urandom(2 * PART),
        "ts/exactly-three-parts.ts": os.urandom(3 * PART),
        "carousel/new\nline.ts": os.urandom(3 * PART + 1),
    }
    for rel, data in files.items():
        path = host.data_root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (host.data_root / "av" / "odd size.ts").chmod(0o600)
    os.utime(host.data_root / "ts" / "exactly-three-parts.ts", (1_700_000_000, 1_700_000_000))
    return files


def _members(bundle: Path) -> dict[str, tuple[int, int, int, str]]:
    """name → (size, mode, mtime, sha256) of every member; the times of the members that an
    export makes (manifest, tables, config) are its own, so they count as 0."""
    _, sums = verify_file(bundle)
    with bundle.open("rb") as raw:
        reader = BundleReader(raw, where=str(bundle))
        found = {
            m.name: (m.size, m.mode, m.mtime if m.name.startswith("data/") else 0)
            for m, _ in reader.members()
        }
    return {
        name: (*found[name], sums.members.get(name, MemberSum(0, "folder")).sha256)
        for name in found
    }


async def _export(host: PlayoutHost, tmp: Path, out: Path, streams: int) -> None:
    conn = host.connection(tmp / "known_hosts")
    try:
        await export_bundle(conn, out, ExportOptions(streams=streams))
    finally:
        await conn.close()


def test_parts_over_three_connections_give_the_bundle_of_one_stream(
    playout_pair: tuple[PlayoutHost, PlayoutHost],
    tmp_path: Path,
    small_parts: None,
    bulk_client: str,
) -> None:
    main, _ = playout_pair
    files = _add_big_files(main)
    one, three = tmp_path / "one.pmcbundle", tmp_path / "three.pmcbundle"
    asyncio.run(_export(main, tmp_path, one, streams=1))
    before = logins(main)
    asyncio.run(_export(main, tmp_path, three, streams=3))
    assert logins(main) - before == stream_logins(bulk_client, 3)
    expected = _members(one)
    assert _members(three) == expected
    for rel, data in files.items():
        assert expected[f"data/{rel}"][0] == len(data)
    assert expected["data/av/odd size.ts"][1] == 0o600
    assert expected["data/ts/exactly-three-parts.ts"][2] == 1_700_000_000


def test_a_file_that_changes_while_it_is_read_in_parts_fails(
    playout_pair: tuple[PlayoutHost, PlayoutHost], tmp_path: Path, small_parts: None
) -> None:
    main, _ = playout_pair
    _add_big_files(main)
    grown = main.data_root / "ts" / "exactly-three-parts.ts"

    async def go() -> None:
        conn = main.connection(tmp_path / "known_hosts")
        streams: parts.PartStreams | None = None
        try:
            plan = await parts.plan(conn, {"ts": str(main.data_root / "ts")}, streams=2)
            with grown.open("ab") as f:  # it grows after it was listed
                f.write(b"more")
            streams = parts.PartStreams(conn, plan)
            await streams.start()

            def read_all() -> None:
                assert streams is not None
                for file in streams.order:
                    reader = streams.reader(file)
                    while reader.read(1 << 20):
                        pass
                streams.finish()

            await conn.in_thread(conn.executors.transfers, read_all)
        finally:
            if streams is not None:
                await streams.close(failed=True)
            await conn.close()

    with pytest.raises(PmcError) as caught:
        asyncio.run(go())
    assert f"{grown} changed while it was read" in str(caught.value)


def test_an_extra_stream_that_cannot_log_in_leaves_one_stream_and_the_same_bundle(
    playout_pair: tuple[PlayoutHost, PlayoutHost], tmp_path: Path, small_parts: None
) -> None:
    main, _ = playout_pair
    _add_big_files(main)
    one, fewer = tmp_path / "one.pmcbundle", tmp_path / "fewer.pmcbundle"
    asyncio.run(_export(main, tmp_path, one, streams=1))
    authorized = main.sshd.root / "authorized_keys"
    keys = authorized.read_text()

    async def go() -> None:
        conn = main.connection(tmp_path / "known_hosts")
        try:
            await conn.transport()
            authorized.write_text("")  # logins from now on are refused
            await export_bundle(conn, fewer, ExportOptions(streams=3))
        finally:
            authorized.write_text(keys)
            await conn.close()

    asyncio.run(go())
    assert _members(fewer) == _members(one)


def test_streams_follow_the_cores_of_both_ends_and_the_size() -> None:
    big = parts.MIN_TOTAL
    assert parts.choose_streams(8, 2, big) == 2
    assert parts.choose_streams(2, 16, big) == 2
    assert parts.choose_streams(16, 16, big) == parts.MAX_STREAMS
    assert parts.choose_streams(16, 16, big - 1) == 1  # too little to gain
    assert parts.choose_streams(1, 1, big) == 1
