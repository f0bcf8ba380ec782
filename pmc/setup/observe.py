"""Observe a server over SSH: the files, services, firewall and keys the planners read.

One remote script per server reads every file (base64, so any byte survives), one command
asks systemd, a few ask the firewall, sshd (``sshd -T``) and PostgreSQL (``pg_settings``) what
they really use (:mod:`pmc.setup.effective`); servers are observed concurrently. The result is
a frozen :class:`~pmc.setup.facts.ServerFacts` whose fingerprint the executor compares before
applying. Only public keys are read (``id_ed25519.pub``, the host's ``ssh_host_ed25519_key.pub``);
the private key's presence is tested, never its content.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping

from pmc.inventory import Cluster, Server
from pmc.remote import commands
from pmc.remote.connection import Connection
from pmc.setup import effective
from pmc.setup import facts as F
from pmc.setup.database import failover_file
from pmc.setup.facts import ServerFacts
from pmc.setup.planning import login_of, path_of, peer_of

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


async def observe_server(
    server: Server, conn: Connection, peer: Server | None = None
) -> ServerFacts:
    layout = server.layout
    keys = list(F.FILE_KEYS)
    paths = [path_of(server, key) for key in keys]
    private = path_of(server, F.ROOT_PUBLIC_KEY).removesuffix(".pub")
    failover = failover_file(server)
    services = (layout.api_service, layout.postgresql_service, layout.sshd_service)
    login = login_of(server, peer)

    async def firewall() -> effective.Zone | None:
        state = await commands.run(conn, ["firewall-cmd", "--state"], root=True, timeout=30)
        if not state.ok or "not running" in state.stdout:
            return None
        return await effective.firewall_zone(conn, server, peer)

    async def sshd() -> tuple[dict[str, str] | None, str | None]:
        if login is None:
            return None, "no peer logs in over eth2"
        return await effective.ask_sshd(conn, layout, login)

    # independent questions at once (sessions of one connection), then the include trees
    texts, present, active, zone, (said, problem), postgres = await asyncio.gather(
        read_files(conn, [*paths, failover]),
        commands.run(conn, ["test", "-f", private], root=True, timeout=30),
        commands.run(conn, ["systemctl", "is-active", *services], root=True, timeout=30),
        firewall(),
        sshd(),
        effective.ask_postgresql(conn, layout),
    )
    pg_settings, hba_errors, pg_problem = postgres
    states = active.stdout.split()
    running = zone is not None
    sshd_main = path_of(server, F.SSHD_CONFIG)
    pg_main, auto = path_of(server, F.POSTGRESQL_CONF), path_of(server, F.PG_AUTO_CONF)
    (sshd_files, sshd_globs), (pg_files, pg_globs) = await asyncio.gather(
        effective.read_sshd_tree(conn, sshd_main, texts.get(sshd_main)),
        effective.read_postgresql_tree(
            conn, pg_main, auto, {p: texts.get(p) for p in (pg_main, auto)}
        ),
    )
    peer_text = texts.get(failover)
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
        firewall_ports=zone.permanent_ports if zone else (),
        firewall_runtime_ports=zone.runtime_ports if zone else (),
        firewall_services=zone.permanent_services if zone else (),
        firewall_runtime_services=zone.runtime_services if zone else (),
        failover_peer=peer_text.strip() or None if peer_text is not None else None,
        firewall_zone=zone.name if zone else None,
        firewall_zone_reason=zone.reason if zone else "",
        sshd_files=tuple(sorted(sshd_files.items())),
        sshd_globs=tuple(sorted(sshd_globs.items())),
        sshd_login=login.spec() if login else None,
        sshd_effective=None if said is None else tuple(sorted(said.items())),
        sshd_problem=problem,
        pg_settings=pg_settings,
        pg_hba_errors=hba_errors,
        pg_problem=pg_problem,
        pg_files=tuple(sorted(pg_files.items())),
        pg_globs=tuple(sorted(pg_globs.items())),
    )


async def observe_cluster(cluster: Cluster, conns: Connections) -> dict[str, ServerFacts]:
    """Facts of every server of ``cluster``, observed concurrently."""
    servers = list(cluster.servers)
    # every observation ends before an error is raised: none is left running unawaited
    found = await asyncio.gather(
        *(observe_server(s, conns[s.name], peer_of(cluster, s)) for s in servers),
        return_exceptions=True,
    )
    facts: dict[str, ServerFacts] = {}
    for server, result in zip(servers, found, strict=True):
        if isinstance(result, BaseException):
            raise result
        facts[server.name] = result
    return facts
