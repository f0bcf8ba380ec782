"""What a crafted manifest says is not trusted where it would loosen the target's own rules.
Real OpenSSH and PostgreSQL (see conftest.py); the hostile bundle is a *valid* one (checksums
and row counts recomputed), as an attacker would write it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import psycopg
import pytest

from pmc.bundle import errors
from pmc.bundle.manifest import Manifest
from tests.bundle.conftest import PlayoutHost
from tests.bundle.test_refusals_sshd import rewrite
from tests.bundle.test_untrusted_sshd import ALL_TABLES, _import

pytestmark = pytest.mark.timeout(300)
DANGLING = 65535  # a service_id no dvb_services row has


def _dangling_row(name: str, data: bytes) -> bytes:
    """network_services gains a row of a service that does not exist."""
    if name != "db/network_services.copy":
        return data
    network = data.split(b"\t", 1)[0]
    return data + network + b"\t%d\n" % DANGLING


def _with_cycle(m: Manifest) -> Manifest:
    return dataclasses.replace(m, fk_cycles=("network_services",))


def test_a_manifest_claiming_a_foreign_key_cycle_does_not_switch_the_targets_checks_off(
    playout_pair: tuple[PlayoutHost, PlayoutHost], good: Path, tmp_path: Path
) -> None:
    """The target's catalog decides whether its tables are loaded with foreign-key triggers
    off, never the bundle. Before, any name in the manifest's fk_cycles made the import swap
    every table as a replica: a row of network_services naming a service that does not exist
    was imported (the target then held a reference PostgreSQL otherwise never allows)."""
    _, backup = playout_pair
    bad = rewrite(good, tmp_path / "bad.pmcbundle", _with_cycle, tables=_dangling_row)
    before = backup.table_digest(ALL_TABLES)
    with pytest.raises(errors.BundleOperationFailed) as info:
        _import(backup, tmp_path, bad)
    assert "violates foreign key constraint" in str(info.value)
    assert "Nothing live was changed on the server" in str(info.value)
    assert backup.table_digest(ALL_TABLES) == before
    with psycopg.connect(backup.dsn) as conn:
        found = conn.execute(
            "SELECT count(*) FROM network_services WHERE service_id = %s", (DANGLING,)
        ).fetchone()
    assert found == (0,)
