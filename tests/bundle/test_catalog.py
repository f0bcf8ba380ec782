"""pmc.catalog: one reading of a Playout database's catalog for bundles, sync and verify."""

from __future__ import annotations

from pmc.catalog import PART_DATABASE, PART_EPG, parse_catalog, parse_catalog_text, part_of

ROWS = [
    ("c", "dvb_services", "service_id", "integer", ""),
    ("c", "dvb_services", "name", "text", ""),
    ("c", "networks", "id", "integer", ""),
    ("c", "eit_event", "event_id", "integer", ""),
    ("c", "eit_event", "service_id", "integer", ""),
    ("c", "ts_outputs", "id", "integer", ""),
    ("c", "replication_status", "state", "text", ""),
    ("c", "a_loop", "id", "integer", ""),
    ("c", "b_loop", "id", "integer", ""),
    ("p", "dvb_services", "service_id", "", ""),
    ("p", "networks", "id", "", ""),
    ("p", "eit_event", "event_id,service_id", "", ""),
    ("f", "eit_event", "dvb_services", "service_id", "service_id"),
    ("f", "dvb_services", "networks", "name", "id"),
    ("f", "a_loop", "b_loop", "id", "id"),
    ("f", "b_loop", "a_loop", "id", "id"),
]


def test_parts_order_keys_and_cycles() -> None:
    found = parse_catalog(ROWS)
    order = list(found.order)
    assert order.index("networks") < order.index("dvb_services") < order.index("eit_event")
    assert found.cycles == ("a_loop", "b_loop") and order[-2:] == ["a_loop", "b_loop"]
    assert found.per_server == ["replication_status", "ts_outputs"]
    assert found.epg == ["eit_event"]
    assert found.configuration_tables() == ["networks", "dvb_services"]  # with a primary key
    assert found.tables["eit_event"].primary_key == ("event_id", "service_id")
    assert found.tables["dvb_services"].columns == (("service_id", "integer"), ("name", "text"))
    assert found.dependents({"networks"}) == ["dvb_services", "eit_event"]
    assert ("eit_event", "dvb_services") in found.edges
    assert part_of("eit_event_2") == PART_EPG and part_of("carousels") == PART_DATABASE
    assert part_of("ts_outputs") is None


def test_psql_text_gives_the_same_catalog() -> None:
    text = "\n".join("\t".join(r) for r in ROWS) + "\n"
    assert parse_catalog_text(text) == parse_catalog(ROWS)
