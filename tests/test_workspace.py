"""pmc.workspace: the one policy for problems in the inventory file, look-ups that say what
is there, edits that change nothing when refused, secrets moved with a renamed server, and a
pool made on use and closed with the workspace (no servers needed: nothing connects)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmc import secrets
from pmc.errors import InputError
from pmc.inventory import Architecture, AuthMethod, Cluster, Inventory, Role, Server
from pmc.inventory_file import save_inventory
from pmc.problems import InventoryProblems
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool
from pmc.workspace import Workspace
from tests.test_secrets import MemoryKeyring

MAIN = Server("main", "127.168.1.105", "127.17.59.128", Role.MAIN)
BACKUP = Server("backup", "127.168.1.108", "127.17.59.129", Role.BACKUP)
STUDIO = Cluster("studio", Architecture.COMBINED, (MAIN, BACKUP))
SPARE = Cluster("spare", Architecture.MANUAL, (Server("main", "127.168.2.105"),))

BROKEN = """\
[[clusters]]
name = "studio"

[[clusters.servers]]
name = "main"
managment_address = "127.168.1.105"
ssh_port = "22"
"""


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    secrets.use_backend(backend)
    yield backend
    secrets.use_backend(None)


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.toml"
    save_inventory(Inventory((STUDIO, SPARE)), path)
    return path


def test_a_file_with_problems_is_shown_but_never_used(tmp_path: Path) -> None:
    path = tmp_path / "inventory.toml"
    path.write_text(BROKEN)
    workspace = Workspace(path)
    assert len(workspace.read().problems) == 2  # what `pmc inventory validate` shows
    with pytest.raises(InventoryProblems) as refused:
        workspace.load()
    text = str(refused.value)
    assert "the inventory has 2 problems PMC cannot correct for you" in text
    assert f"{path}:6: unknown setting 'managment_address'" in text
    assert f"{path}:7: ssh_port must be a whole number" in text
    assert text.endswith(f"`pmc inventory validate {path}` lists them), then try again.")
    assert "\n" not in text  # one line: a daemon logs it as one
    for use in (lambda: workspace.cluster("studio"), lambda: workspace.server("main")):
        with pytest.raises(InventoryProblems):
            use()
    with pytest.raises(InventoryProblems):
        workspace.save(Inventory())
    assert path.read_text() == BROKEN


def test_look_ups_say_what_there_is(inventory: Path, tmp_path: Path) -> None:
    workspace = Workspace(inventory)
    assert workspace.cluster("studio") == STUDIO
    assert workspace.server("backup") == (STUDIO, BACKUP)
    assert workspace.server("spare/main") == (SPARE, SPARE.servers[0])
    with pytest.raises(InputError, match=r"'main' is ambiguous \(studio/main, spare/main\)"):
        workspace.server("main")
    with pytest.raises(InputError) as missing:
        workspace.cluster("nope")
    assert str(missing.value) == (
        f"{inventory}: there is no cluster 'nope' in the inventory (clusters: studio, spare)."
        " See `pmc inventory list`."
    )
    with pytest.raises(InputError, match="there is no server 'nowhere/main' in the inventory"):
        workspace.server("nowhere/main")
    nothing = Workspace(tmp_path / "typo.toml")
    with pytest.raises(InputError, match="The file does not exist: check its name"):
        nothing.cluster("studio")
    assert nothing.inventory == Inventory() and not nothing.exists


def test_an_edit_that_brings_a_problem_changes_nothing(inventory: Path) -> None:
    workspace = Workspace(inventory)
    before = inventory.read_text()
    typo = dataclasses.replace(BACKUP, management_address="127.168.1.105")
    bad = Inventory((dataclasses.replace(STUDIO, servers=(MAIN, typo)), SPARE))
    with pytest.raises(InventoryProblems) as refused:
        workspace.save(bad, refused="the server was not changed")
    assert str(refused.value).startswith(
        f"{inventory}: the server was not changed: server 'backup' of cluster 'studio':"
        " management_address 127.168.1.105 is already the management_address of server 'main'"
    )
    assert inventory.read_text() == before
    renamed = dataclasses.replace(STUDIO, name="studio 2")
    workspace.replace_cluster(renamed, replacing="studio")
    assert workspace.inventory.clusters == (renamed, SPARE)  # in its place, read again
    assert Workspace(inventory).load() == workspace.inventory


def test_a_renamed_server_takes_its_secrets_along(inventory: Path, memory: MemoryKeyring) -> None:
    workspace = Workspace(inventory)
    secrets.set_password("studio", "backup", "pw-backup")
    renamed = dataclasses.replace(BACKUP, name="standby")
    workspace.store_server(STUDIO, renamed, old=BACKUP)
    assert workspace.cluster("studio").servers == (MAIN, renamed)
    assert secrets.get_password("studio", "standby") == "pw-backup"
    assert secrets.get_password("studio", "backup") is None
    keyed = dataclasses.replace(renamed, auth=AuthMethod.KEY, key_file=str(inventory))
    workspace.store_server(workspace.cluster("studio"), keyed, old=renamed, secret="phrase")
    assert secrets.get_passphrase("studio", "standby") == "phrase"


def test_a_refused_server_leaves_keyring_and_file_alone(
    inventory: Path, memory: MemoryKeyring
) -> None:
    workspace = Workspace(inventory)
    before = inventory.read_text()
    twin = Server("spare", MAIN.management_address)
    with pytest.raises(InventoryProblems, match="the server was not added"):
        workspace.store_server(STUDIO, twin, secret="pw", refused="the server was not added")
    assert memory.items == {} and inventory.read_text() == before


def test_a_secret_stored_for_a_file_that_cannot_be_written_is_deleted_again(
    inventory: Path, memory: MemoryKeyring
) -> None:
    workspace = Workspace(inventory)
    workspace.load()
    inventory.write_text(BROKEN)  # changed behind PMC's back: the save refuses it
    with pytest.raises(InventoryProblems):
        workspace.store_server(SPARE, Server("new", "127.168.2.108"), secret="pw")
    assert memory.items == {}


def test_the_pool_is_made_on_use_and_closed_with_the_workspace(
    inventory: Path, tmp_path: Path
) -> None:
    made: list[ConnectionPool] = []

    def make() -> ConnectionPool:
        made.append(ConnectionPool(known_hosts=KnownHosts(tmp_path / "known_hosts")))
        return made[-1]

    workspace = Workspace(inventory, make_pool=make)
    assert made == [] and workspace.connects
    first = workspace.connection(STUDIO, MAIN)
    assert workspace.connections(STUDIO) == {
        "main": first,
        "backup": made[0].connection(BACKUP, "studio"),
    }
    asyncio.run(workspace.close())
    assert made[0].executors.control._shutdown
    workspace.connection(STUDIO, MAIN)
    assert len(made) == 2  # a new loop, a new pool
    given = made[1]
    owned = Workspace(inventory, pool=given)
    asyncio.run(owned.close())
    assert not given.executors.control._shutdown  # its owner closes it
    asyncio.run(given.close())
    with pytest.raises(RuntimeError, match="no SSH transport"):
        _ = Workspace(inventory).pool


def test_an_edit_keeps_what_another_pmc_changed_since_and_refuses_over_the_same_cluster(
    inventory: Path,
) -> None:
    """The app open since the morning, a colleague's `pmc inventory` in a terminal at noon:
    the app's next edit used to write its whole inventory of the morning, and the colleague's
    change was gone without a word."""
    app, terminal = Workspace(inventory), Workspace(inventory)
    app.load()
    terminal.replace_cluster(Cluster("added at noon"))
    app.replace_cluster(dataclasses.replace(STUDIO, name="studio 2"), replacing="studio")
    names = ["studio 2", "spare", "added at noon"]
    assert [c.name for c in Workspace(inventory).load().clusters] == names
    terminal.replace_cluster(dataclasses.replace(SPARE, name="spare 2"), replacing="spare")
    after = inventory.read_text()
    with pytest.raises(InputError) as refused:
        app.replace_cluster(dataclasses.replace(SPARE, name="renamed"), replacing="spare")
    assert str(refused.value) == (
        f"{inventory}: cluster 'spare' was changed by another PMC or in an editor since this"
        " one read it; your change was not saved. Look at the inventory as it is now, then"
        " make the change again"
    )
    assert inventory.read_text() == after
    assert "spare 2" in [c.name for c in app.inventory.clusters]  # read again
    terminal.replace_cluster(Cluster("added at one"))
    with pytest.raises(InputError, match="the inventory was changed by another PMC"):
        app.save(Inventory())  # the app's whole inventory: it would drop what it did not see
    assert "added at one" in inventory.read_text()
