"""Helpers for transport tests against the throwaway sshd."""

from __future__ import annotations

import base64
from pathlib import Path

from pmc.inventory import AuthMethod, Server
from pmc.remote.connection import Connection
from pmc.remote.host_keys import KnownHosts, TrustFingerprints
from pmc.remote.limits import Timeouts
from tests.fixtures.sshd import ThrowawaySshd


def host_fingerprint(sshd: ThrowawaySshd) -> str:
    import paramiko

    from pmc.remote.host_keys import fingerprint

    kind, blob = sshd.host_key.with_suffix(".pub").read_text().split()[:2]
    return fingerprint(paramiko.PKey.from_type_string(kind, base64.b64decode(blob)))


def server_for(sshd: ThrowawaySshd, name: str = "main") -> Server:
    return Server(
        name=name,
        management_address=sshd.address,
        ssh_port=sshd.port,
        auth=AuthMethod.KEY,
        key_file=str(sshd.client_key),
    )


def trusting_connection(
    sshd: ThrowawaySshd, tmp_path: Path, timeouts: Timeouts | None = None
) -> Connection:
    known = KnownHosts(tmp_path / "known_hosts")
    return Connection(
        server_for(sshd),
        cluster="lab",
        known_hosts=known,
        trust=TrustFingerprints([host_fingerprint(sshd)]),
        timeouts=timeouts,
    )
