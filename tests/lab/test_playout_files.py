"""Playout's files of a lab server in state fresh and redundant."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from pmc.lab.playout import SCRIPTS
from pmc.lab.playout.files import playout_files


@dataclass(frozen=True)
class Server:
    name: str
    role: str
    management_address: str
    redundancy_address: str | None


MAIN = Server("main", "main", "127.168.1.105", "127.17.59.128")
BACKUP = Server("backup", "backup", "127.168.1.108", "127.17.59.129")
PLAYER = Server("player1", "player", "127.168.1.111", None)


def _files(server: Server, peers: list[Server], state: str) -> dict[str, tuple[bytes, int]]:
    return playout_files(server.name, server.role, server.management_address,
                         server.redundancy_address, peers, state)  # fmt: skip


def test_fresh_is_what_the_installer_writes() -> None:
    files = _files(MAIN, [BACKUP], "fresh")
    assert files["api/config/spoolers.json"] == (
        b'[{"name":"master","address":"127.168.1.105","type":"master"}]\n',
        0o644,
    )
    assert files["api/config/replicate.conf"][0] == b"127.168.1.105\n"
    assert ".failover-peer" not in files
    for script in SCRIPTS:
        content, mode = files[f"bin/{script}"]
        assert content.startswith(b"#!/bin/bash\n") and mode == 0o755


def test_redundant_main_and_backup_are_symmetric() -> None:
    main = _files(MAIN, [BACKUP, PLAYER], "redundant")
    backup = _files(BACKUP, [MAIN, PLAYER], "redundant")
    assert main["api/config/spoolers.json"][0].decode() == (
        "[\n"
        '  {"name":"main","address":"127.168.1.105","type":"master"},\n'
        '  {"name":"backup","address":"127.168.1.108","type":"spooler"},\n'
        '  {"name":"player1","address":"127.168.1.111","type":"spooler"}\n'
        "]\n"
    )
    assert json.loads(backup["api/config/spoolers.json"][0])[:2] == [
        {"name": "backup", "address": "127.168.1.108", "type": "master"},
        {"name": "main", "address": "127.168.1.105", "type": "spooler"},
    ]
    assert main["api/config/replicate.conf"][0] == b"127.17.59.128\n127.17.59.129\n"
    assert backup["api/config/replicate.conf"][0] == b"127.17.59.129\n127.17.59.128\n"
    assert backup[".failover-peer"][0] == b"127.17.59.128\n"
    assert main[".failover-peer"][0] == b"127.17.59.129\n"
    player = _files(PLAYER, [MAIN, BACKUP], "redundant")
    assert (
        player["api/config/spoolers.json"]
        == _files(PLAYER, [MAIN, BACKUP], "fresh")["api/config/spoolers.json"]
    )


def test_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown lab state"):
        _files(MAIN, [], "half")
