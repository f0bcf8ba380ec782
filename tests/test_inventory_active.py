"""The cluster's active server in the inventory: written and removed in place (comments kept),
validated with its line, kept through a rename, and the direction syncs take by default."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from pmc import secrets
from pmc.inventory import Architecture, Cluster, Inventory, Role, Server
from pmc.inventory_file import load_inventory, parse_inventory, save_inventory
from pmc.store import Store
from pmc.sync.delta_engine import pair
from pmc.sync.runner import SyncRequest, SyncRunner
from pmc.validation import validate, validate_inventory
from pmc.workspace import Workspace
from tests.test_secrets import MemoryKeyring

TEXT = """\
version = 1

# the studio's head-end
[[clusters]]
name = "studio"  # where the news comes from
architecture = "combined"

[[clusters.servers]]
name = "main"
management_address = "127.168.1.105"
redundancy_address = "127.17.59.128"
role = "main"

[[clusters.servers]]
name = "backup"  # the rack on the left
management_address = "127.168.1.108"
redundancy_address = "127.17.59.129"
role = "backup"

[clusters.sync]
every_minutes = 15
"""


def test_the_active_server_is_written_in_place_and_removed_again(tmp_path: Path) -> None:
    path = tmp_path / "inventory.toml"
    path.write_text(TEXT)
    cluster = load_inventory(path).inventory.cluster("studio")
    assert cluster.active is None and cluster.active_server == cluster.main
    save_inventory(Inventory((dataclasses.replace(cluster, active="backup"),)), path)
    text = path.read_text()
    assert text == TEXT.replace(
        'architecture = "combined"\n', 'architecture = "combined"\nactive = "backup"\n'
    )
    switched = load_inventory(path).inventory.cluster("studio")
    assert switched.active_server == switched.backup
    assert pair(switched) == (switched.backup, switched.main)
    assert pair(switched, "main") == (switched.main, switched.backup)
    save_inventory(Inventory((cluster,)), path)
    assert path.read_text() == TEXT


def test_an_active_server_that_is_not_main_or_backup_is_a_problem_with_its_line() -> None:
    text = TEXT.replace(
        'architecture = "combined"\n', 'architecture = "combined"\nactive = "bakcup"\n'
    )
    loaded = parse_inventory(text, "inv.toml")
    problems = [str(p) for p in validate(loaded)]
    assert problems == [
        "inv.toml:7: cluster 'studio': active = 'bakcup' names no server of the cluster (servers:"
        " 'main', 'backup'); name the main or the backup server, or remove the line (the main"
        " is active then)"
    ]
    assert validate(loaded, allow_incomplete=True) == []  # while a cluster is being built
    assert loaded.inventory.cluster("studio").active_server.name == "main"  # type: ignore[union-attr]
    players = Cluster(
        "p", Architecture.MANUAL,
        (Server("a", "127.0.0.1", role=Role.MAIN), Server("b", "127.0.0.2", role=Role.PLAYER)),
        active="b",
    )  # fmt: skip
    assert [p.message for p in validate_inventory(Inventory((players,)))] == [
        "cluster 'p': active = 'b' is a player server; only the main or the backup server can"
        " be the active one"
    ]


def test_a_renamed_active_server_stays_active(tmp_path: Path) -> None:
    secrets.use_backend(MemoryKeyring())  # the rename moves the server's secrets too
    try:
        _rename(tmp_path)
    finally:
        secrets.use_backend(None)


def _rename(tmp_path: Path) -> None:
    path = tmp_path / "inventory.toml"
    path.write_text(TEXT.replace('architecture = "combined"\n',
                                 'architecture = "combined"\nactive = "backup"\n'))  # fmt: skip
    workspace = Workspace(path, store=Store.in_memory())
    cluster = workspace.cluster("studio")
    backup = cluster.server("backup")
    renamed = dataclasses.replace(backup, name="backup-2")
    workspace.store_server(cluster, renamed, old=backup)
    assert workspace.load().cluster("studio").active == "backup-2"


def test_a_sync_says_its_direction_from_the_active_server() -> None:
    cluster = parse_inventory(TEXT).inventory.cluster("studio")
    switched = dataclasses.replace(cluster, active="backup")
    clusters = {"studio": switched}
    runner = SyncRunner(clusters.__getitem__, pool=None)  # type: ignore[arg-type]

    async def titles() -> list[str]:
        jobs = [runner.submit(SyncRequest("studio", dry_run=True)),
                runner.submit(SyncRequest("studio", primary="main"))]  # fmt: skip
        for job in jobs:
            job.cancel()
        await runner.close()
        return [job.title for job in jobs]

    assert asyncio.run(titles()) == [
        "Synchronize studio: backup → main (delta, dry run)",
        "Synchronize studio: main → backup (delta)",
    ]
