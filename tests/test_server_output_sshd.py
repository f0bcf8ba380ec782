"""What servers send back, read as the server's own tools print it (a real sshd on 127.0.0.1,
the machine's own awk, find and stat): sizes past what an awk prints as a whole number."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from pmc.bundle.export import DataListing, list_data
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
