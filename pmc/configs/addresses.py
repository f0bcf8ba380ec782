"""Strict IP address and network parsing for every file and form PMC reads.

Python's :mod:`ipaddress` and the C library disagree about odd spellings, and Playout's own
manual shows why that matters: it writes the backup's address as ``192.168.1.018``. Depending
on the tool, an octet with a leading zero is read as decimal (18), as octal (``017`` = 15) or
rejected, so the same text means different servers to different programs. PMC therefore
accepts only the canonical spelling and reports anything else as a probable typo:

- IPv4: exactly four decimal numbers 0–255 without leading zeros (``0`` itself is fine);
- IPv6: anything :class:`ipaddress.IPv6Address` accepts, without a ``%scope`` suffix;
- no spaces, no host names, nothing empty.

Whether an address *fits the cluster* (the manual's other typo, ``192.158.1.105`` among
``192.168.1.x`` servers) is a question for the inventory: ``192.158.1.105`` is a perfectly
valid address and is accepted here.
"""

from __future__ import annotations

import ipaddress
import re

from pmc.errors import InputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_DOTTED = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_PREFIX = re.compile(r"0|[1-9][0-9]{0,2}")


def _fail(what: str, where: str | None, hint: str) -> InputError:
    return InputError(what, where=where, hint=hint)


def parse_address(text: str, *, where: str | None = None) -> IPAddress:
    """Return the address ``text`` spells, or raise :class:`InputError` saying what is wrong.

    ``where`` (a file and line, a form field) is put in front of the message.
    """
    if not text:
        raise _fail("the address is empty", where, "Enter an IPv4 address such as 192.0.2.10.")
    if any(ch.isspace() for ch in text):
        raise _fail(
            f"the address {text!r} contains spaces or tabs",
            where,
            "Remove them; an address is written without spaces.",
        )
    if ":" in text:
        if "%" in text:
            raise _fail(
                f"the IPv6 address {text!r} has a %scope suffix",
                where,
                "Playout's files need a global address; remove the %scope part.",
            )
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            raise _fail(
                f"{text!r} is not a valid IPv6 address",
                where,
                "Check the address for typos.",
            ) from None
    if _DOTTED.fullmatch(text):
        return _parse_ipv4(text, where)
    raise _fail(
        f"{text!r} is not an IP address",
        where,
        "PMC needs numeric addresses such as 192.0.2.10, not host names.",
    )


def _parse_ipv4(text: str, where: str | None) -> ipaddress.IPv4Address:
    parts = text.split(".")
    if len(parts) != 4:
        raise _fail(
            f"{text!r} is not a complete IPv4 address",
            where,
            "Write four numbers from 0 to 255 separated by dots, e.g. 192.0.2.10.",
        )
    for part in parts:
        if len(part) > 9:  # no use reading it (and int() refuses more than 4300 digits)
            raise _fail(
                f"the address {text[:20]!r}… has a number of {len(part)} digits",
                where,
                "Each of the four numbers of an IPv4 address is between 0 and 255.",
            )
    for part in parts:
        if len(part) > 1 and part.startswith("0"):
            plain = ".".join(str(int(p)) for p in parts)
            raise _fail(
                f"the address {text!r} has a number with a leading zero ({part!r}); other"
                " tools would read it differently (some as an octal number, some not at"
                " all), so it is probably a typo",
                where,
                f"Correct it: write {plain} if that is what you meant, or the right address.",
            )
        if int(part) > 255:
            raise _fail(
                f"the address {text!r} has a number above 255 ({part})",
                where,
                "Each of the four numbers of an IPv4 address is between 0 and 255.",
            )
    return ipaddress.IPv4Address(text)


def parse_network(
    text: str, *, where: str | None = None, strict_host_bits: bool = True
) -> IPNetwork:
    """Parse ``address/prefix`` (CIDR, as in pg_hba.conf) with :func:`parse_address`'s rules.

    With ``strict_host_bits`` (the default, for what PMC writes) an address with bits set
    beyond the prefix, such as ``172.17.59.128/24``, is an error: PostgreSQL would silently
    match all of ``172.17.59.0/24``. Pass ``False`` to read existing files, which PostgreSQL
    accepts that way.
    """
    if "/" not in text:
        raise _fail(
            f"{text!r} has no /prefix length",
            where,
            "Write the network in CIDR form, e.g. 172.17.59.128/32 for one host.",
        )
    address_text, _, prefix_text = text.partition("/")
    address = parse_address(address_text, where=where)
    if not _PREFIX.fullmatch(prefix_text) or int(prefix_text) > address.max_prefixlen:
        raise _fail(
            f"{text!r} has an invalid prefix length {prefix_text!r}",
            where,
            f"Use a number from 0 to {address.max_prefixlen} without leading zeros.",
        )
    network = ipaddress.ip_network(f"{address}/{prefix_text}", strict=False)
    if strict_host_bits and network.network_address != address:
        raise _fail(
            f"{text!r} has host bits set: it would match the whole network {network}",
            where,
            f"Write {network} for the network, or {address}/{address.max_prefixlen} for"
            " that one host.",
        )
    return network
