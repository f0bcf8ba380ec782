"""The client side of the lab's ``systemctl`` and ``firewall-cmd`` stand-ins: send argv to
the server's supervisor, print its answer. Standard library only, loaded by path
(``runpy.run_path``) by the stand-in scripts, so that a stand-in starts as fast as a small
Python can (it runs in every status refresh of every lab server)."""

from __future__ import annotations

import json
import socket
import sys


def request(message: dict[str, object], *, path: str, timeout: float = 120.0) -> dict[str, object]:
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


def client_main(tool: str, *, path: str) -> int:
    """Entry point of the stand-in scripts: forward argv, print the answer, return its code."""
    try:
        answer = request({"op": tool, "argv": sys.argv[1:]}, path=path)
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
