"""Adapting spoolers.json and replicate.conf to another server, through their codecs, on the
seed's own files (tests/configs/golden): main's files become the manual's backup files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmc.bundle.adapt import Peer, adapt, adapt_replicate, adapt_spoolers, address_swap
from pmc.errors import ConfigSyntaxError, PmcError

GOLDEN = Path(__file__).parents[1] / "configs" / "golden"
MAIN = Peer("main", "192.168.1.105", "172.17.59.128")
BACKUP = Peer("backup", "192.168.1.108", "172.17.59.129")


def golden(name: str) -> str:
    return (GOLDEN / name).read_text()


def test_main_spoolers_become_the_manuals_backup_spoolers() -> None:
    assert adapt_spoolers(golden("spoolers-main.json"), MAIN, BACKUP) == golden(
        "spoolers-backup.json"
    )
    assert adapt_spoolers(golden("spoolers-backup.json"), BACKUP, MAIN) == golden(
        "spoolers-main.json"
    )


def test_installer_spoolers_name_the_target_only() -> None:
    text = golden("spoolers-installer.json")
    out = adapt_spoolers(text, MAIN, BACKUP)
    assert out == text.replace("192.168.1.105", "192.168.1.108")  # the one-line layout kept


def test_replicate_copy_config_addresses_reversed() -> None:
    assert adapt_replicate(golden("replicate-main.conf"), MAIN, BACKUP) == golden(
        "replicate-backup.conf"
    )
    assert adapt_replicate(golden("replicate-backup.conf"), BACKUP, MAIN) == golden(
        "replicate-main.conf"
    )


def test_replicate_web_addresses_reversed_without_the_manuals_typo() -> None:
    # the manual's backup file says 192.158.1.105 (a typo): PMC writes main's real address
    out = adapt_replicate(golden("replicate-web-main.conf"), MAIN, BACKUP)
    assert out == "192.168.1.108\n192.168.1.105\n"
    assert golden("replicate-web-backup.conf") != out


def test_a_third_server_and_comments_are_left_alone() -> None:
    text = "# copy config\r\n172.17.59.128\r\n  172.17.59.130\r\n"
    out = adapt_replicate(text, MAIN, BACKUP)
    assert out == "# copy config\r\n172.17.59.129\r\n  172.17.59.130\r\n"


def test_names_follow_addresses_only_for_the_two_servers() -> None:
    text = (
        '[{"name":"main","address":"192.168.1.105","type":"master"},'
        '{"name":"studio-3","address":"192.168.1.120","type":"spooler"}]\n'
    )
    out = adapt_spoolers(text, MAIN, BACKUP)
    assert '"name":"backup","address":"192.168.1.108","type":"master"' in out
    assert '"name":"studio-3","address":"192.168.1.120"' in out


def test_address_forms_are_compared_as_addresses() -> None:
    assert address_swap(Peer("a", "127.0.0.1"), Peer("b", "127.0.0.2")) == {
        "127.0.0.1": "127.0.0.2",
        "127.0.0.2": "127.0.0.1",
    }


def test_a_broken_file_is_refused_with_where() -> None:
    broken = '[\n  {"name":"main","address":"192.168.1.105","type":"master"},\n]\n'
    with pytest.raises(ConfigSyntaxError) as info:
        adapt("spoolers.json", broken.encode(), MAIN, BACKUP)
    assert "spoolers.json" in str(info.value)
    with pytest.raises(PmcError):
        adapt("replicate.conf", b"192.168.1.018\n", MAIN, BACKUP)
    with pytest.raises(PmcError):
        adapt("replicate.conf", b"\xff\xfe", MAIN, BACKUP)
