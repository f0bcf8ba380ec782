"""Bytes that are not UTF-8 survive every codec: read with ``surrogateescape`` (as PMC's
observe and ``files.read_text`` do), edited, rendered and encoded back, every line the edit did
not touch is the same bytes as before."""

from __future__ import annotations

import difflib

from hypothesis import given
from hypothesis import strategies as st

from pmc.configs import pg_hba, postgresql_conf, replicate, sshd_config
from tests.configs.strategies import (
    pg_hba_files,
    postgresql_files,
    replicate_files,
    sshd_files,
)

BOM = "\ufeff".encode()


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _removed(before: bytes, after: bytes) -> list[bytes]:
    """Lines of ``before`` that are not in ``after`` as the same bytes (line endings aside:
    a last line without newline gets one when a line is appended after it)."""

    def lines(raw: bytes) -> list[bytes]:
        return [line.rstrip(b"\r\n") for line in raw.removeprefix(BOM).splitlines(True)]

    a, b = lines(before), lines(after)
    gone: list[bytes] = []
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            gone += a[i1:i2]
    return gone


def test_a_latin1_byte_is_kept() -> None:
    raw = b"# Jos\xe9 G\xf3mez wrote this\nPermitRootLogin no\n"
    doc = sshd_config.parse(_decode(raw))
    doc.set("PermitRootLogin", "prohibit-password")
    assert (
        _encode(doc.render())
        == b"# Jos\xe9 G\xf3mez wrote this\nPermitRootLogin prohibit-password\n"
    )


@given(sshd_files(), st.sampled_from(["yes", "no", "prohibit-password"]))
def test_sshd_config_bytes(text: str, value: str) -> None:
    raw = _encode(text)
    doc = sshd_config.parse(_decode(raw))
    assert _encode(doc.render()) == raw
    doc.set("PermitRootLogin", value)
    for line in _removed(raw, _encode(doc.render())):
        assert b"permitrootlogin" in line.lower(), line


@given(postgresql_files())
def test_postgresql_conf_bytes(text: str) -> None:
    raw = _encode(text)
    doc = postgresql_conf.parse(_decode(raw))
    assert _encode(doc.render()) == raw
    doc.set("listen_addresses", "localhost,127.17.59.128")
    for line in _removed(raw, _encode(doc.render())):
        assert b"listen_addresses" in line.lower(), line


@given(pg_hba_files())
def test_pg_hba_bytes(text: str) -> None:
    raw = _encode(text)
    doc = pg_hba.parse(_decode(raw))
    assert _encode(doc.render()) == raw
    doc.ensure_host_rule("all", "all", "127.17.59.129/32", "trust")
    assert not _removed(raw, _encode(doc.render()))


@given(replicate_files())
def test_replicate_bytes(text: str) -> None:
    raw = _encode(text)
    assert _encode(replicate.parse(_decode(raw)).render()) == raw
