"""Stand-in listeners for the ports of the seed's cluster diagram.

``python -m pmc.lab.listeners SERVICE [--bind 0.0.0.0] [--port N] [--log FILE]``

- ``playout-scheduler`` (TCP 2001), ``eit-update`` (TCP 5000), ``playout-admin`` (TCP 5555):
  the Playout Control Protocol — greeting ``220 Service is ready``, requests of a command line,
  ``Header: value`` lines, a blank line and ``Content-Length`` bytes of body; answers ``200 OK``
  (``PING``, ``STATUS``, ``QUIT``), ``402 Command not supported`` and ``400 Malformed request``.
  The real daemons speak it over TLS; the lab's speak plain TCP.
- ``httpd`` (TCP 80): a small page, "Icareus Playout Web Console (lab)".
- ``snmpd`` (UDP 161 and 162): an SNMP v1/v2c agent answering GET for the system group
  (sysDescr, sysUpTime, sysName) with community ``public``, and a trap receiver that logs.

The BER helpers (:func:`snmp_get_request`, :func:`parse_snmp_response`) are public so that
probes and tests can ask the agent something.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO, cast

CONTROL_PORTS = {"playout-scheduler": 2001, "eit-update": 5000, "playout-admin": 5555}
SERVICES = (*CONTROL_PORTS, "httpd", "snmpd")
HTTP_PORT = 80
SNMP_PORT = 161
SNMP_TRAP_PORT = 162
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
_MAX_HEADER_LINES = 100
_MAX_BODY = 1 << 20

STATUS_TEXT = {
    200: "OK",
    220: "Service is ready",
    400: "Malformed request",
    401: "Authentication failed",
    402: "Command not supported",
    403: "Invalid data",
    404: "Not found",
    408: "Timeout",
}


class Log:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        self.out.write(f"{stamp} {message}\n")
        self.out.flush()


# -- Playout Control Protocol -------------------------------------------------------------


def control_response(code: int, body: str = "") -> bytes:
    data = body.encode()
    head = f"{code} {STATUS_TEXT[code]}\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


async def _control_session(
    service: str, log: Log, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    peer = writer.get_extra_info("peername")
    log(f"connection from {peer[0]}:{peer[1]}")
    writer.write(b"220 Service is ready\r\n")
    await writer.drain()
    try:
        while True:
            try:
                async with asyncio.timeout(300):
                    line = await reader.readline()
            except TimeoutError:
                writer.write(control_response(408))
                break
            if not line:
                break
            command = line.rstrip(b"\r\n")
            if not command:
                continue
            headers: dict[str, str] = {}
            malformed = False
            for _ in range(_MAX_HEADER_LINES):
                raw = (await reader.readline()).rstrip(b"\r\n")
                if not raw:
                    break
                key, sep, value = raw.partition(b":")
                if not sep or not key.strip():
                    malformed = True
                    continue
                headers[key.strip().decode("utf-8", "replace").lower()] = value.strip().decode(
                    "utf-8", "replace"
                )
            length_text = headers.get("content-length", "0")
            if not length_text.isdigit() or int(length_text) > _MAX_BODY:
                malformed = True
                length_text = "0"
            body = await reader.readexactly(int(length_text)) if int(length_text) else b""
            try:
                name = command.decode("utf-8").strip().upper()
                body.decode("utf-8")
            except UnicodeDecodeError:
                malformed = True
                name = ""
            if malformed or not name.replace("_", "").isalnum():
                writer.write(control_response(400))
            elif name == "PING":
                writer.write(control_response(200))
            elif name == "STATUS":
                writer.write(control_response(200, f"service: {service}\r\nstate: running\r\n"))
            elif name == "QUIT":
                writer.write(control_response(200))
                await writer.drain()
                break
            else:
                writer.write(control_response(402))
            log(f"{peer[0]}: {command.decode('utf-8', 'replace')[:80]}")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


# -- HTTP ------------------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Icareus Playout Web Console (lab)</title></head>
<body><h1>Icareus Playout Web Console (lab)</h1>
<p>Server {name}: a simulated Playout server of the PMC rehearsal lab.</p></body></html>
"""


async def _http_session(
    name: str, log: Log, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        async with asyncio.timeout(30):
            request = await reader.readline()
            while (await reader.readline()).strip():
                pass
        parts = request.decode("latin-1").split()
        if len(parts) < 2:
            status, body = "400 Bad Request", "bad request\n"
        elif parts[0] not in ("GET", "HEAD"):
            status, body = "405 Method Not Allowed", "method not allowed\n"
        elif parts[1] in ("/", "/index.html"):
            status, body = "200 OK", _PAGE.format(name=name)
        else:
            status, body = "404 Not Found", "not found\n"
        data = body.encode()
        head = (
            f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + (data if parts and parts[0] != "HEAD" else b""))
        await writer.drain()
        log(f"{request.decode('latin-1').strip()[:100]} {status}")
    except (TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


# -- SNMP (BER) ------------------------------------------------------------------------------


def _ber_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _ber_length(len(value)) + value


def _ber_int(n: int, tag: int = 0x02) -> bytes:
    raw = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True)
    return _tlv(tag, raw)


def _ber_unsigned(n: int, tag: int) -> bytes:
    raw = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big")
    return _tlv(tag, raw)


def _ber_oid(oid: str) -> bytes:
    parts = [int(p) for p in oid.split(".")]
    out = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        rest = part
        chunk = [rest & 0x7F]
        rest >>= 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out.extend(reversed(chunk))
    return _tlv(0x06, bytes(out))


def _parse_tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, value, next position); ValueError on truncated data."""
    if pos + 2 > len(data):
        raise ValueError("truncated BER")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("bad BER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated BER")
    return tag, data[pos : pos + length], pos + length


def _parse_seq(value: bytes) -> list[tuple[int, bytes]]:
    items = []
    pos = 0
    while pos < len(value):
        tag, item, pos = _parse_tlv(value, pos)
        items.append((tag, item))
    return items


def _decode_oid(raw: bytes) -> str:
    if not raw:
        raise ValueError("empty OID")
    parts = [raw[0] // 40, raw[0] % 40]
    n = 0
    for byte in raw[1:]:
        n = (n << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(n)
            n = 0
    return ".".join(str(p) for p in parts)


def snmp_get_request(oids: Sequence[str], community: str = "public", request_id: int = 1,
                     version: int = 1) -> bytes:  # fmt: skip
    """An SNMP GetRequest (``version`` 0 = v1, 1 = v2c)."""
    varbinds = b"".join(_tlv(0x30, _ber_oid(oid) + b"\x05\x00") for oid in oids)
    pdu = _tlv(0xA0, _ber_int(request_id) + _ber_int(0) + _ber_int(0) + _tlv(0x30, varbinds))
    return _tlv(0x30, _ber_int(version) + _tlv(0x04, community.encode()) + pdu)


@dataclass(frozen=True)
class SnmpResponse:
    request_id: int
    error_status: int
    values: dict[str, str | int | None]


def parse_snmp_response(data: bytes) -> SnmpResponse:
    """Decode a GetResponse; ValueError if it is not one."""
    tag, message, _ = _parse_tlv(data, 0)
    items = _parse_seq(message) if tag == 0x30 else []
    if len(items) != 3 or items[2][0] != 0xA2:
        raise ValueError("not an SNMP GetResponse")
    fields = _parse_seq(items[2][1])
    request_id = int.from_bytes(fields[0][1], "big", signed=True)
    error_status = int.from_bytes(fields[1][1], "big", signed=True)
    values: dict[str, str | int | None] = {}
    for _, varbind in _parse_seq(fields[3][1]):
        (_, oid_raw), (vtag, value) = _parse_seq(varbind)
        oid = _decode_oid(oid_raw)
        if vtag == 0x04:
            values[oid] = value.decode("utf-8", "replace")
        elif vtag in (0x02, 0x41, 0x42, 0x43):
            values[oid] = int.from_bytes(value, "big", signed=vtag == 0x02)
        else:
            values[oid] = None
    return SnmpResponse(request_id, error_status, values)


def snmp_answer(request: bytes, system: dict[str, str | int], community: str = "public") -> bytes:
    """The agent's GetResponse to ``request``, or b"" to stay silent (as snmpd does)."""
    try:
        tag, message, _ = _parse_tlv(request, 0)
        items = _parse_seq(message) if tag == 0x30 else []
        if len(items) != 3 or items[0][0] != 0x02 or items[1][0] != 0x04:
            return b""
        version = int.from_bytes(items[0][1], "big")
        if version not in (0, 1) or items[1][1] != community.encode() or items[2][0] != 0xA0:
            return b""
        fields = _parse_seq(items[2][1])
        request_id = int.from_bytes(fields[0][1], "big", signed=True)
        oids = [_decode_oid(_parse_seq(vb)[0][1]) for _, vb in _parse_seq(fields[3][1])]
    except (ValueError, IndexError):
        return b""
    error_status = error_index = 0
    varbinds = b""
    for index, oid in enumerate(oids, 1):
        value = system.get(oid)
        if isinstance(value, str):
            encoded = _tlv(0x04, value.encode())
        elif isinstance(value, int):
            encoded = _ber_unsigned(value, 0x43)  # TimeTicks
        elif version == 1:
            encoded = b"\x80\x00"  # noSuchObject
        else:
            encoded = b"\x05\x00"
            if not error_status:
                error_status, error_index = 2, index  # noSuchName
        varbinds += _tlv(0x30, _ber_oid(oid) + encoded)
    pdu = _tlv(
        0xA2,
        _ber_int(request_id)
        + _ber_int(error_status)
        + _ber_int(error_index)
        + _tlv(0x30, varbinds),
    )
    return _tlv(0x30, _ber_int(version) + _tlv(0x04, community.encode()) + pdu)


class _SnmpAgent(asyncio.DatagramProtocol):
    def __init__(self, name: str, log: Log) -> None:
        self.name = name
        self.log = log
        self.started = time.monotonic()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        system: dict[str, str | int] = {
            SYS_DESCR: f"Icareus Playout (lab) {self.name} Linux",
            SYS_UPTIME: int((time.monotonic() - self.started) * 100),
            SYS_NAME: self.name,
        }
        answer = snmp_answer(data, system)
        self.log(f"snmp request from {addr[0]}: {'answered' if answer else 'ignored'}")
        if answer and self.transport is not None:
            self.transport.sendto(answer, addr)


class _TrapReceiver(asyncio.DatagramProtocol):
    def __init__(self, log: Log) -> None:
        self.log = log

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            _, message, _ = _parse_tlv(data, 0)
            items = _parse_seq(message)
            community = items[1][1].decode("utf-8", "replace")
            kind = {0xA4: "v1 trap", 0xA7: "v2c trap", 0xA6: "inform"}.get(items[2][0], "pdu")
            self.log(f"trap from {addr[0]}: {kind}, community {community!r}, {len(data)} bytes")
        except (ValueError, IndexError):
            self.log(f"trap from {addr[0]}: {len(data)} bytes, not SNMP")


# -- main ------------------------------------------------------------------------------------


async def serve(service: str, bind: str, port: int | None, log: Log, name: str) -> None:
    loop = asyncio.get_running_loop()
    if service in CONTROL_PORTS:
        port = port or CONTROL_PORTS[service]
        server = await asyncio.start_server(
            lambda r, w: _control_session(service, log, r, w), bind, port, reuse_address=True
        )
    elif service == "httpd":
        port = port or HTTP_PORT
        server = await asyncio.start_server(
            lambda r, w: _http_session(name, log, r, w), bind, port, reuse_address=True
        )
    else:
        port = port or SNMP_PORT
        await loop.create_datagram_endpoint(
            lambda: _SnmpAgent(name, log), local_addr=(bind, port), family=socket.AF_INET
        )
        trap_port = SNMP_TRAP_PORT if port == SNMP_PORT else port + 1
        await loop.create_datagram_endpoint(
            lambda: _TrapReceiver(log), local_addr=(bind, trap_port), family=socket.AF_INET
        )
        log(f"{service} listening on {bind} udp {port} and {trap_port}")
        await asyncio.Event().wait()
        return
    log(f"{service} listening on {bind} tcp {port}")
    async with server:
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pmc.lab.listeners", description=__doc__)
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--bind", default="0.0.0.0")  # noqa: S104 (inside a lab server)
    parser.add_argument(
        "--port", type=int, help="listen here instead (snmpd: traps on the next port)"
    )
    parser.add_argument("--log", type=Path, help="default /var/log/<service>.log")
    parser.add_argument("--name", default=socket.gethostname(), help="server name to report")
    args = parser.parse_args(argv)
    path = args.log or Path(f"/var/log/{args.service}.log")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        try:
            asyncio.run(serve(args.service, args.bind, args.port, Log(out), args.name))
        except OSError as exc:
            Log(out)(f"{args.service}: cannot listen: {exc.strerror}")
            print(f"{args.service}: cannot listen: {exc.strerror}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
