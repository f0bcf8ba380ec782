"""What a crafted manifest says is not trusted where it would loosen the target's own rules.
Real OpenSSH and PostgreSQL (see conftest.py); the hostile bundle is a *valid* one (checksums
and row counts recomputed), as an attacker would write it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import psycopg
import pytest

from pmc.bundle import errors
from pmc.bundle.manifest import Manifest, TableSpec
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


TS_OUTPUTS = (
    ("id", "integer"), ("name", "text"), ("kind", "text"), ("network_id", "integer"),
    ("ts_id", "integer"), ("address", "text"), ("port", "integer"), ("asi_card", "integer"),
    ("asi_port", "integer"), ("bitrate_bps", "bigint"), ("enabled", "boolean"),
)  # fmt: skip


def test_a_per_server_table_slipped_into_the_database_part_is_refused(
    playout_pair: tuple[PlayoutHost, PlayoutHost], good: Path, tmp_path: Path
) -> None:
    """Before, a bundle that listed ts_outputs in its database part (with a member) replaced
    the target's own TS outputs: an output to 127.99.0.1 appeared on the backup."""
    _, backup = playout_pair
    bad = rewrite(
        good,
        tmp_path / "bad.pmcbundle",
        lambda m: dataclasses.replace(
            m, tables=(*m.tables, TableSpec("ts_outputs", "database", TS_OUTPUTS))
        ),
        extra={"db/ts_outputs.copy": b"99\tEVIL\tudp\t1\t1\t127.99.0.1\t1234\t\\N\t\\N\t1000\tt\n"},
    )
    before = backup.table_digest(ALL_TABLES)
    with pytest.raises(errors.NotABundle) as info:
        _import(backup, tmp_path, bad)
    assert info.value.what == (
        "the bundle's manifest lists table ts_outputs in its database part, but each server "
        "keeps its own ts_outputs: an import never replaces it"
    )
    assert info.value.where == str(bad)
    assert backup.table_digest(ALL_TABLES) == before
    assert not (tmp_path / "backups").exists()  # refused before the target was touched
