"""Observe a server over SSH: the files, services, firewall and keys the planners read.

One remote script per server reads every file (base64, so any byte survives), one command
asks systemd, two ask the firewall; servers are observed concurrently. The result is a frozen
:class:`~pmc.setup.facts.ServerFacts` whose fingerprint the executor compares before applying.
Only public keys are read (``id_ed25519.pub``, the host's ``ssh_host_ed25519_key.pub``);
the private key's presence is tested, never its content.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping

from pmc.errors import RemoteError
from pmc.inventory import Cluster, Server
from pmc.remote import commands
from pmc.remote.connection import Connection
from pmc.setup import facts as F
from pmc.setup.database import failover_file
from pmc.setup.facts import ServerFacts
from pmc.setup.planning import path_of

Connections = Mapping[str, Connection]

_READ_SCRIPT = r"""
for f in "$@"; do
  if [ -f "$f" ]; then printf '=%s\n' "$f"; base64 -w0 < "$f" || exit 3; printf '\n'
  else printf '!%s\n' "$f"; fi
done
"""


async def read_files(conn: Connection, paths: list[str]) -> dict[str, str | None]:
    """The text of each path (None when it does not exist), in one round trip."""
    argv = ["sh", "-c", _READ_SCRIPT, "pmc-observe", *paths]
    result = await commands.run(conn, argv, root=True, timeout=60, check=True)
    found: dict[str, str | None] = {}
    lines = iter(result.stdout.splitlines())
    for line in lines:
        if line.startswith("!"):
            found[line[1:]] = None
        elif line.startswith("="):
            data = next(lines, "")
            found[line[1:]] = base64.b64decode(data).decode("utf-8", errors="surrogateescape")
    return found


async def observe_server(server: Server, conn: Connection) -> ServerFacts:
    layout = server.layout
    keys = list(F.FILE_KEYS)
    paths = [path_of(server, key) for key in keys]
    private = path_of(server, F.ROOT_PUBLIC_KEY).removesuffix(".pub")
    failover = failover_file(server)
    texts = await read_files(conn, [*paths, failover])
    present = await commands.run(conn, ["test", "-f", private], root=True, timeout=30)
    services = (layout.api_service, layout.postgresql_service, layout.sshd_service)
    active = await commands.run(conn, ["systemctl", "is-active", *services], root=True, timeout=30)
    states = active.stdout.split()
    state = await commands.run(conn, ["firewall-cmd", "--state"], root=True, timeout=30)
    running = state.ok and "not running" not in state.stdout
    ports: tuple[str, ...] = ()
    runtime: tuple[str, ...] = ()
    firewall_services: tuple[str, ...] = ()
    if running:
        zone = f"--zone={layout.firewall_zone}"
        perm = await commands.run(
            conn, ["firewall-cmd", "--permanent", zone, "--list-ports"], root=True, timeout=30
        )
        now = await commands.run(conn, ["firewall-cmd", zone, "--list-ports"], root=True)
        svc = await commands.run(
            conn, ["firewall-cmd", "--permanent", zone, "--list-services"], root=True
        )
        for result in (perm, now, svc):
            if not result.ok:
                raise RemoteError(
                    f"firewall-cmd answered with exit status {result.exit_status}:"
                    f" {result.stderr.strip()[-200:]}",
                    server=conn.label,
                    hint="Check firewalld on the server (systemctl status firewalld).",
                )
        ports = tuple(perm.stdout.split())
        runtime = tuple(now.stdout.split())
        firewall_services = tuple(svc.stdout.split())
    peer = texts.get(failover)
    return ServerFacts(
        server=server.name,
        files=tuple(sorted((key, texts.get(path)) for key, path in zip(keys, paths, strict=True))),
        root_private_key=present.ok,
        services=tuple(
            sorted(
                (name, index < len(states) and states[index] == "active")
                for index, name in enumerate(services)
            )
        ),
        firewall_running=running,
        firewall_ports=tuple(sorted(ports)),
        firewall_runtime_ports=tuple(sorted(runtime)),
        firewall_services=tuple(sorted(firewall_services)),
        failover_peer=peer.strip() or None if peer is not None else None,
    )


async def observe_cluster(cluster: Cluster, conns: Connections) -> dict[str, ServerFacts]:
    """Facts of every server of ``cluster``, observed concurrently."""
    servers = list(cluster.servers)
    # every observation ends before an error is raised: none is left running unawaited
    found = await asyncio.gather(
        *(observe_server(s, conns[s.name]) for s in servers), return_exceptions=True
    )
    facts: dict[str, ServerFacts] = {}
    for server, result in zip(servers, found, strict=True):
        if isinstance(result, BaseException):
            raise result
        facts[server.name] = result
    return facts
