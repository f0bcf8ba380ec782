"""PMC's local files under faults: many PMCs creating the history at once, a damaged history
file, an output path that cannot work (refused before anything connects)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pmc.inventory import Cluster, Inventory, Role, Server
from pmc.inventory_file import save_inventory
from pmc.store import Store, StoreError

REPO = Path(__file__).resolve().parents[1]

OPEN_WHEN_TOLD = """
import sys, time
from pathlib import Path
from pmc.store import Store, StoreError
go = Path(sys.argv[2])
while not go.exists():  # a deliberate spin: the ten start within a millisecond of each other
    time.sleep(0.001)
store = Store.open(Path(sys.argv[1]))
store.job_started(sys.argv[3], "sync", "test", "lab")
store.close()
"""


def _pmc(*args: str, data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pmc", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PMC_DATA_DIR": str(data), "PYTHONPATH": str(REPO), **env},
        check=False,
    )


def test_ten_processes_opening_a_fresh_store_at_once_all_succeed(tmp_path: Path) -> None:
    """Three rounds (a race may hide in one), each ten processes on a new file."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for round_ in range(3):
        path, go = tmp_path / f"pmc{round_}.sqlite3", tmp_path / f"go{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_WHEN_TOLD, str(path), str(go), f"job{n}"],
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for n in range(10)
        ]
        go.touch()  # all ten are waiting for this: they open the new file together
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 10, errors
        store = Store.open(path)
        try:
            assert sorted(j.id for j in store.jobs()) == [f"job{n}" for n in range(10)]
        finally:
            store.close()


def _damaged(path: Path) -> bytes:
    store = Store.open(path)
    for n in range(300):
        store.job_started(f"job{n:03}", "sync", "a title long enough to fill pages " * 4, "lab")
    store.close()
    raw = bytearray(path.read_bytes())
    (page_size,) = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()
    raw[page_size * 3 : page_size * 4] = b"\xa5" * page_size  # one page of a table, wrecked
    path.write_bytes(bytes(raw))
    return bytes(raw)


def test_a_damaged_store_gives_one_sentence_and_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "data" / "pmc.sqlite3"
    path.parent.mkdir()
    raw = _damaged(path)
    result = _pmc("sync", "history", data=path.parent)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stdout == ""
    [line] = result.stderr.splitlines()  # one sentence
    assert line.startswith(f"pmc: {path}: PMC's history file is damaged (")
    assert line.endswith(
        "; it was left as it is. To keep it under another name and start a new history, run: "
        "pmc history set-aside"
    )
    assert path.read_bytes() == raw  # untouched
    # on the operator's word: kept under a new name, never deleted; a new history starts
    result = _pmc("history", "set-aside", data=path.parent)
    assert result.returncode == 0, result.stderr
    [kept] = path.parent.glob("pmc.sqlite3.damaged-*")
    assert kept.read_bytes() == raw
    assert f"kept as {kept}" in result.stdout
    result = _pmc("sync", "history", "--json", data=path.parent)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


def test_export_to_a_folder_that_does_not_exist_is_refused_before_connecting(
    tmp_path: Path,
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0)
    port = listener.getsockname()[1]
    cluster = Cluster("lab", servers=(Server("main", "127.0.0.1", None, Role.MAIN, ssh_port=port),))
    inventory = tmp_path / "inventory.toml"
    save_inventory(Inventory((cluster,)), inventory)
    try:
        for target, words in (
            ("/nonexistent/dir/x.pmcbundle", "the folder /nonexistent/dir does not exist"),
            (str(tmp_path), f"{tmp_path} is a folder"),
        ):
            result = _pmc("--inventory", str(inventory), "export", "main", "-o", target,
                          data=tmp_path / "data")  # fmt: skip
            assert result.returncode == 2, result.stderr
            assert "Traceback" not in result.stderr and "never retrieved" not in result.stderr
            assert result.stderr.startswith(f"pmc: -o: {words}"), result.stderr
            try:
                listener.accept()
            except BlockingIOError:
                pass  # nothing connected: refused before any connection
            else:
                raise AssertionError("PMC connected before checking the output path")
    finally:
        listener.close()


def test_a_full_disk_is_an_error_naming_the_history_file_and_writes_nothing(
    tmp_path: Path,
) -> None:
    """SQLite's "database or disk is full" (here: the file may not grow, SQLite's own limit)
    used to escape as sqlite3.OperationalError, a traceback out of any pmc command."""
    path = tmp_path / "state.db"
    store = Store.open(path)
    store.job_started("j1", "sync", "first", "lab")
    (pages,) = store._db.execute("PRAGMA page_count").fetchone()
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    rows = [(i, 0.0, "step", "info", None, "x" * 2000) for i in range(50)]
    with pytest.raises(StoreError) as caught:
        store.job_log("j1", rows)
    assert str(caught.value) == (
        f"{path}: cannot write to PMC's history file (database or disk is full); nothing was"
        " written to it. Free some disk space; the history goes on once there is room"
    )
    assert [job.id for job in store.jobs()] == ["j1"] and store.job_log_of("j1") == []
    store._db.execute(f"PRAGMA max_page_count = {pages * 100}")
    store.job_log("j1", rows)  # the file is fine once there is room
    assert len(store.job_log_of("j1")) == 50
    store.close()


def test_a_file_where_pmc_s_data_folder_should_be_is_one_sentence(tmp_path: Path) -> None:
    """Before: FileExistsError, a traceback, out of every command that opens the history."""
    data = tmp_path / "data"
    data.write_text("not a folder")
    result = _pmc("sync", "history", data=data)
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert result.stderr == (
        f"pmc: {data / 'pmc.sqlite3'}: cannot open PMC's history file ([Errno 17] File exists:"
        f" '{data}'). Check that the folder exists and is writable\n"
    )
    assert data.read_text() == "not a folder"
