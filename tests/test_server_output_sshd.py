"""What servers send back, read as the server's own tools print it (a real sshd on 127.0.0.1,
the machine's own awk, find and stat): sizes past what an awk prints as a whole number."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from pmc.bundle.export import DataListing, list_data
from pmc.bundle.preview import target_files
from tests.fixtures.sshd import ThrowawaySshd
from tests.remote.conftest import trusting_connection

pytestmark = pytest.mark.timeout(60)


def test_data_folders_over_2_gib_are_counted_whole(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    """mawk (Debian's and Ubuntu's awk, and this machine's) prints a sum past 2^31 as 3.2e+09;
    the export counted it with int() and failed with ValueError before it started."""
    folder = tmp_path / "av"
    folder.mkdir()
    for name, size in (("a.ts", 3 << 30), ("b.ts", (5 << 30) + 7)):
        subprocess.run(["truncate", "-s", str(size), str(folder / name)], check=True)  # sparse

    async def go() -> DataListing:
        conn = trusting_connection(sshd, tmp_path)
        try:
            return await list_data(conn, {"av": str(folder), "ts": str(tmp_path / "none")})
        finally:
            await conn.close()

    listing = asyncio.run(go())
    assert (listing.files, listing.bytes) == (2, (8 << 30) + 7)
    assert listing.present == {"av": str(folder)}


def test_a_file_name_with_a_new_line_is_listed_on_the_target(
    sshd: ThrowawaySshd, tmp_path: Path
) -> None:
    """The import preview listed the target's data files one per line: a name with a new line
    (tar and Playout keep it) failed the preview with ValueError (not enough values)."""
    folder = tmp_path / "carousel"
    (folder / "sub").mkdir(parents=True)
    (folder / "new\nline.ts").write_bytes(b"x" * 5)
    (folder / "sub" / "tab\there.ts").write_bytes(b"yy")
    os.utime(folder / "new\nline.ts", (1_700_000_000, 1_700_000_000))

    async def go() -> dict[str, tuple[int, int]]:
        conn = trusting_connection(sshd, tmp_path)
        try:
            return await target_files(conn, str(folder))
        finally:
            await conn.close()

    found = asyncio.run(go())
    assert found["new\nline.ts"] == (5, 1_700_000_000)
    assert found["sub/tab\there.ts"][0] == 2 and len(found) == 2
