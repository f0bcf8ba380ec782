"""The SNMP requests the UDP probes send: an SNMPv2c Get of sysDescr.0 to the agent port (161)
and an Inform to the trap port (162), BER-encoded by hand (a few bytes, no SNMP library)."""

from __future__ import annotations

GET_REQUEST = 0xA0
INFORM_REQUEST = 0xA6


def _ber_length(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else bytes([0x81, n])


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _ber_length(len(body)) + body


def snmp_packet(pdu_tag: int, request_id: int = 1, community: str = "public") -> bytes:
    """An SNMPv2c request for sysDescr.0: GetRequest (0xA0) or InformRequest (0xA6)."""
    oid = _tlv(0x06, bytes([0x2B, 6, 1, 2, 1, 1, 1, 0]))
    varbinds = _tlv(0x30, _tlv(0x30, oid + b"\x05\x00"))
    pdu = _tlv(
        pdu_tag,
        _tlv(0x02, bytes([request_id])) + _tlv(0x02, b"\x00") + _tlv(0x02, b"\x00") + varbinds,
    )
    return _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, community.encode()) + pdu)
