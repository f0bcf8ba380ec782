"""The server's side of an import's big files in parts (:mod:`pmc.bundle.import_parts`), run
as PMC runs it over a real sshd: a stream whose data ends early — its connection cut, as on a
pulled cable — stops at the part it was writing. It must not go on through its list: each
folder and empty file it made after the cut could come back after the import's rollback had
removed the staging folder, and the target would keep them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pmc.bundle.import_parts import _WRITE_SCRIPT
from pmc.remote import commands
from pmc.remote.commands import CommandResult
from tests.fixtures.sshd import ThrowawaySshd
from tests.remote.conftest import trusting_connection

PART = 8  # bytes per part here (PMC's are 8 MiB): the files below take 2, 1 and 2 parts


def _write(sshd: ThrowawaySshd, tmp_path: Path, data: bytes, stage: Path) -> CommandResult:
    files = [(16, stage / "a" / "one.ts"), (5, stage / "b" / "two.ts"), (16, stage / "c" / "3.ts")]
    listed = [str(x) for size, path in files for x in (size, path)]
    argv = ["sh", "-c", _WRITE_SCRIPT, "pmc", str(PART), "1", "0", *listed]

    async def go() -> CommandResult:
        conn = trusting_connection(sshd, tmp_path)
        try:
            return await commands.run(conn, argv, input=data)
        finally:
            await conn.close()

    return asyncio.run(go())


def test_a_stream_whose_data_is_all_there_writes_every_file(
    sshd: ThrowawaySshd, tmp_path: Path
) -> None:
    stage = tmp_path / "av.pmc-stage-t"
    data = bytes(range(16)) + b"ABCDE" + bytes(range(100, 116))
    result = _write(sshd, tmp_path, data, stage)
    assert result.exit_status == 0, result.stderr
    assert (stage / "a" / "one.ts").read_bytes() == data[:16]
    assert (stage / "b" / "two.ts").read_bytes() == b"ABCDE"  # a last part of 5 bytes
    assert (stage / "c" / "3.ts").read_bytes() == data[21:]


def test_a_stream_whose_data_ends_early_stops_at_the_part_it_was_writing(
    sshd: ThrowawaySshd, tmp_path: Path
) -> None:
    stage = tmp_path / "av.pmc-stage-t"
    result = _write(sshd, tmp_path, bytes(range(12)), stage)  # one.ts's second part cut
    assert result.exit_status != 0
    assert "ended in its part at byte 8" in result.stderr
    assert (stage / "a" / "one.ts").read_bytes() == bytes(range(12))
    assert sorted(p.name for p in stage.iterdir()) == ["a"]  # nothing made after the cut
