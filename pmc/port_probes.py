"""The shell commands that probe ports *from a server*: a TCP connect through bash's
``/dev/tcp``, SNMP requests over UDP (a Python when the server has one — ``python3`` or Rocky
8's ``/usr/libexec/platform-python`` — bash's ``/dev/udp`` otherwise), and the reading of
their ``PORT up`` / ``PORT down REASON`` lines. Each port is tried at once, in parallel."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from pmc.snmp import GET_REQUEST, INFORM_REQUEST, snmp_packet

PROBE_TIMEOUT = 3.0  # seconds one port may take to answer, as seen from a server


def _secs(value: float) -> str:
    return f"{value:g}"


def tcp_probe_command(address: str, ports: Sequence[int], timeout: float = PROBE_TIMEOUT) -> str:
    """A bash command that tries each port at once and prints ``PORT up`` or ``PORT down N``."""
    probe = (
        f'probe() {{ if timeout {_secs(timeout)} bash -c \'exec 3<>/dev/tcp/"$0"/"$1"\' '
        '"$1" "$2" 2>/dev/null; then echo "$2 up"; else echo "$2 down $?"; fi; }; '
    )
    calls = " ".join(f"probe {shlex.quote(address)} {int(p)} &" for p in ports)
    return "bash -c " + shlex.quote(probe + calls + " wait")


_PY_UDP = (
    "import socket,sys,binascii\n"
    "a,p,h,t=sys.argv[1],int(sys.argv[2]),sys.argv[3],float(sys.argv[4])\n"
    "s=socket.socket(socket.AF_INET6 if ':' in a else socket.AF_INET,socket.SOCK_DGRAM)\n"
    "s.settimeout(t)\n"
    "try:\n"
    " s.connect((a,p));s.send(binascii.unhexlify(h));s.recv(1500);print(p,'up')\n"
    "except socket.timeout:\n print(p,'down no answer')\n"
    "except OSError as e:\n print(p,'down',e.strerror or e)\n"
)


def udp_probe_command(
    address: str,
    ports: Sequence[int],
    timeout: float = PROBE_TIMEOUT,
    *,
    trap_ports: Sequence[int] | None = None,
) -> str:
    """SNMP requests from a server: a Get to the agent port, an Inform to each trap port
    (``trap_ports``; by default every port after the first)."""
    traps = set(ports[1:] if trap_ports is None else trap_ports)
    parts = []
    for i, port in enumerate(ports):
        tag = INFORM_REQUEST if port in traps else GET_REQUEST
        packet = snmp_packet(tag, request_id=i + 1)
        hexed = packet.hex()
        octal = "".join(f"\\{b:03o}" for b in packet)
        bash_fallback = (
            f"if exec 3<>/dev/udp/{shlex.quote(address)}/{int(port)} 2>/dev/null && "
            f"printf {shlex.quote(octal)} >&3 && "
            f"timeout {_secs(timeout)} head -c 1 <&3 >/dev/null 2>&1; "
            f"then echo '{int(port)} up'; else echo '{int(port)} down no answer'; fi"
        )
        py_args = " ".join(
            shlex.quote(a) for a in (_PY_UDP, address, str(int(port)), hexed, _secs(timeout))
        )
        # each probe prints its one line with a single echo, so lines never interleave
        parts.append(
            "( line=$( for py in python3 /usr/libexec/platform-python; do "
            f'if command -v "$py" >/dev/null 2>&1; then exec "$py" -c {py_args} 2>&1; fi; '
            f'done; {bash_fallback} ); echo "$line" ) &'
        )
    return "bash -c " + shlex.quote(" ".join(parts) + " wait")


def parse_port_lines(text: str, ports: Sequence[int]) -> dict[int, tuple[bool, str]]:
    """``PORT up`` / ``PORT down REASON`` lines → per port (ok, reason); missing = not answered."""
    found: dict[int, tuple[bool, str]] = {}
    for line in text.splitlines():
        words = line.split(maxsplit=2)
        if len(words) >= 2 and words[0].isascii() and words[0].isdigit() and len(words[0]) < 6:
            port = int(words[0])
            ok = words[1] == "up"
            reason = words[2] if len(words) > 2 else ""
            if reason == "124":
                reason = "timed out (filtered?)"
            elif reason == "1":
                reason = "refused"
            found[port] = (ok, reason)
    return {p: found.get(p, (False, "no answer from the probe")) for p in ports}
