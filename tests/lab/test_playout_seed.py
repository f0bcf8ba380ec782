"""The lab's playout database: schema, table lists, deterministic seed, data files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pmc.lab import playout
from pmc.lab.playout import seed
from tests.lab import playout_pg

pytestmark = pytest.mark.skipif(bool(playout_pg.available()), reason=str(playout_pg.available()))


@pytest.fixture(scope="module")
def pg() -> Iterator[playout_pg.Instance]:
    instance = playout_pg.start(*playout_pg.free_address())
    try:
        yield instance
    finally:
        instance.stop()


def _reset(pg: playout_pg.Instance) -> None:
    pg.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


def test_table_lists_cover_the_schema_in_foreign_key_order(pg: playout_pg.Instance) -> None:
    _reset(pg)
    pg.psql(playout.schema_sql())
    tables = set(pg.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").split())
    listed = playout.CONFIG_TABLES + playout.EPG_TABLES + playout.LOCAL_TABLES
    assert sorted(listed) == sorted(tables)
    # Slony needs a primary key on every replicated table.
    with_pk = set(
        pg.psql("SELECT conrelid::regclass FROM pg_constraint WHERE contype = 'p'").split()
    )
    assert tables <= with_pk
    edges = pg.psql(
        "SELECT conrelid::regclass || ' ' || confrelid::regclass FROM pg_constraint "
        "WHERE contype = 'f'"
    ).splitlines()
    order = {t: i for i, t in enumerate(playout.REPLICATED_TABLES)}
    for edge in edges:
        child, parent = edge.split()
        assert child in order, f"{child} references {parent} but is not replicated"
        assert order[parent] < order[child], edge
    assert not any(t in playout.REPLICATED_TABLES for t in playout.LOCAL_TABLES)


def test_copy_config_replicates_exactly_the_listed_tables() -> None:
    text = (playout.bin_dir() / "copy_config.sh").read_text()
    match = re.search(r'^TABLES="([^"]*)"', text, re.M)
    assert match
    assert tuple(match.group(1).split()) == playout.REPLICATED_TABLES


def test_seed_fills_every_table_with_the_icareus_line_up(pg: playout_pg.Instance) -> None:
    _reset(pg)
    counts = seed.seed(pg.dsn, 300, with_schema=True)
    assert sum(v for t, v in counts.items()) == 302  # 300 + the two per-server TS outputs
    for table, count in counts.items():
        assert int(pg.psql(f"SELECT count(*) FROM {table}")) == count, table
    assert pg.psql("SELECT service_id, name, provider FROM dvb_services WHERE service_id < 100 "
                   "ORDER BY 1").splitlines() == [
        f"{i}|Icareus {i}|Icareus" for i in range(1, 5)
    ]  # fmt: skip
    assert pg.psql("SELECT status FROM replication_status") == "stopped"
    assert pg.psql("SELECT count(*) FROM dvb_services WHERE service_id = 5") == "0"


def test_seed_is_deterministic_and_psql_scripts_give_the_same_rows(
    pg: playout_pg.Instance,
) -> None:
    _reset(pg)
    seed.seed(pg.dsn, 2000, with_schema=True)
    first = pg.psql("SELECT md5(string_agg(e::text, ',' ORDER BY service_id, event_id)) "
                    "FROM eit_event e")  # fmt: skip
    descriptors = pg.psql("SELECT md5(string_agg(d::text, ',' ORDER BY id)) FROM descriptors d")
    _reset(pg)
    scripts: list[str] = []
    seed.seed(scripts.append, 2000, with_schema=True)
    playout_pg.as_postgres(
        str(playout_pg.PG_BIN / "psql"), "-X", "-q", "-h", pg.socket_dir, "-p", str(pg.port),
        "-d", "playout", input=scripts[0],
    )  # fmt: skip
    assert pg.psql("SELECT md5(string_agg(e::text, ',' ORDER BY service_id, event_id)) "
                   "FROM eit_event e") == first  # fmt: skip
    assert pg.psql("SELECT md5(string_agg(d::text, ',' ORDER BY id)) FROM descriptors d") == (
        descriptors
    )
    assert "\t" in pg.psql("SELECT extended_info FROM eit_event LIMIT 1")


def test_seed_loads_a_hundred_thousand_rows(pg: playout_pg.Instance) -> None:
    _reset(pg)
    counts = seed.seed(pg.dsn, 100_000, with_schema=True)
    with psycopg.connect(pg.dsn) as conn:
        row = conn.execute("SELECT count(*) FROM eit_event").fetchone()
    assert row is not None and row[0] == counts["eit_event"] > 90_000


def test_data_files_are_deterministic(tmp_path: Path) -> None:
    sizes = seed.write_data_files(tmp_path / "a", 2)
    seed.write_data_files(tmp_path / "b", 2)
    assert {p.split("/")[0] for p in sizes} == {"carousel", "av", "ts"}
    assert 2 * (1 << 20) * 0.95 < sum(sizes.values()) <= 2 * (1 << 20) + 5000
    for rel, size in sizes.items():
        a = (tmp_path / "a" / rel).read_bytes()
        assert len(a) == size
        assert a == (tmp_path / "b" / rel).read_bytes()
    small = seed.write_data_files(tmp_path / "c", 0)
    assert all(size < 1000 for size in small.values())
