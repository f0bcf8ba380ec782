"""Stand-ins for a Rocky 8 server's ``systemctl`` and ``firewall-cmd``.

Each lab server gets two tiny scripts in its ``/usr/local/sbin`` that send their arguments to
the server's supervisor (``/run/pmc-lab-supervisor.sock``) and print its answer; the logic and
the output formats (systemd's and firewalld's) live in :mod:`.systemctl` and
:mod:`.firewall_cmd`, called by the supervisor.
"""

from __future__ import annotations

from pmc.lab.standins import client
from pmc.lab.topology import SUPERVISOR_SOCKET


def request(
    message: dict[str, object], *, path: str = SUPERVISOR_SOCKET, timeout: float = 120.0
) -> dict[str, object]:
    """Send one JSON request to a supervisor and return its JSON answer."""
    return client.request(message, path=path, timeout=timeout)
