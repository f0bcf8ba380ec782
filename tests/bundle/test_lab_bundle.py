"""Bundles against the rehearsal lab: export main, import into backup (real servers, services)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import paramiko
import psycopg
import pytest

from pmc.bundle.export import ExportOptions, export_bundle
from pmc.bundle.importer import ImportOptions, ImportResult, import_bundle
from pmc.inventory import AuthMethod, Role, Server
from pmc.lab import LabCluster
from pmc.lab.playout import CONFIG_TABLES, EPG_TABLES
from pmc.remote.connection import Connection
from pmc.remote.host_keys import KnownHosts, TrustFingerprints, fingerprint

pytestmark = [pytest.mark.lab, pytest.mark.timeout(600)]
T = TypeVar("T")


class _Passwords:
    def __init__(self, lab: LabCluster) -> None:
        self.lab = lab

    def ssh_password(self, cluster: str, server: str) -> str | None:
        return self.lab.servers[server].root_password

    def key_passphrase(self, cluster: str, server: str) -> str | None:
        return None


def lab_connection(lab: LabCluster, name: str, known_hosts: Path) -> Connection:
    srv = lab.servers[name]
    kind, blob = srv.host_key().split()[:2]
    fp = fingerprint(paramiko.PKey.from_type_string(kind, base64.b64decode(blob)))
    server = Server(
        name=name,
        management_address=srv.management_address,
        redundancy_address=srv.redundancy_address,
        role=Role.MAIN if name == "main" else Role.BACKUP,
        auth=AuthMethod.PASSWORD,
    )
    return Connection(
        server,
        cluster="lab",
        known_hosts=KnownHosts(known_hosts),
        credentials=_Passwords(lab),
        trust=TrustFingerprints([fp]),
    )


def in_lab(lab: LabCluster, work: Callable[[], Awaitable[T]]) -> T:
    return lab.call_in_operator_namespace(lambda: asyncio.run(work()))  # type: ignore[no-any-return]


def digest(dsn: str, tables: tuple[str, ...]) -> dict[str, str]:
    out = {}
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for table in tables:
            h = hashlib.sha256()
            with cur.copy(f"COPY (SELECT * FROM {table} ORDER BY 1, 2) TO STDOUT") as cp:
                for block in cp:
                    h.update(block)
            out[table] = h.hexdigest()
    return out


def _roundtrip(lab: LabCluster, tmp: Path, *, epg: bool) -> ImportResult:
    bundle = tmp / f"main-{'epg' if epg else 'config'}.pmcbundle"

    async def go() -> ImportResult:
        main = lab_connection(lab, "main", tmp / "known_hosts")
        backup = lab_connection(lab, "backup", tmp / "known_hosts")
        try:
            await export_bundle(main, bundle, ExportOptions(epg=epg))
            return await import_bundle(
                backup, bundle, ImportOptions(backup_dir=tmp / "backups", addresses="keep")
            )
        finally:
            await main.close()
            await backup.close()

    return in_lab(lab, go)


def test_export_main_import_backup_config_tables_match(fresh_lab: Any, tmp_path: Path) -> None:
    lab: LabCluster = fresh_lab
    main, backup = lab.servers["main"], lab.servers["backup"]
    epg_before = digest(backup.postgres_dsn, EPG_TABLES)
    try:
        result = _roundtrip(lab, tmp_path, epg=False)
        assert digest(main.postgres_dsn, CONFIG_TABLES) == digest(
            backup.postgres_dsn, CONFIG_TABLES
        )
        assert digest(backup.postgres_dsn, EPG_TABLES) == epg_before or result.notes
        assert result.backup is not None and result.backup.exists()
        assert "skipped" in result.config_actions["spoolers.json"]
        assert backup.systemctl("is-active", "playout-api").stdout.strip() == "active"
        for key in ("carousel", "av", "ts"):
            ours = sorted(p.name for p in main.path(f"/opt/playout/data/{key}").rglob("*"))
            theirs = sorted(p.name for p in backup.path(f"/opt/playout/data/{key}").rglob("*"))
            assert ours == theirs
    finally:
        lab.reset()


def test_with_epg_the_epg_matches_too(fresh_lab: Any, tmp_path: Path) -> None:
    lab: LabCluster = fresh_lab
    main, backup = lab.servers["main"], lab.servers["backup"]
    try:
        _roundtrip(lab, tmp_path, epg=True)
        tables = CONFIG_TABLES + EPG_TABLES
        assert digest(main.postgres_dsn, tables) == digest(backup.postgres_dsn, tables)
    finally:
        lab.reset()
