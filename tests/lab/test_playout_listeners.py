"""Stand-in listeners: Playout Control Protocol, the web page, the SNMP agent and trap receiver."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmc.lab import listeners
from tests.wait import wait_until

ADDRESS = "127.0.0.1"


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((ADDRESS, 0))
        return int(s.getsockname()[1])


@pytest.fixture
def start(tmp_path: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[bytes]] = []

    def run(service: str, port: int) -> Path:
        log = tmp_path / f"{service}.log"
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "pmc.lab.listeners", service, "--bind", ADDRESS,
             "--port", str(port), "--log", str(log), "--name", "main"],
        ))  # fmt: skip
        wait_until(
            lambda: "listening" in log.read_text(),
            timeout=30,
            ignoring=(FileNotFoundError,),
            what=f"{service} to say it is listening",
        )
        return log

    yield run
    for proc in procs:
        proc.terminate()
        proc.wait(5)


def _read_response(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += conn.recv(4096)
    return head + b"\r\n\r\n" + body


@pytest.mark.parametrize("service", ["playout-scheduler", "eit-update", "playout-admin"])
def test_control_protocol(start, service: str) -> None:  # type: ignore[no-untyped-def]
    port = _free_port()
    start(service, port)
    with socket.create_connection((ADDRESS, port), timeout=5) as conn:
        assert conn.recv(100) == b"220 Service is ready\r\n"
        conn.sendall(b"PING\r\n\r\n")
        assert _read_response(conn) == b"200 OK\r\nContent-Length: 0\r\n\r\n"
        conn.sendall(b"STATUS\r\nContent-Length: 2\r\n\r\n{}")
        assert f"service: {service}".encode() in _read_response(conn)
        conn.sendall(b"SET_SOMETHING\r\n\r\n")
        assert _read_response(conn).startswith(b"402 Command not supported\r\n")
        conn.sendall(b"PING\r\nno colon here\r\n\r\n")
        assert _read_response(conn).startswith(b"400 Malformed request\r\n")
        conn.sendall(b"QUIT\r\n\r\n")
        assert _read_response(conn).startswith(b"200 OK")
        assert conn.recv(10) == b""


def test_http_page(start) -> None:  # type: ignore[no-untyped-def]
    port = _free_port()
    start("httpd", port)
    with urllib.request.urlopen(f"http://{ADDRESS}:{port}/", timeout=5) as response:
        page = response.read().decode()
    assert "<title>Icareus Playout Web Console (lab)</title>" in page


def test_snmp_get_and_trap(start) -> None:  # type: ignore[no-untyped-def]
    port = _free_port(socket.SOCK_DGRAM)
    log = start("snmpd", port)
    oids = [listeners.SYS_DESCR, listeners.SYS_NAME, listeners.SYS_UPTIME, "1.3.6.1.2.1.1.99.0"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(listeners.snmp_get_request(oids, request_id=4242), (ADDRESS, port))
        answer = listeners.parse_snmp_response(sock.recv(2000))
        assert answer.request_id == 4242 and answer.error_status == 0
        assert answer.values[listeners.SYS_DESCR] == "Icareus Playout (lab) main Linux"
        assert answer.values[listeners.SYS_NAME] == "main"
        assert isinstance(answer.values[listeners.SYS_UPTIME], int)
        assert answer.values["1.3.6.1.2.1.1.99.0"] is None
        # SNMPv1: an unknown OID is noSuchName
        sock.sendto(listeners.snmp_get_request(oids[-1:], version=0), (ADDRESS, port))
        assert listeners.parse_snmp_response(sock.recv(2000)).error_status == 2
        # a wrong community gets no answer, as from snmpd
        sock.sendto(listeners.snmp_get_request(oids, community="private"), (ADDRESS, port))
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(2000)
        trap = listeners._tlv(0x30, listeners._ber_int(1) + listeners._tlv(0x04, b"public")
                              + listeners._tlv(0xA7, b""))  # fmt: skip
        sock.sendto(trap, (ADDRESS, port + 1))
    wait_until(lambda: "trap from" in log.read_text(), timeout=30, what="the trap in the log")
    assert "v2c trap, community 'public'" in log.read_text()
