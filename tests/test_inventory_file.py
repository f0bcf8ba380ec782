"""Reading and writing the inventory file: values, lines, comments, atomic saves."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from pmc.errors import ConfigSyntaxError, InputError, PmcError
from pmc.inventory import Architecture, AuthMethod, Cluster, Inventory, Role, Server
from pmc.inventory_file import load_inventory, parse_inventory, save_inventory
from pmc.toml_lines import scan_lines

SEED = """\
# Studio head-end, as in the vendor's manual
version = 1

[[clusters]]
name = "studio"   # the only cluster
architecture = "combined"

[[clusters.servers]]
name = "main"
management_address = "192.168.1.105"  # eth3
redundancy_address = "172.17.59.128"  # eth2
role = "main"

[clusters.servers.layout]
api_port = 8081

# the backup, installed later
[[clusters.servers]]
name = "backup"
management_address = "192.168.1.108"
redundancy_address = "172.17.59.129"
role = "backup"
ssh_port = 2222
auth = "agent"
"""


def _write(tmp_path: Path, text: str, name: str = "inventory.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_the_model_and_remembers_lines(tmp_path: Path) -> None:
    loaded = load_inventory(_write(tmp_path, SEED))
    assert loaded.problems == ()
    (cluster,) = loaded.inventory.clusters
    assert cluster.name == "studio"
    assert cluster.architecture is Architecture.COMBINED
    main, backup = cluster.servers
    assert main == Server(
        name="main",
        management_address="192.168.1.105",
        redundancy_address="172.17.59.128",
        role=Role.MAIN,
        layout_overrides={"api_port": 8081},
    )
    assert (backup.ssh_port, backup.auth, backup.ssh_user) == (2222, AuthMethod.AGENT, "root")
    assert loaded.cluster_line(0) == 4
    assert loaded.cluster_line(0, "name") == 5
    assert loaded.server_line(0, 0, "management_address") == 10
    assert loaded.line_of(("clusters", 0, "servers", 0, "layout", "api_port")) == 15
    assert loaded.server_line(0, 1) == 18
    assert loaded.server_line(0, 1, "auth") == 24
    # a key that is absent falls back to its table's header
    assert loaded.server_line(0, 1, "key_file") == 18


def test_line_scanner_handles_multiline_values_quoted_keys_and_inline_tables() -> None:
    text = (
        'a = """one\n[[not_a_table]]\nb = 1"""\n'
        "c = [\n  1, # comment ]\n  2,\n]\n"
        '"quoted.key" = { x = 1, y = "}" }\n'
        "d.e = 'lit#eral'\n"
        "[t]\n"
        "f = 1\n"
    )
    lines = scan_lines(text)
    assert lines == {
        ("a",): 1,
        ("c",): 4,
        ("quoted.key",): 8,
        ("d", "e"): 9,
        ("t",): 10,
        ("t", "f"): 11,
    }


def test_not_toml_is_a_syntax_error_with_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[clusters]]\nname = "a"\narchitecture = combined\n')
    with pytest.raises(ConfigSyntaxError) as caught:
        load_inventory(path)
    assert (caught.value.line, caught.value.column) == (3, 16)
    assert str(caught.value).startswith(f"{path}:3:16: the inventory is not valid TOML")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_inventory(tmp_path / "nope.toml")
    loaded = load_inventory(tmp_path / "nope.toml", missing_ok=True)
    assert (loaded.exists, loaded.inventory) == (False, Inventory())


def test_wrong_types_and_values_are_problems_not_exceptions() -> None:
    loaded = parse_inventory(
        '[[clusters]]\nname = "c"\narchitecture = "cluster"\n'
        '[[clusters.servers]]\nname = "s"\nmanagement_address = 192\nssh_port = "22"\n'
        'role = "master"\n',
        "inv.toml",
    )
    assert [(p.line, p.field) for p in loaded.problems] == [
        (3, "architecture"),
        (8, "role"),
        (7, "ssh_port"),
        (6, "management_address"),
    ]
    assert 'role "master" is not one of "main", "backup"' in loaded.problems[1].message


def test_new_file_round_trips_and_has_its_folder_created(tmp_path: Path) -> None:
    inventory = Inventory(
        (
            Cluster(
                "studio",
                Architecture.ADMIN_PLAYER,
                (
                    Server("admin", "127.0.0.1", role=Role.ADMIN),
                    Server(
                        "player 1",
                        "::1",
                        role=Role.PLAYER,
                        auth=AuthMethod.KEY,
                        key_file="~/.ssh/id_ed25519",
                        layout_overrides={"api_port": 9000, "db_dir": "/srv/db"},
                    ),
                ),
            ),
            Cluster("empty", Architecture.MANUAL),
        )
    )
    path = tmp_path / "deep" / "er" / "inventory.toml"
    save_inventory(inventory, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# PMC inventory")
    assert "[[clusters.servers]]" in text
    assert "[clusters.servers.layout]" in text
    assert load_inventory(path).inventory == inventory


def test_save_keeps_comments_and_changes_only_what_changed(tmp_path: Path) -> None:
    path = _write(tmp_path, SEED)
    loaded = load_inventory(path)
    (cluster,) = loaded.inventory.clusters
    main, backup = cluster.servers
    main = dataclasses.replace(main, management_address="192.168.1.106", layout_overrides={})
    third = Server("spare", "192.168.1.109", role=Role.BACKUP)
    changed = Inventory((dataclasses.replace(cluster, servers=(main, backup, third)),))
    save_inventory(changed, path)
    text = path.read_text(encoding="utf-8")
    assert load_inventory(path).inventory == changed
    for kept in (
        "# Studio head-end, as in the vendor's manual",
        'name = "studio"   # the only cluster',
        "# the backup, installed later",
        'redundancy_address = "172.17.59.128"  # eth2',
    ):
        assert kept in text
    assert 'management_address = "192.168.1.106"' in text
    assert "api_port" not in text
    assert text.count("[[clusters.servers]]") == 3

    # removing a server removes its table and nothing else
    save_inventory(Inventory((dataclasses.replace(cluster, servers=(main,)),)), path)
    text = path.read_text(encoding="utf-8")
    assert 'name = "backup"' not in text
    assert 'name = "spare"' not in text
    assert "# Studio head-end" in text


def test_a_renamed_cluster_keeps_its_place_and_comments(tmp_path: Path) -> None:
    path = _write(tmp_path, SEED + '\n[[clusters]]\nname = "spare"\narchitecture = "manual"\n')
    studio, spare = load_inventory(path).inventory.clusters
    renamed = dataclasses.replace(studio, name="studio A")
    save_inventory(Inventory((renamed, spare)), path)  # Edit cluster… in the app
    text = path.read_text(encoding="utf-8")
    assert load_inventory(path).inventory == Inventory((renamed, spare))
    assert 'name = "studio A"   # the only cluster' in text
    assert "# the backup, installed later" in text
    added = Cluster("new", Architecture.MANUAL, (Server("one", "192.168.3.105"),))
    save_inventory(Inventory((renamed, added, spare)), path)  # a new table at its place
    assert load_inventory(path).inventory == Inventory((renamed, added, spare))


def test_unchanged_save_rewrites_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, SEED.replace("\n", "\r\n"))
    before = path.read_bytes()
    save_inventory(load_inventory(path).inventory, path)
    assert path.read_bytes() == before


def test_save_refuses_to_overwrite_a_broken_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[[clusters]\n")
    with pytest.raises(ConfigSyntaxError):
        save_inventory(Inventory(), path)
    assert path.read_text(encoding="utf-8") == "[[clusters]\n"


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, SEED)

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(PmcError) as caught:  # not an OSError traceback out of pmc inventory
        save_inventory(Inventory(), path)
    assert str(caught.value) == (
        f"{path}: cannot write the inventory (No space left on device); the file was left as"
        " it was. Free some disk space, or check that its folder can be written to, then try"
        " again"
    )
    assert path.read_text(encoding="utf-8") == SEED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.toml"]


def test_a_save_through_a_symlink_writes_the_file_it_points_to(tmp_path: Path) -> None:
    """An inventory kept elsewhere (a shared folder) and linked into PMC's config folder: a
    save changes that file and keeps the link; before, the link was replaced by a new file and
    the shared one kept the old inventory."""
    shared = _write(tmp_path, SEED, name="shared.toml")
    link = tmp_path / "config" / "inventory.toml"
    link.parent.mkdir()
    link.symlink_to(shared)
    inventory = load_inventory(link).inventory
    save_inventory(inventory.without_cluster("studio"), link)
    assert link.is_symlink() and load_inventory(shared).inventory.clusters == ()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "shared.toml"]
