from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmc.configs import postgresql_conf as pgconf
from pmc.errors import ConfigSyntaxError, InputError

from .helpers import changed_lines, golden
from .strategies import PG_PARAMS, postgresql_files

SEED = golden("postgresql.conf")
SEED_LISTEN = "listen_addresses = '*'                  # what IP address(es) to listen on;"
DEFAULT_LISTEN = "#listen_addresses = 'localhost'         # what IP address(es) to listen on;"
PRISTINE = SEED.replace(SEED_LISTEN, DEFAULT_LISTEN)  # PostgreSQL's own file, before the manual


def test_seed_excerpt_reads_and_round_trips() -> None:
    doc = pgconf.parse(SEED)
    assert doc.render() == SEED
    assert doc.get("listen_addresses") == "*"
    assert doc.get("port") == "5432"
    assert doc.get("unix_socket_directories") == "/var/run/postgresql, /tmp"
    assert doc.get("unix_socket_group") == ""
    assert doc.get("bonjour") is None  # a commented default is not a setting


def test_in_place_edit_keeps_the_comment_column() -> None:
    doc = pgconf.parse(SEED.replace("'*'" + " " * 18, "'localhost'" + " " * 10))
    assert doc.set("listen_addresses", "*")
    assert doc.render() == SEED


def test_commented_default_stays_and_the_setting_follows_it() -> None:
    doc = pgconf.parse(PRISTINE)
    assert doc.get("listen_addresses") is None
    assert doc.set("listen_addresses", "*")
    assert doc.render() == PRISTINE.replace(
        DEFAULT_LISTEN + "\n", DEFAULT_LISTEN + "\nlisten_addresses = '*'\n"
    )
    assert not doc.set("listen_addresses", "*")


def test_last_assignment_wins() -> None:
    text = "port = 5432\nlisten_addresses = 'localhost'  # first\nPORT=5433\n"
    doc = pgconf.parse(text)
    assert doc.get("port") == "5433"
    assert doc.get("Listen_Addresses") == "localhost"
    assert doc.set("port", 5432)  # the later, effective line is the one that changes
    assert doc.render() == "port = 5432\nlisten_addresses = 'localhost'  # first\nPORT=5432\n"
    assert not doc.set("port", "5432")


def test_includes_are_exposed_and_never_mangled() -> None:
    text = "include 'a.conf'\nport = 5432\ninclude_if_exists = 'b.conf'\ninclude_dir conf.d\n"
    doc = pgconf.parse(text)
    assert [(i.kind, i.path, i.line) for i in doc.includes] == [
        ("include", "a.conf", 1),
        ("include_if_exists", "b.conf", 3),
        ("include_dir", "conf.d", 4),
    ]
    assert [e[2] for e in doc.entries()] == [1, 2, 3, 4]
    assert doc.get("include") is None
    doc.set("port", 5433)
    doc.set("listen_addresses", "*")
    assert doc.render() == text.replace("5432", "5433") + "listen_addresses = '*'\n"
    with pytest.raises(InputError):
        doc.set("include_dir", "x")


def test_quoting() -> None:
    doc = pgconf.parse("")
    doc.set("search_path", "it's \\ here")
    doc.set("ssl", True)
    doc.set("work_mem", 64)
    assert doc.render() == "search_path = 'it''s \\\\ here'\nssl = on\nwork_mem = 64\n"
    again = pgconf.parse(doc.render())
    assert again.get("search_path") == "it's \\ here"
    assert not again.set("ssl", True)
    assert pgconf.unquote(r"'a\'b\nc'") == "a'b\nc"


def test_remove_comments_out() -> None:
    doc = pgconf.parse("port = 5432 # x\n  port=5433\n")
    assert doc.remove("port")
    assert doc.render() == "#port = 5432 # x\n  #port=5433\n"
    assert doc.get("port") is None
    assert not doc.remove("port")


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("port = 5432\nlisten_addresses = 'localhost\n", 2, 20, "no closing quote"),
        ("port =\n", 1, 7, "has no value"),
        ("port = 5432 5433\n", 1, 13, "unexpected text"),
        ("  = 5432\n", 1, 3, "expected a parameter name"),
    ],
)
def test_errors(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(ConfigSyntaxError, match=words) as caught:
        pgconf.parse(text)
    assert (caught.value.line, caught.value.column) == (line, column), str(caught.value)


VALUES = st.one_of(st.text(alphabet="ab '\\*,/", max_size=8), st.integers(0, 9999), st.booleans())


@given(postgresql_files())
def test_untouched_round_trip(text: str) -> None:
    assert pgconf.parse(text).render() == text


@given(postgresql_files(), st.sampled_from(PG_PARAMS), VALUES)
def test_set_is_idempotent_minimal_and_effective(
    text: str, name: str, value: str | int | bool
) -> None:
    doc = pgconf.parse(text)
    doc.set(name, value)
    once = doc.render()
    assert changed_lines(text, once) <= 2
    again = pgconf.parse(once)
    assert again == doc
    current = again.get(name)
    assert current is not None
    assert pgconf.same_value(current, value)
    assert not doc.set(name, value)
    assert not again.set(name, value)
    assert doc.render() == once


@given(postgresql_files(), st.sampled_from(PG_PARAMS))
def test_remove_is_idempotent(text: str, name: str) -> None:
    doc = pgconf.parse(text)
    doc.remove(name)
    once = doc.render()
    assert doc.get(name) is None
    assert pgconf.parse(once) == doc
    assert not doc.remove(name)
