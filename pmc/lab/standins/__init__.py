"""Stand-ins for a Rocky 8 server's ``systemctl`` and ``firewall-cmd``.

Each lab server gets two tiny scripts in its ``/usr/local/sbin`` that send their arguments to
the server's supervisor (``/run/pmc-lab-supervisor.sock``) and print its answer; the logic and
the output formats (systemd's and firewalld's) live in :mod:`.systemctl` and
:mod:`.firewall_cmd`, called by the supervisor.
"""

from __future__ import annotations

import json
import socket
import sys

from pmc.lab.topology import SUPERVISOR_SOCKET


def request(
    message: dict[str, object], *, path: str = SUPERVISOR_SOCKET, timeout: float = 120.0
) -> dict[str, object]:
    """Send one JSON request to a supervisor and return its JSON answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(json.dumps(message).encode() + b"\n")
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = json.loads(b"".join(chunks) or b"{}")
    assert isinstance(answer, dict)
    return answer


def client_main(tool: str) -> int:
    """Entry point of the stand-in scripts: forward argv, print the answer, return its code."""
    try:
        answer = request({"op": tool, "argv": sys.argv[1:]})
    except OSError as exc:
        if tool == "firewall-cmd":
            print("FirewallD is not running", file=sys.stderr)
            return 252
        print(
            f"System has not been booted with systemd as init system (PID 1). "
            f"Can't operate. ({exc})",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(str(answer.get("stdout", "")))
    sys.stderr.write(str(answer.get("stderr", "")))
    rc = answer.get("rc", 1)
    return rc if isinstance(rc, int) else 1
