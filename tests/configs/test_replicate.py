from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmc.configs import replicate
from pmc.errors import ConfigSyntaxError, InputError

from .helpers import golden
from .strategies import ADDRESS, replicate_files


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("replicate-main.conf", ["172.17.59.128", "172.17.59.129"]),
        ("replicate-backup.conf", ["172.17.59.129", "172.17.59.128"]),
        ("replicate-web-main.conf", ["192.168.1.105", "192.168.1.108"]),
        ("replicate-web-backup.conf", ["192.168.1.108", "192.158.1.105"]),  # seed's typo: valid
    ],
)
def test_seed_files(name: str, expected: list[str]) -> None:
    text = golden(name)
    doc = replicate.parse(text)
    assert [str(a) for a in doc.addresses] == expected
    assert doc.render() == text


def test_seed_leading_zero_typo_is_reported_with_line_and_column() -> None:
    with pytest.raises(ConfigSyntaxError) as caught:
        replicate.parse("192.168.1.105\n  192.168.1.018\n", path="/opt/playout/api/config/r")
    err = caught.value
    assert (err.line, err.column) == (2, 3)
    assert str(err).startswith("/opt/playout/api/config/r:2:3: the address '192.168.1.018'")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("172.17.59.128 172.17.59.129\n", "more than an address"),
        ("172.17.59.128 # main\n", "more than an address"),
        ("172.17.59.128\n172.17.59.128\n", "listed twice"),
        ("main\n", "not an IP address"),
    ],
)
def test_bad_files(text: str, words: str) -> None:
    with pytest.raises(ConfigSyntaxError, match=words):
        replicate.parse(text)


def test_reversing_for_the_backup_keeps_comments() -> None:
    text = "# copy config peers\r\n172.17.59.128\r\n\r\n172.17.59.129\r\n"
    doc = replicate.parse(text)
    assert doc.set_addresses(["172.17.59.129", "172.17.59.128"])
    assert doc.render() == "# copy config peers\r\n172.17.59.129\r\n\r\n172.17.59.128\r\n"
    assert not doc.set_addresses(["172.17.59.129", "172.17.59.128"])


def test_growing_and_shrinking() -> None:
    doc = replicate.parse("172.17.59.128")  # the installer's: no final newline
    doc.set_addresses(["172.17.59.128", "172.17.59.129"])
    assert doc.render() == "172.17.59.128\n172.17.59.129"
    doc.set_addresses(["172.17.59.130"])
    assert doc.render() == "172.17.59.130"


def test_bad_edits_change_nothing() -> None:
    doc = replicate.parse("172.17.59.128\n")
    for bad in ([], ["172.17.59.128", "172.17.59.128"], ["172.17.59.018"]):
        with pytest.raises(InputError):
            doc.set_addresses(bad)
    assert doc.render() == "172.17.59.128\n"


@given(replicate_files())
def test_untouched_round_trip(text: str) -> None:
    assert replicate.parse(text).render() == text


@given(replicate_files(), st.lists(ADDRESS, min_size=1, max_size=4, unique=True))
def test_set_addresses_is_idempotent_and_reparses(text: str, wanted: list[str]) -> None:
    doc = replicate.parse(text)
    doc.set_addresses(wanted)
    once = doc.render()
    assert [str(a) for a in doc.addresses] == [str(ipaddress.ip_address(a)) for a in wanted]
    assert not doc.set_addresses(wanted)
    assert doc.render() == once
    again = replicate.parse(once)
    assert again == doc
    assert not again.set_addresses(wanted)
    comments = [line for line in text.lstrip("\ufeff").splitlines() if "#" in line]
    assert all(c in once for c in comments)
