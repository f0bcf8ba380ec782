"""Adapting a bundle's ``spoolers.json`` and ``replicate.conf`` to another server.

Both files name the servers of *their* cluster from the point of view of the server they sit
on: spoolers.json lists that server as ``master`` and its peers as ``spooler``; replicate.conf
lists that server's own address first, then its peers (redundancy addresses for copy config,
management addresses for Playout Web redundancy). Moving them to the target means exchanging
the roles of the source and the target: wherever the source's address is, the target's goes,
and the other way round, so the target becomes the master and the first line, and the
source (when it is the target's peer, as main and backup are) becomes a spooler and the
second line — exactly what the seed's manual writes on the backup.

Each file is read and rewritten with its own codec (:mod:`pmc.configs.spoolers`,
:mod:`pmc.configs.replicate`), which keep the file's layout and refuse what Playout's API would
choke on. One way for each thing: addresses are swapped as parsed addresses (never as text),
an entry's ``name`` follows its address when it is one of the two servers' inventory names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pmc.configs import replicate, spoolers
from pmc.configs.addresses import parse_address
from pmc.errors import InputError


@dataclass(frozen=True)
class Peer:
    """One side of the swap: a server's inventory name and addresses."""

    name: str
    management: str
    redundancy: str = ""


def _canon(text: str) -> str:
    return str(parse_address(text)) if text else ""


def address_swap(source: Peer, target: Peer) -> dict[str, str]:
    """Canonical address → its replacement, both ways, for management and redundancy."""
    mapping: dict[str, str] = {}
    for one, other in (
        (source.management, target.management),
        (source.redundancy, target.redundancy),
    ):
        a, b = _canon(one), _canon(other)
        if a and b and a != b:
            mapping[a] = b
            mapping[b] = a
    return mapping


def adapt_spoolers(text: str, source: Peer, target: Peer, *, path: str = "spoolers.json") -> str:
    """``text`` (the source's spoolers.json) as it must read on the target."""
    doc = spoolers.parse(text, path=path)
    mapping = address_swap(source, target)
    names = {source.name: target.name, target.name: source.name} if source.name else {}
    servers = [
        replace(
            s,
            address=mapping.get(s.address, s.address),
            name=names.get(s.name, s.name) if s.address in mapping else s.name,
        )
        for s in doc.servers
    ]
    doc.set_servers(servers)
    return doc.render()


def adapt_replicate(text: str, source: Peer, target: Peer, *, path: str = "replicate.conf") -> str:
    """``text`` (the source's replicate.conf) as it must read on the target."""
    doc = replicate.parse(text, path=path)
    mapping = address_swap(source, target)
    doc.set_addresses([mapping.get(str(a), str(a)) for a in doc.addresses])
    return doc.render()


ADAPTERS = {"spoolers.json": adapt_spoolers, "replicate.conf": adapt_replicate}


def adapt(name: str, data: bytes, source: Peer, target: Peer) -> bytes:
    """The config file ``name`` of the bundle adapted to ``target`` (raises
    :class:`~pmc.errors.InputError` or ``ConfigSyntaxError`` for a file the codec refuses)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name} is not UTF-8 text", where=name) from exc
    return ADAPTERS[name](text, source, target, path=name).encode("utf-8")
