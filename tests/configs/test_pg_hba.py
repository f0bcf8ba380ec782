from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmc.configs import pg_hba
from pmc.errors import ConfigSyntaxError, InputError

from .helpers import changed_lines, golden
from .strategies import IPV4, pg_hba_files

SEED = golden("pg_hba.conf")
BEFORE = "".join(SEED.splitlines(keepends=True)[:12])  # the file before the manual's edit


def test_seed_file_round_trips_and_reads() -> None:
    doc = pg_hba.parse(SEED)
    assert doc.render() == SEED
    assert [(r.type, r.address, r.method) for r in doc.rules] == [
        ("local", None, "trust"),
        ("host", "127.0.0.1/32", "trust"),
        ("host", "::1/128", "trust"),
        ("host", "172.17.59.128/32", "trust"),
        ("host", "172.17.59.129/32", "trust"),
    ]


def test_the_manuals_edit_is_two_aligned_lines_at_the_bottom() -> None:
    doc = pg_hba.parse(BEFORE)
    assert doc.ensure_host_rule("all", "all", "172.17.59.128/32", "trust")
    assert doc.ensure_host_rule("all", "all", "172.17.59.129", "trust")  # bare = one host
    after = doc.render()
    assert after.startswith(BEFORE)
    assert after[len(BEFORE) :] == (
        "host    all             all             172.17.59.128/32        trust\n"
        "host    all             all             172.17.59.129/32        trust\n"
    )


def test_existing_equivalent_rules_are_recognised() -> None:
    doc = pg_hba.parse(SEED)
    assert not doc.ensure_host_rule("all", "all", "172.17.59.128/32", "trust")
    assert not doc.ensure_host_rule("all", "all", "172.17.59.129", "trust")
    masked = pg_hba.parse("host\tall\tall\t172.17.59.128\t255.255.255.255\ttrust\n")
    assert not masked.ensure_host_rule("all", "all", "172.17.59.128/32", "trust")
    assert doc.ensure_host_rule("all", "all", "172.17.59.128/32", "md5")  # other method


def test_appending_copies_the_seeds_own_columns() -> None:
    doc = pg_hba.parse(SEED)
    doc.ensure_host_rule("all", "all", "172.17.59.130/32", "trust")
    assert doc.render().endswith(
        "host    all         all         172.17.59.129/32         trust\n"
        "host    all         all         172.17.59.130/32         trust\n"
    )


def test_tabs_and_crlf_and_no_final_newline() -> None:
    doc = pg_hba.parse("local\tall\tall\ttrust\r\nhost\tall\tall\t127.0.0.1/32\ttrust")
    doc.ensure_host_rule("all", "all", "172.17.59.128/32", "trust")
    assert doc.render() == (
        "local\tall\tall\ttrust\r\nhost\tall\tall\t127.0.0.1/32\ttrust\r\n"
        "host\tall\tall\t172.17.59.128/32\ttrust"
    )


def test_remove_host_rule() -> None:
    doc = pg_hba.parse(SEED)
    assert doc.remove_host_rule("all", "all", "172.17.59.129/32", "trust")
    assert doc.render() == SEED.replace(
        "host    all         all         172.17.59.129/32         trust\n", ""
    )
    assert not doc.remove_host_rule("all", "all", "172.17.59.129/32", "trust")


def test_shadowing_record_is_found() -> None:
    doc = pg_hba.parse("host all all 0.0.0.0/0 reject\nhost all all 172.17.59.128/32 trust\n")
    shadow = doc.shadowing("all", "all", "172.17.59.128/32", "trust")
    assert shadow is not None
    assert (shadow.line, shadow.method) == (1, "reject")
    assert pg_hba.parse(SEED).shadowing("all", "all", "172.17.59.128/32", "trust") is None


def test_includes_continuations_and_quotes_are_read() -> None:
    text = 'include_dir conf.d\nhost "my db" all \\\n  10.0.0.0/8 md5\n'
    doc = pg_hba.parse(text)
    assert doc.render() == text
    assert [(i.kind, i.path) for i in doc.includes] == [("include_dir", "conf.d")]
    (rule,) = doc.rules
    assert (rule.database, rule.address, rule.line) == ('"my db"', "10.0.0.0/8", 2)


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("host all all 172.17.59.018/32 trust\n", 1, 14, "leading zero"),
        ("# c\nhots all all 127.0.0.1/32 trust\n", 2, 1, "unknown connection type"),
        ("host all all 127.0.0.1/32 trusted\n", 1, 27, "unknown authentication method"),
        ("host all all 127.0.0.1/32\n", 1, 1, "too few fields"),
        ("host all all 127.0.0.1/33 trust\n", 1, 14, "prefix length"),
        ("local all all trust clientcert\n", 1, 21, "name=value"),
        ('host "all all 127.0.0.1/32 trust\n', 1, 6, "double quote"),
    ],
)
def test_errors(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(ConfigSyntaxError, match=words) as caught:
        pg_hba.parse(text, path="/opt/playout/db/pg_hba.conf")
    assert (caught.value.line, caught.value.column) == (line, column), str(caught.value)


def test_bad_edits_change_nothing() -> None:
    doc = pg_hba.parse(SEED)
    for args in (
        ("all", "all", "172.17.59.018/32", "trust"),
        ("all", "all", "10.0.0.1/8", "trust"),
        ("a b", "all", "10.0.0.1", "trust"),
        ("all", "all", "10.0.0.1", "bogus"),
    ):
        with pytest.raises(InputError):
            doc.ensure_host_rule(*args)
    assert doc.render() == SEED


@given(pg_hba_files())
def test_untouched_round_trip(text: str) -> None:
    assert pg_hba.parse(text).render() == text


@given(pg_hba_files(), IPV4, st.sampled_from(["trust", "md5"]), st.booleans())
def test_edits_are_idempotent_and_minimal(text: str, address: str, method: str, add: bool) -> None:
    doc = pg_hba.parse(text)
    edit = doc.ensure_host_rule if add else doc.remove_host_rule
    changed = edit("all", "all", address, method)
    once = doc.render()
    if add:
        assert changed_lines(text, once) <= 2  # the new line (and a final newline added)
    assert not edit("all", "all", address, method)
    assert doc.render() == once
    again = pg_hba.parse(once)
    assert again == doc
    assert not (again.ensure_host_rule if add else again.remove_host_rule)(
        "all", "all", address, method
    )
    assert changed or once == text
