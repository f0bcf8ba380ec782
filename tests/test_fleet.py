"""A fleet row's active server and last sync: the inventory's active server (backup after a
switchover), and the newest sync of this desktop's history, never another job nor a dry run."""

from __future__ import annotations

import itertools
import time
import types

import pytest

from pmc import store as store_module
from pmc.fleet import active_and_last_sync
from pmc.inventory import Cluster, Role, Server
from pmc.store import Store

MAIN = Server("main", "127.0.0.11", "127.0.1.11", role=Role.MAIN)
BACKUP = Server("backup", "127.0.0.12", "127.0.1.12", role=Role.BACKUP)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Store:
    """An in-memory store whose jobs start one second apart, in the order they are made."""
    seconds = itertools.count(1_800_000_000)
    clock = types.SimpleNamespace(time=lambda: float(next(seconds)), strftime=time.strftime)
    monkeypatch.setattr(store_module, "time", clock)
    return Store.in_memory()


def job(store: Store, job_id: str, kind: str, title: str, *, state: str, cluster: str) -> None:
    store.job_started(job_id, kind, title, cluster)
    store.job_finished(job_id, state, title)


def test_the_active_server_is_the_inventorys_after_a_switchover() -> None:
    before = Cluster("studio", servers=(MAIN, BACKUP))
    after = Cluster("studio", servers=(MAIN, BACKUP), active="backup")
    assert active_and_last_sync(before, None)[0] == "main"
    assert active_and_last_sync(after, None)[0] == "backup"


def test_the_last_sync_is_a_sync_of_the_cluster_never_a_dry_run_nor_another_job(
    store: Store,
) -> None:
    cluster = Cluster("studio", servers=(MAIN, BACKUP), active="backup")
    job(store, "s1", "sync", "Synchronize studio (delta)", state="succeeded", cluster="studio")
    job(
        store,
        "s2",
        "sync",
        "Synchronize studio from backup (playout)",
        state="failed",
        cluster="studio",
    )
    job(store, "other", "sync", "Synchronize other (delta)", state="succeeded", cluster="other")
    job(
        store,
        "dry",
        "sync",
        "Synchronize studio (delta, dry run)",
        state="succeeded",
        cluster="studio",
    )
    job(
        store,
        "sw",
        "switchover",
        "Switch studio over to backup",
        state="succeeded",
        cluster="studio",
    )
    job(store, "im", "import", "Import into backup", state="succeeded", cluster="studio")

    active, last = active_and_last_sync(cluster, store)

    assert active == "backup"
    assert last.result == "failed"
    assert last.when == next(r.started for r in store.jobs() if r.id == "s2")


def test_a_cluster_never_synchronized_here_says_never(store: Store) -> None:
    job(
        store,
        "dry",
        "sync",
        "Synchronize studio (delta, dry run)",
        state="succeeded",
        cluster="studio",
    )
    job(
        store,
        "sw",
        "switchover",
        "Switch studio over to backup",
        state="succeeded",
        cluster="studio",
    )

    _, last = active_and_last_sync(Cluster("studio", servers=(MAIN, BACKUP)), store)

    assert last.when is None
    assert last.text == "never"
