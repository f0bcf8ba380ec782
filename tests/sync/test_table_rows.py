"""The delta engine's database side against two real PostgreSQL 15 instances (no SSH)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from pmc.errors import Cancelled
from pmc.lab import playout
from pmc.lab.playout import seed
from pmc.playout_database import connect
from pmc.sync import table_rows
from tests.lab import playout_pg

pytestmark = pytest.mark.skipif(bool(playout_pg.available()), reason=str(playout_pg.available()))

Pair = tuple[playout_pg.Instance, playout_pg.Instance]


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    first, second = playout_pg.address_pair()
    primary = playout_pg.start(first, 5433)
    secondary = playout_pg.start(second, 5433)
    try:
        yield primary, secondary
    finally:
        primary.stop()
        secondary.stop()


@pytest.fixture()
def same(pair: Pair) -> Pair:
    for pg, server in zip(pair, ("main", "backup"), strict=True):
        pg.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        seed.seed(pg.dsn, 400, with_schema=True, server="main")
        pg.psql("UPDATE ts_outputs SET name = name || ' " + server + "'")
    return pair


def changes(primary: playout_pg.Instance) -> None:
    primary.psql(
        "INSERT INTO dvb_services (service_id, name, provider) VALUES (5, 'Icareus 5', 'Icareus');"
        "UPDATE dvb_services SET name = 'Icareus 2 HD' WHERE service_id = 2;"
        "DELETE FROM eit_event WHERE (service_id, event_id) IN"
        " (SELECT service_id, event_id FROM eit_event ORDER BY 1, 2 LIMIT 1);"
    )


def first_event(pg: playout_pg.Instance) -> str:
    return pg.psql(
        "SELECT service_id || ',' || event_id FROM eit_event ORDER BY service_id, event_id LIMIT 1"
    )


def connections(pair: Pair) -> tuple[psycopg.Connection[tuple[object, ...]], ...]:
    """Sessions with the sync's settings (as through the tunnels), the primary in the sync's
    repeatable-read snapshot."""
    primary, secondary = (
        connect(pg.dsn, name, options=table_rows.SESSION_OPTIONS, refused=table_rows.unreachable)
        for pg, name in zip(pair, ("main", "backup"), strict=True)
    )
    primary.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return primary, secondary


def test_schema_comes_from_the_catalog_in_fk_order(same: Pair) -> None:
    p, s = connections(same)
    with p, s:
        schema = table_rows.read_schema(p)
        edges = p.execute(table_rows.FKEYS_SQL).fetchall()
        assert len(edges) > 10
        for child, parent in edges:
            if child in schema.names and child != parent:
                assert schema.names.index(str(parent)) < schema.names.index(str(child))
        assert set(schema.names) == set(playout.REPLICATED_TABLES)
        assert dict(schema.skipped).keys() == {"ts_outputs", "replication_status"}
        with_ts = table_rows.read_schema(p, include_ts_outputs=True)
        assert "ts_outputs" in with_ts.names


def test_compare_finds_exactly_the_changed_rows(same: Pair) -> None:
    primary = same[0]
    gone = first_event(primary).split(",")
    changes(primary)
    p, s = connections(same)
    with p, s:
        schema = table_rows.read_schema(p)
        delta = table_rows.compare(p, s, schema).delta
        changed = {t.table: t for t in delta.changed}
        assert set(changed) == {"dvb_services", "eit_event"}
        assert changed["dvb_services"].only_primary == (("5",),)
        assert changed["dvb_services"].differing == (("2",),)
        assert changed["eit_event"].only_secondary == (tuple(gone),)
        assert delta.changes == 3


def test_apply_makes_the_secondary_equal_and_leaves_ts_outputs(same: Pair) -> None:
    primary, secondary = same
    changes(primary)
    ts_before = secondary.psql("SELECT string_agg(name, '|' ORDER BY id) FROM ts_outputs")
    p, s = connections(same)
    with p, s:
        schema = table_rows.read_schema(p)
        comparison = table_rows.compare(p, s, schema)
        done = table_rows.apply_delta(p, s, schema, comparison, cancel=threading.Event())
        assert done == 3
        assert table_rows.compare(p, s, schema).delta.is_empty
    assert secondary.psql("SELECT name FROM dvb_services WHERE service_id = 5") == "Icareus 5"
    assert secondary.psql("SELECT string_agg(name, '|' ORDER BY id) FROM ts_outputs") == ts_before


def test_cancel_between_tables_rolls_everything_back(same: Pair) -> None:
    primary, secondary = same
    changes(primary)
    before = secondary.psql(
        "SELECT md5(string_agg(d::text, '|' ORDER BY service_id)) FROM dvb_services d"
    )
    events_before = secondary.psql("SELECT count(*) FROM eit_event")
    cancel = threading.Event()
    reports: list[str] = []

    def report(message: str) -> None:
        reports.append(message)
        cancel.set()  # the operator presses Cancel after the first table

    p, s = connections(same)
    with p, s:
        schema = table_rows.read_schema(p)
        comparison = table_rows.compare(p, s, schema)
        with pytest.raises(Cancelled):
            table_rows.apply_delta(p, s, schema, comparison, cancel=cancel, report=report)
    assert len(reports) == 1
    after = secondary.psql(
        "SELECT md5(string_agg(d::text, '|' ORDER BY service_id)) FROM dvb_services d"
    )
    assert after == before
    assert secondary.psql("SELECT count(*) FROM eit_event") == events_before
