"""Big data files exported as parts over several connections (real OpenSSH and PostgreSQL).

Parts are made small here (64 KiB, files from 128 KiB) so that a few megabytes of data give
many parts over every stream; the bundle must be the one a single ``tar`` stream gives: the
same members with the same sizes, checksums, modes and times.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest

from pmc.bundle import parts
from pmc.bundle.archive_reader import BundleReader, verify_file
from pmc.bundle.export import ExportOptions, export_bundle
from pmc.bundle.manifest import MemberSum
from pmc.bundle.pipe import start_all
from pmc.bundle.read_ahead import ReadAhead
from pmc.errors import PmcError
from pmc.remote.connection import Connection
from pmc.remote.host_keys import KnownHosts, TrustFingerprints
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


def test_every_stream_reads_ahead_within_its_bound_and_stops_when_closed(
    playout_pair: tuple[PlayoutHost, PlayoutHost],
    tmp_path: Path,
    small_parts: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read in order straight from the pipes, a stream waits for its turn once SSH's window
    is full; read ahead, every stream holds its next parts while the first is still being
    read — and no more than its bound (two parts here, of the ten each stream has). The
    file still comes whole, in order; closing midway stops every stream's thread."""
    main, _ = playout_pair
    monkeypatch.setattr(parts, "AHEAD_PARTS", 2)
    data = os.urandom(20 * PART)
    folder = main.data_root / "long"  # this file alone
    folder.mkdir()
    (folder / "long.ts").write_bytes(data)
    held: list[int] = []

    async def go() -> list[ReadAhead]:
        conn = main.connection(tmp_path / "known_hosts")
        streams: parts.PartStreams | None = None
        try:
            plan = await parts.plan(conn, {"long": str(folder)}, streams=2)
            assert [f.rel for f in plan.files["long"]] == ["long.ts"]
            streams = parts.PartStreams(conn, plan)
            await streams.start()
            reader = streams.reader(streams.order[0])
            got = reader.read(1024)
            deadline = time.monotonic() + 20
            while any(ahead.waiting < 2 * PART for ahead in streams.ahead):
                assert time.monotonic() < deadline, "a stream did not read its next part"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # time to read far more than the bound, were there none
            held.extend(ahead.waiting for ahead in streams.ahead)
            while len(got) < 13 * PART:
                got += reader.read(PART)
            assert got == data[: len(got)]
            return streams.ahead
        finally:
            if streams is not None:
                await streams.close(failed=True)
            await conn.close()

    stopped = asyncio.run(go())
    assert len(stopped) == 2
    assert all(n <= 4 * PART for n in held), held  # the bound, a read more, a read taken
    assert not any(ahead.thread.is_alive() for ahead in stopped)


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
    assert parts.choose_streams(parts.Ends(8, 2, shared=False), big) == 2
    assert parts.choose_streams(parts.Ends(2, 16, shared=False), big) == 2
    assert parts.choose_streams(parts.Ends(16, 16, shared=False), big) == parts.MAX_STREAMS
    assert parts.choose_streams(parts.Ends(16, 16, shared=False), big - 1) == 1  # too little
    assert parts.choose_streams(parts.Ends(1, 1, shared=False), big) == 1
    # one machine at both ends: each stream takes two of its cores
    assert parts.choose_streams(parts.Ends(2, 2, shared=True), big) == 1
    assert parts.choose_streams(parts.Ends(6, 6, shared=True), big) == 3
    assert parts.choose_streams(parts.Ends(16, 16, shared=True), big) == parts.MAX_STREAMS


def test_a_server_on_this_machine_shares_its_cores_another_does_not(
    playout_pair: tuple[PlayoutHost, PlayoutHost],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The throwaway server runs on this kernel: PMC sees one machine at both ends (one
    stream on two cores); the same server seen from a machine with another kernel does not."""
    main, _ = playout_pair
    (main.data_root / "av" / "big.ts").write_bytes(os.urandom(1 << 20))
    monkeypatch.setattr(parts, "BIG", 1 << 19)
    monkeypatch.setattr(parts, "MIN_TOTAL", 1 << 20)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)

    async def look() -> tuple[parts.Ends, int]:
        conn = main.connection(tmp_path / "known_hosts")
        try:
            found = await parts.ends(conn)
            plan = await parts.plan(conn, {"av": str(main.data_root / "av")})
            return found, plan.streams
        finally:
            await conn.close()

    here, streams = asyncio.run(look())
    assert here == parts.Ends(2, len(os.sched_getaffinity(0)), shared=True)
    assert streams == 1
    other = tmp_path / "boot_id"
    other.write_text("another machine's running kernel\n")
    monkeypatch.setattr(parts, "BOOT_ID", other)
    there, streams = asyncio.run(look())
    assert there == parts.Ends(2, here.remote_cores, shared=False)
    assert streams == min(2, here.remote_cores)  # one per core at the slower end


def test_streams_start_together_and_all_or_none(
    playout_pair: tuple[PlayoutHost, PlayoutHost], tmp_path: Path, bulk_client: str
) -> None:
    """The streams start at once; when one of them cannot (here: its connection trusts no
    host key), those that did start are stopped on the server and its error is raised."""
    main, _ = playout_pair
    token = f"{os.getpid() % 1000}.{time.time_ns() % 1000}"  # sleep's argument: this test's

    def sleeping() -> list[str]:
        found = subprocess.run(["pgrep", "-f", f"sleep 3{token}"], check=False, capture_output=True)
        return found.stdout.decode().split()

    async def go() -> None:
        good = main.connection(tmp_path / "known_hosts")
        stranger = Connection(
            main.server(),
            cluster="lab",
            known_hosts=KnownHosts(tmp_path / "no_known_hosts"),
            trust=TrustFingerprints([]),
        )
        argv = ["sleep", f"3{token}"]
        try:
            with pytest.raises(PmcError) as caught:
                await start_all([(good, argv), (good, argv), (stranger, argv)])
            assert "host key" in str(caught.value).lower()
        finally:
            await good.close()
            await stranger.close()

    asyncio.run(go())
    deadline = time.monotonic() + 15
    while sleeping():
        assert time.monotonic() < deadline, f"streams left running: {sleeping()}"
        time.sleep(0.2)
