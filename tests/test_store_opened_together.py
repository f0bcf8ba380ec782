"""Two PMCs opening the same NEW history file at the same moment (two `pmc sync run` on a
fresh desktop): SQLite answered "database is locked" at once to one of them while the file
switched to WAL, and that PMC stopped with "stayed busy for 30 s" after 2 ms (seen in CI in
tests/test_cluster_lock_lab.py; 9 of 150 rounds here before the fix)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from pmc.store import Store


def _open(
    path: str, barrier: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue[str]
) -> None:
    barrier.wait()
    try:
        Store.open(Path(path)).close()
        out.put("ok")
    except Exception as exc:  # the test reports it
        out.put(str(exc))


def test_two_pmcs_open_a_new_history_file_at_once(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    failures = []
    for round_ in range(120):
        path = str(tmp_path / str(round_) / "pmc.sqlite3")
        barrier, out = context.Barrier(2), context.Queue()
        both = [context.Process(target=_open, args=(path, barrier, out)) for _ in range(2)]
        for each in both:
            each.start()
        for each in both:
            each.join(60)
        failures += [said for said in (out.get(timeout=60), out.get(timeout=60)) if said != "ok"]
    assert failures == []
