"""The connections of every server PMC talks to: one shared connection per server.

Jobs ask the pool for a server's :class:`~pmc.remote.connection.Connection`; all of them share
it (paramiko multiplexes channels on one transport) and the pool's worker threads. A server
whose address, port, user or login method changed in the inventory gets a new connection.
"""

from __future__ import annotations

import asyncio

from pmc.inventory import Server
from pmc.remote.connection import Connection
from pmc.remote.credentials import CredentialSource, KeyringCredentials
from pmc.remote.host_keys import KnownHosts, RefuseUnknown, TrustDecision, default_known_hosts_path
from pmc.remote.limits import Executors, Timeouts


class ConnectionPool:
    """Shared connections keyed by cluster and server name."""

    def __init__(
        self,
        *,
        known_hosts: KnownHosts | None = None,
        credentials: CredentialSource | None = None,
        trust: TrustDecision | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.known_hosts = known_hosts or KnownHosts(default_known_hosts_path())
        self.credentials: CredentialSource = credentials or KeyringCredentials()
        self.trust: TrustDecision = trust or RefuseUnknown()
        self.timeouts = timeouts or Timeouts()
        self.executors = Executors()
        self._connections: dict[tuple[str, str], Connection] = {}

    def connection(self, server: Server, cluster: str = "") -> Connection:
        """The shared connection to ``server`` (made on its first use)."""
        key = (cluster, server.name)
        current = self._connections.get(key)
        if current is not None and current.server == server:
            return current
        if current is not None:
            current.drop()
        made = Connection(
            server,
            cluster=cluster,
            known_hosts=self.known_hosts,
            credentials=self.credentials,
            trust=self.trust,
            timeouts=self.timeouts,
            executors=self.executors,
        )
        self._connections[key] = made
        return made

    def __len__(self) -> int:
        return len(self._connections)

    async def close(self) -> None:
        """Close every connection and stop the worker threads."""
        connections, self._connections = list(self._connections.values()), {}
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
        self.executors.shutdown()

    async def __aenter__(self) -> ConnectionPool:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()
