"""Remote files against a throwaway sshd: atomic writes, backups, restores, streams."""

from __future__ import annotations

import asyncio
import io
import os
import tarfile
from pathlib import Path

import pytest

from pmc.remote import files
from pmc.remote.errors import ConnectionLost, RemoteFileError
from tests.fixtures.sshd import ThrowawaySshd
from tests.remote.conftest import trusting_connection
from tests.wait import wait_until_async


def test_text_that_is_not_utf8_round_trips_byte_for_byte(
    sshd: ThrowawaySshd, tmp_path: Path
) -> None:
    """read_text keeps a Latin-1 byte as a surrogate escape; write_atomic writes it back."""
    target = tmp_path / "sshd_config"
    raw = b"# G\xf3mez\nPermitRootLogin no\n"
    target.write_bytes(raw)

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            text = await files.read_text(conn, str(target))
            assert text == "# G\udcf3mez\nPermitRootLogin no\n"
            await files.write_atomic(conn, str(target), text + "X11Forwarding no\n")
        finally:
            await conn.close()

    asyncio.run(go())
    assert target.read_bytes() == raw + b"X11Forwarding no\n"


def test_write_keeps_owner_and_mode_and_backs_up(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    target = tmp_path / "cfg" / "spoolers.json"
    target.parent.mkdir()
    target.write_text("old\n")
    os.chown(target, 65534, 65534)
    target.chmod(0o640)

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            result = await files.write_atomic(conn, str(target), '{"new": true}\n')
            assert await files.read_text(conn, str(target)) == '{"new": true}\n'
            assert result.backup is not None
            assert result.backup.startswith(f"{target}.pmc-backup-")
            backups = [str(p) for p in target.parent.glob(f"{target.name}.pmc-backup-*")]
            assert backups == [result.backup]
            assert Path(result.backup).read_text() == "old\n"
            stat = target.stat()
            assert (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) == (65534, 65534, 0o640)
            # a second write in the same second gets its own backup
            second = await files.write_atomic(conn, str(target), "third\n")
            assert second.backup not in (None, result.backup)
            await files.restore_backup(conn, str(target), result.backup)
            assert target.read_text() == "old\n"
            assert [p.name for p in target.parent.iterdir() if "pmc-tmp" in p.name] == []
        finally:
            await conn.close()

    asyncio.run(go())


def test_new_file_gets_the_given_mode(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    target = tmp_path / "new.conf"

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            result = await files.write_atomic(conn, str(target), b"x", new_mode=0o600)
            assert result.backup is None
            assert target.stat().st_mode & 0o777 == 0o600
            with pytest.raises(RemoteFileError, match="does not exist"):
                await files.write_atomic(conn, str(tmp_path / "nope" / "f"), b"x")
            with pytest.raises(RemoteFileError, match="not an absolute path"):
                await files.write_atomic(conn, "relative/f", b"x")
        finally:
            await conn.close()

    asyncio.run(go())


def writing(folder: Path) -> bool:
    """A temporary file of an atomic write in ``folder`` has received data."""
    return any("pmc-tmp" in p.name and p.stat().st_size for p in folder.iterdir())


def test_interrupted_write_leaves_the_old_file(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    target = folder / "big.bin"
    target.write_bytes(b"original")

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            task = asyncio.create_task(files.write_atomic(conn, str(target), b"n" * 300_000_000))
            await wait_until_async(
                lambda: writing(folder),
                timeout=60,
                ignoring=(FileNotFoundError,),
                what="the temporary file",
            )
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await wait_until_async(  # the remote trap removes its temporary file as it exits
                lambda: not any("pmc-tmp" in p.name for p in folder.iterdir()),
                timeout=30,
                what="the temporary file to go",
            )
            assert target.read_bytes() == b"original"
            assert sorted(p.name for p in folder.iterdir()) == ["big.bin"]
        finally:
            await conn.close()

    asyncio.run(go())


def test_cut_connection_during_write_leaves_the_old_file(
    sshd: ThrowawaySshd, tmp_path: Path
) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    target = folder / "big.bin"
    target.write_bytes(b"original")

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            task = asyncio.create_task(files.write_atomic(conn, str(target), b"n" * 300_000_000))
            await wait_until_async(
                lambda: writing(folder),
                timeout=60,
                ignoring=(FileNotFoundError,),
                what="the temporary file",
            )
            await asyncio.to_thread(sshd.stop)
            with pytest.raises(ConnectionLost):
                await task
            assert target.read_bytes() == b"original"
        finally:
            await conn.close()

    asyncio.run(go())


def test_tree_and_file_streams(sshd: ThrowawaySshd, tmp_path: Path) -> None:
    source = tmp_path / "tree"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("alpha")
    (source / "sub" / "b.bin").write_bytes(os.urandom(3_000_000))
    target = tmp_path / "copy"
    target.mkdir()

    async def go() -> None:
        conn = trusting_connection(sshd, tmp_path)
        try:
            stream = b"".join([c async for c in files.download_tree(conn, str(source))])
            with tarfile.open(fileobj=io.BytesIO(stream)) as tar:
                names = sorted(m.name for m in tar.getmembers())
            assert names == [".", "./a.txt", "./sub", "./sub/b.bin"]

            async def chunks() -> object:
                for i in range(0, len(stream), 100_000):
                    yield stream[i : i + 100_000]

            await files.upload_tree(conn, str(target), chunks())  # type: ignore[arg-type]
            assert (target / "sub" / "b.bin").read_bytes() == (
                source / "sub" / "b.bin"
            ).read_bytes()
            data = b"".join([c async for c in files.download_file(conn, str(source / "sub/b.bin"))])
            assert data == (source / "sub" / "b.bin").read_bytes()
            assert await files.read_bytes(conn, str(source / "a.txt")) == b"alpha"
            with pytest.raises(RemoteFileError, match="does not exist"):
                await files.read_bytes(conn, str(source / "missing"))
        finally:
            await conn.close()

    asyncio.run(go())
