"""The fleet view's scene for ``make screenshots`` (and its test): ten clusters of main and
backup, four of them with a problem (a server PMC cannot reach, a port link down, a cluster
another operator's PMC holds, drift), as the probes would answer; one switched over to its
backup (:data:`SWITCHED`). No servers are reached."""

from __future__ import annotations

import time
from pathlib import Path

from pmc.cluster_lock import Holder
from pmc.inventory import Architecture, Cluster, Inventory, Role, Server
from pmc.inventory_file import save_inventory
from pmc.status import Check, ClusterStatus, Health, ServerStatus, links_of
from pmc.store import Store
from pmc.workspace import Workspace

from .main_window import MainWindow
from .session import Session
from .tasks import Tasks

NAMES = [f"site{i:02d}" for i in range(1, 11)]
PROBLEMS = {"site07": "unreachable", "site03": "link down", "site09": "locked", "site05": "drift"}
SWITCHED = "site03"  # on air from its backup: the active server


def _cluster(i: int, name: str) -> Cluster:
    return Cluster(
        name,
        Architecture.COMBINED,
        (
            Server("main", f"127.168.2.{2 * i}", f"127.17.60.{2 * i}", Role.MAIN),
            Server("backup", f"127.168.2.{2 * i + 1}", f"127.17.60.{2 * i + 1}", Role.BACKUP),
        ),
        active="backup" if name == SWITCHED else None,
    )


FLEET = Inventory(tuple(_cluster(i, name) for i, name in enumerate(NAMES, 1)))


def status_of(cluster: Cluster, problem: str = "") -> ClusterStatus:
    """What the probes of ``cluster`` answer with ``problem`` (see :data:`PROBLEMS`)."""
    now = time.time()
    up = Check(Health.UP, "ok", now)
    drift = (
        Check(Health.DOWN, "3 rows differ", now, "3 rows differ")
        if problem == "drift"
        else Check(Health.UP, "in sync", now)
    )
    servers = {
        s.name: ServerStatus(s.name, up, up, up, up, Check(Health.UP, "", now), drift)
        for s in cluster.servers
    }
    if problem == "unreachable":
        down = Check(Health.DOWN, "unreachable", now, "no route to host")
        servers["backup"] = ServerStatus("backup", down)
    if problem == "locked":
        holder = Holder("alice", "desk-7", "1.0", "import into backup", now, 42)
        servers["backup"] = ServerStatus(
            "backup", up, up, up, up, Check(Health.UP, "", now), drift, locked_by=holder
        )
    links = {link.key: up for link in links_of(cluster)}
    if problem == "link down":
        backup = cluster.server("backup").management_address
        links["tcp:main:backup"] = Check(
            Health.DOWN, "TCP 2001 closed", now, f"from main to {backup}: TCP 2001 refused"
        )
    return ClusterStatus(cluster.name, servers, links, now)


def statuses(problems: dict[str, str]) -> dict[str, ClusterStatus]:
    return {c.name: status_of(c, problems.get(c.name, "")) for c in FLEET.clusters}


def fleet_window(folder: Path) -> MainWindow:
    """A main window over :data:`FLEET` (its inventory written into ``folder``), showing the
    fleet view with :data:`PROBLEMS`."""
    path = folder / "fleet.toml"
    save_inventory(FLEET, path)
    store = Store.in_memory()
    for name, result in (("site01", "succeeded"), ("site05", "failed"), ("site02", "succeeded")):
        store.job_started(f"sync-{name}", "sync", f"Synchronize {name} (delta)", name)
        store.job_finished(f"sync-{name}", result, "")
    session = Session(Workspace(path, store=store), Tasks())
    window = MainWindow(session)
    window.resize(1280, 720)
    session.load()
    window.show()
    window.fleet_poller.publish(statuses(PROBLEMS))
    return window
