"""The inventory rules, on models and on text (with lines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmc.inventory import Architecture, AuthMethod, Cluster, Inventory, Role, Server
from pmc.inventory_file import parse_inventory
from pmc.inventory_rules import check_address
from pmc.problems import Problem
from pmc.validation import check_server, validate, validate_inventory

MAIN = Server("main", "192.168.1.105", "172.17.59.128", Role.MAIN)
BACKUP = Server("backup", "192.168.1.108", "172.17.59.129", Role.BACKUP)


def _messages(cluster: Cluster, *, allow_incomplete: bool = False) -> list[str]:
    return [
        p.message
        for p in validate_inventory(Inventory((cluster,)), allow_incomplete=allow_incomplete)
    ]


def test_the_seed_cluster_is_valid() -> None:
    assert _messages(Cluster("studio", Architecture.COMBINED, (MAIN, BACKUP))) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.168.1.105", None),
        ("127.168.1.105", None),
        ("2001:db8::1", None),
        ("192.168.1.018", "leading zero"),
        ("192.168.1", "not a complete IPv4 address"),
        ("192.168.1.256", "above 255"),
        (" 192.168.1.1", "spaces"),
        ("playout-main", "not an IP address"),
        ("fe80::1%eth0", "scope"),
        ("0.0.0.0", "'any' address"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("", "empty"),
    ],
)
def test_check_address(text: str, expected: str | None) -> None:
    result = check_address(text)
    if expected is None:
        assert result is None
    else:
        assert result is not None
        assert expected in result


def test_problem_str_is_file_line_message() -> None:
    assert str(Problem("bad", "inv.toml", 7)) == "inv.toml:7: bad"
    assert str(Problem("bad", "inv.toml")) == "inv.toml: bad"
    assert str(Problem("bad")) == "bad"


def test_management_equal_to_redundancy() -> None:
    same = Server("main", "192.168.1.105", "192.168.1.105", Role.MAIN)
    (message,) = [m for m in _messages(Cluster("c", Architecture.MANUAL, (same,)))]
    assert "are both 192.168.1.105" in message


def test_duplicate_addresses_across_clusters() -> None:
    other = Cluster("other", Architecture.MANUAL, (Server("x", "172.17.59.129"),))
    problems = validate_inventory(
        Inventory((Cluster("studio", Architecture.COMBINED, (MAIN, BACKUP)), other))
    )
    assert [(p.cluster, p.server, p.field) for p in problems] == [
        ("other", "x", "management_address")
    ]
    assert "already the redundancy_address of server 'backup' of cluster 'studio'" in str(
        problems[0]
    )


def test_subnet_outlier_in_a_bigger_cluster_is_the_only_one_flagged() -> None:
    servers = (
        Server("a", "192.168.1.105", role=Role.ADMIN),
        Server("b", "192.158.1.106", role=Role.PLAYER),
        Server("c", "192.168.1.107", role=Role.PLAYER),
    )
    problems = validate_inventory(Inventory((Cluster("c", Architecture.ADMIN_PLAYER, servers),)))
    assert [(p.server, p.field) for p in problems] == [("b", "management_address")]
    assert "192.158.1.106 is outside 192.168.1.0/24" in problems[0].message


def test_two_private_servers_in_different_subnets_are_both_flagged() -> None:
    other = Server("main", "192.168.2.105", "172.17.59.128", Role.MAIN)
    problems = validate_inventory(
        Inventory((Cluster("studio", Architecture.COMBINED, (other, BACKUP)),))
    )
    assert [p.server for p in problems] == ["main", "backup"]
    assert "outside 192.168.1.0/24" in problems[0].message


def test_a_public_typo_beside_a_private_address_is_the_one_flagged() -> None:
    typo = Server("main", "192.158.1.105", "172.17.59.128", Role.MAIN)
    problems = validate_inventory(
        Inventory((Cluster("studio", Architecture.COMBINED, (typo, BACKUP)),))
    )
    assert [(p.server, p.field) for p in problems] == [("main", "management_address")]
    assert "192.158.1.105 is outside 192.168.1.0/24" in problems[0].message


def test_both_typos_of_the_manual_each_reported_and_a_valid_spare_not() -> None:
    """The manual's two typos in one cluster: the invalid 192.168.1.018 is its own problem
    and stands for no subnet; 192.158.1.105 is compared with the valid spare only."""
    servers = (
        Server("main", "192.158.1.105", role=Role.MAIN),
        Server("backup", "192.168.1.018", role=Role.BACKUP),
        Server("spare", "192.168.1.110", role=Role.BACKUP),
    )
    problems = validate_inventory(Inventory((Cluster("c", Architecture.MANUAL, servers),)))
    found = {p.server: p.message for p in problems}
    assert len(problems) == 2 and set(found) == {"main", "backup"}
    assert "192.158.1.105 is outside 192.168.1.0/24" in found["main"]
    assert "(spare: 192.168.1.110)" in found["main"]
    assert "leading zero" in found["backup"]


@pytest.mark.parametrize(
    ("architecture", "servers", "expected"),
    [
        (Architecture.COMBINED, (MAIN,), ["has 1 server", "no backup server"]),
        (Architecture.MANUAL, (MAIN,), []),
        (Architecture.MANUAL, (), ["has 0 servers"]),
        (
            Architecture.WEB_ONE_WAY,
            (MAIN, Server("m2", "192.168.1.109", role=Role.MAIN)),
            ["no backup server", "role 'main' is taken by 'main'"],
        ),
        (
            Architecture.WEB_SYMMETRIC,
            (MAIN, Server("b", "192.168.1.109", role=Role.PLAYER)),
            ["no backup server", "role 'player' does not fit"],
        ),
        (
            Architecture.DATABASE,
            (MAIN, Server("backup", "192.168.1.108", role=Role.BACKUP)),
            ["replicates the database over eth2; add redundancy_address"],
        ),
        (
            Architecture.ADMIN_PLAYER,
            (MAIN, BACKUP),
            ["role 'main' does not fit", "role 'backup' does not fit", "no admin", "no player"],
        ),
        (
            Architecture.MANUAL,
            tuple(Server(f"s{i}", f"192.168.1.{i}") for i in range(1, 6)),
            ["has 5 servers; a Playout cluster has at most 4"],
        ),
    ],
)
def test_size_and_roles(
    architecture: Architecture, servers: tuple[Server, ...], expected: list[str]
) -> None:
    messages = _messages(Cluster("c", architecture, servers))
    assert len(messages) == len(expected), messages
    for fragment in expected:
        assert any(fragment in m for m in messages), (fragment, messages)


def test_incomplete_clusters_are_allowed_while_building() -> None:
    assert _messages(Cluster("c", Architecture.COMBINED, (MAIN,)), allow_incomplete=True) == []
    assert _messages(Cluster("c", Architecture.COMBINED, ()), allow_incomplete=True) == []
    two_mains = Cluster(
        "c", Architecture.COMBINED, (MAIN, Server("m2", "192.168.1.2", "172.17.59.2"))
    )
    assert len(_messages(two_mains, allow_incomplete=True)) == 1


def test_ssh_settings(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("not really a key\n")
    cases = {
        Server("a", "127.0.0.2", ssh_port=0): "ssh_port 0 is not a port number",
        Server("a", "127.0.0.2", ssh_user="root; rm"): "not a valid user name",
        Server("a", "127.0.0.2", auth=AuthMethod.KEY): 'auth = "key" needs key_file',
        Server("a", "127.0.0.2", auth=AuthMethod.KEY, key_file=str(tmp_path / "missing")): (
            "does not exist on this computer"
        ),
        Server("a", "127.0.0.2", auth=AuthMethod.KEY, key_file=str(key)): None,
        Server("a b", "127.0.0.2"): None,
        Server("a/b", "127.0.0.2"): "the name may use letters",
        Server("", "127.0.0.2"): "has no name",
        Server("a", ""): "has no management_address",
        Server("a", "127.0.0.2", layout_overrides={"api_port": "80"}): "layout override api_port",
        Server("a", "127.0.0.2", layout_overrides={"db_dir": "db"}): "absolute path",
    }
    for server, expected in cases.items():
        messages = _messages(Cluster("c", Architecture.MANUAL, (server,)))
        if expected is None:
            assert messages == [], server
        else:
            assert len(messages) == 1 and expected in messages[0], (server, messages)


def test_check_server_for_inline_hints() -> None:
    cluster = Cluster("studio", Architecture.COMBINED, (MAIN,))
    assert check_server(cluster, BACKUP) == []
    clash = Server("backup", "192.168.1.105", "172.17.59.129", Role.BACKUP)
    (problem,) = check_server(cluster, clash)
    assert problem.field == "management_address"
    assert "already the management_address of server 'main'" in problem.message
    # editing a server replaces the one with its name
    edited = Server("main", "192.168.1.101", "172.17.59.128", Role.MAIN)
    assert check_server(cluster, edited) == []
    other = Inventory((Cluster("other", Architecture.MANUAL, (Server("x", "172.17.59.129"),)),))
    assert [p.field for p in check_server(cluster, BACKUP, inventory=other)] == [
        "redundancy_address"
    ]


def test_validate_reports_file_lines_and_no_double_reports() -> None:
    loaded = parse_inventory(
        "[[clusters]]\n"
        'name = "c"\n'
        'architecture = "web"\n'
        "[[clusters.servers]]\n"
        'name = "a"\n'
        'management_address = "192.168.1.1"\n'
        'role = "boss"\n',
        "inv.toml",
    )
    problems = validate(loaded)
    assert [str(p).split(": ")[0] for p in problems] == ["inv.toml:3", "inv.toml:7"]
