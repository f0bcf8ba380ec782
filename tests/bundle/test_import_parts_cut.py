"""An import whose big data files go in parts over two connections, one cut while
the parts stream (its sshd session process killed on the server; real OpenSSH and
PostgreSQL): the import fails naming the server and saying nothing live was changed, the
target stays byte for byte as it was, no sender thread or connection is left, and the same
import again succeeds and leaves no staging folder.

The bundle's big files are held back (the loader waits in the middle of a part of stream 1)
until the test has cut that stream, so the cut comes mid-stream whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import paramiko
import pytest

from pmc.bundle import import_parts
from pmc.bundle.import_parts import BigMember, PartSenders
from pmc.errors import PmcError
from pmc.lab.playout import CONFIG_TABLES, EPG_TABLES
from tests.bundle.conftest import PART, PlayoutHost
from tests.bundle.test_import_parts_sshd import export_from, import_into
from tests.fixtures.sshd import process_children
from tests.wait import wait_until

pytestmark = pytest.mark.timeout(180)


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _stream_script(host: PlayoutHost, index: int) -> int | None:
    """The pid of the remote script writing stream ``index``'s parts, if running."""
    children, todo = process_children(), [host.sshd.process.pid]
    while todo:
        pid = todo.pop()
        argv = _cmdline(pid)
        if argv[:2] == ["sh", "-c"] and argv[3:7] == ["pmc", str(PART), "2", str(index)]:
            return pid
        todo.extend(children.get(pid, []))
    return None


def _sessions(host: PlayoutHost) -> list[int]:
    """The sshd session processes under the host's listening sshd."""
    children, todo, found = (
        process_children(),
        list(process_children().get(host.sshd.process.pid, [])),
        [],
    )
    while todo:
        pid = todo.pop()
        if Path(f"/proc/{pid}/comm").exists() and _cmdline(pid)[0].startswith("sshd"):
            found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def test_an_extra_connection_cut_mid_parts_fails_the_import_and_changes_nothing(
    playout_pair: tuple[PlayoutHost, PlayoutHost],
    tmp_path: Path,
    small_parts: None,
    monkeypatch: pytest.MonkeyPatch,
    bulk_client: str,
) -> None:
    main, backup = playout_pair
    for rel in ("av/one.ts", "ts/two.ts"):
        (main.data_root / rel).write_bytes(os.urandom(8 * PART + 3))
    bundle = tmp_path / "main.pmcbundle"
    asyncio.run(export_from(main, tmp_path, bundle))
    tables, files = backup.table_digest(CONFIG_TABLES + EPG_TABLES), backup.tree_digest()

    held, go = threading.Event(), threading.Event()
    send = PartSenders.send

    def held_send(
        self: PartSenders, file: BigMember, read: Callable[[int], bytes], p: Callable[[int], None]
    ) -> None:
        given = 0

        def slow_read(n: int) -> bytes:  # waits, once, half way into part 3 (stream 1's)
            nonlocal given
            if not go.is_set() and given >= 3 * PART + PART // 2:
                held.set()
                assert go.wait(120), "the test never let the import go on"
            data = read(min(n, PART // 4))
            given += len(data)
            return data

        send(self, file, slow_read, p)

    monkeypatch.setattr(import_parts.PartSenders, "send", held_send)
    failed: list[BaseException] = []

    def importing() -> None:
        try:
            asyncio.run(import_into(backup, tmp_path, bundle, streams=2))
        except BaseException as exc:
            failed.append(exc)

    worker = threading.Thread(target=importing)
    worker.start()
    try:
        wait_until(held.is_set, timeout=120, what="the import half way into part 3")
        wait_until(  # the remote dd of stream 1 waits for the rest of part 3
            lambda: (
                (pid := _stream_script(backup, 1)) is not None
                and any(_cmdline(c)[:1] == ["dd"] for c in process_children().get(pid, []))
            ),
            timeout=60,
            what="stream 1's dd running on backup",
        )
        script, host_sshd = _stream_script(backup, 1), backup.sshd.process.pid
        assert script is not None
        session = script
        while not _cmdline(session)[0].startswith("sshd"):  # up to its sshd session process
            session = int(Path(f"/proc/{session}/stat").read_text().rsplit(")", 1)[1].split()[1])
            assert session != host_sshd, "stream 1's script is not in an sshd session"
        os.kill(session, signal.SIGKILL)  # stream 1's connection cut
    finally:
        go.set()
        worker.join(150)
    assert not worker.is_alive()
    assert len(failed) == 1 and isinstance(failed[0], PmcError), failed
    said = str(failed[0])
    print(said)
    assert backup.name in said or backup.sshd.address in said, said
    assert "Nothing live was changed" in said, said
    assert not [t for t in threading.enumerate() if t.name.startswith("pmc-import-part")]
    wait_until(  # every connection closed: the import's own and the extra one
        lambda: not [t for t in threading.enumerate() if isinstance(t, paramiko.Transport)],
        timeout=30,
        what="no SSH connection of PMC's left running",
    )
    wait_until(lambda: not _sessions(backup), timeout=30, what="no SSH session left on backup")
    local_ssh = [  # the OpenSSH clients of the streams, children of this process
        pid
        for pid in process_children().get(os.getpid(), [])
        if (argv := _cmdline(pid)) and Path(argv[0]).name == "ssh"
    ]
    assert not local_ssh  # no OpenSSH client of the streams left either
    assert backup.table_digest(CONFIG_TABLES + EPG_TABLES) == tables
    assert backup.tree_digest() == files  # no staging folder left either, as the error says

    asyncio.run(import_into(backup, tmp_path, bundle, streams=2))  # not held back now
    assert (backup.data_root / "ts" / "two.ts").read_bytes() == (
        main.data_root / "ts" / "two.ts"
    ).read_bytes()
    assert not [p for p in backup.data_root.parent.rglob("*.pmc-stage-*")]
