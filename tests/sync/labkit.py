"""What only the sync tests (and bench/bench_sync.py) need on top of the shared lab fixtures
(tests/fixtures/lab.py) and the setup tests' lab helpers (tests/setup/labkit.py): one
redundant two-server lab for every sync test of the session, SQL on a lab server, and a
sync job run in the operator's namespace.

The lab is started once (``lab_factory(state="redundant", …)``); tests that leave damage a
sync cannot repair ask for ``clean_sync_lab``, which resets it first (``LabCluster.reset``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pmc.inventory import Architecture
from pmc.jobs import Job, JobContext
from pmc.lab import LabCluster
from pmc.remote.connection import Connection
from pmc.remote.pool import ConnectionPool
from pmc.store import Store
from tests.setup.labkit import connections, in_lab, lab_cluster, lab_pool

T = TypeVar("T")

SEED_ROWS = 300
DATA_MB = 1


class SyncLab:
    """The session's redundant lab as a 1+1 cluster called ``lab``. Its pools' files (each
    pool's known_hosts) live in one temporary folder of its own, removed by :meth:`close`."""

    def __init__(self, lab: LabCluster) -> None:
        self.lab = lab
        self.cluster = lab_cluster(lab, Architecture.COMBINED)
        self.main = lab.servers["main"]
        self.backup = lab.servers["backup"]
        self._folder = tempfile.TemporaryDirectory(prefix="pmc-sync-")

    def close(self) -> None:
        """Remove the pools' files (the lab itself belongs to whoever started it)."""
        self._folder.cleanup()

    def sql(self, server: str, query: str) -> str:
        srv = self.lab.servers[server]
        out = srv.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d",
                       "playout", "-c", query], check=True)  # fmt: skip
        return str(out.stdout).strip()

    def pool(self) -> ConnectionPool:
        """Connections with the lab's root passwords in memory and its host keys pinned."""
        return lab_pool(self.lab, Path(tempfile.mkdtemp(prefix="pool-", dir=self._folder.name)))

    def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """``asyncio.run(work())`` inside the operator's namespace."""
        return in_lab(self.lab, work)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a thread inside the operator's namespace (e.g. ``pmc.cli.main``)."""
        return self.lab.call_in_operator_namespace(fn, *args)

    def job(
        self,
        make: Callable[[dict[str, Connection]], Callable[[JobContext], Awaitable[T]]],
        store: Store | None = None,
    ) -> T:
        """Run one sync job whose body ``make(connections)`` builds; its result."""

        async def go() -> T:
            pool = self.pool()
            try:
                conns = connections(pool, self.cluster)
                return await Job("sync", "test", make(conns), store=store).run()
            finally:
                await pool.close()

        return self.run(go)

    def reset(self) -> None:
        self.lab.reset(seed_rows=SEED_ROWS, data_mb=DATA_MB)


def start(lab_factory: Callable[..., LabCluster]) -> SyncLab:
    return SyncLab(lab_factory(servers=2, state="redundant", seed_rows=SEED_ROWS, data_mb=DATA_MB))


@pytest.fixture(scope="session")
def sync_lab(lab_factory: Callable[..., LabCluster]) -> Iterator[SyncLab]:
    """The redundant lab shared by every sync test (leave it repaired, or use clean_sync_lab)."""
    lab = start(lab_factory)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def clean_sync_lab(sync_lab: SyncLab) -> SyncLab:
    """The shared redundant lab, reset to its starting state first."""
    sync_lab.reset()
    return sync_lab
