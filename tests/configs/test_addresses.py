from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmc.configs.addresses import parse_address, parse_network
from pmc.errors import InputError

from .strategies import NETWORKS


def test_seed_typo_with_leading_zero_is_an_error_that_says_why() -> None:
    with pytest.raises(InputError) as caught:
        parse_address("192.168.1.018", where="replicate.conf:2")
    message = str(caught.value)
    assert message.startswith("replicate.conf:2: the address '192.168.1.018'")
    assert "leading zero" in message
    assert "read it differently" in message
    assert "probably a typo" in message


def test_seed_address_outside_the_subnet_is_still_a_valid_address() -> None:
    assert parse_address("192.158.1.105") == ipaddress.IPv4Address("192.158.1.105")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        (" 192.168.1.105", "spaces"),
        ("192.168.1.105\t", "spaces"),
        ("192.168.1.256", "above 255"),
        ("192.168.1", "not a complete"),
        ("192.168.1.1.1", "not a complete"),
        ("010.0.0.1", "leading zero"),
        ("playout-main", "not an IP address"),
        ("main.example.org", "not an IP address"),
        ("fe80::1%eth2", "scope"),
        ("2001:db8:::1", "not a valid IPv6"),
        ("0x7f.0.0.1", "not an IP address"),
        ("١٢٧.0.0.1", "not an IP address"),
        ("192.1680.1.1", "above 255"),
        # more digits than Python's int() reads: a ValueError escaped from the codecs before
        ("192." + "9" * 5000 + ".1.1", "a number of 5000 digits"),
        ("192.168.1." + "0" * 5000, "a number of 5000 digits"),
        ("0" * 5000 + ".1.1.1", "a number of 5000 digits"),
    ],
)
def test_non_canonical_addresses_are_refused(text: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        parse_address(text)


@given(st.ip_addresses())
def test_every_canonical_address_parses_to_itself(address: ipaddress._BaseAddress) -> None:
    assert parse_address(str(address)) == address


@given(NETWORKS)
def test_every_canonical_network_parses_to_itself(network: ipaddress._BaseNetwork) -> None:
    assert parse_network(str(network)) == network


def test_network_rules() -> None:
    assert str(parse_network("172.17.59.128/32")) == "172.17.59.128/32"
    with pytest.raises(InputError, match="host bits"):
        parse_network("172.17.59.128/24")
    assert str(parse_network("172.17.59.128/24", strict_host_bits=False)) == "172.17.59.0/24"
    for bad, words in [
        ("172.17.59.128", "no /prefix"),
        ("172.17.59.128/33", "prefix length"),
        ("172.17.59.128/032", "prefix length"),
        ("172.17.59.018/32", "leading"),
    ]:
        with pytest.raises(InputError, match=words):
            parse_network(bad)
