"""Verify: the manual's checks, run on the servers themselves, one line each.

Every check runs where the manual runs it — psql and ssh *from* a server to its peer over
eth2, check_peer_status.sh on the backup — so a pass means the servers can do it, not just
PMC. Each :class:`Check` says pass/fail, why, and what to do about a failure.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from pmc import catalog
from pmc.cluster_lock import cluster_lock
from pmc.configs import spoolers
from pmc.errors import PmcError
from pmc.inventory import Architecture, Cluster, Server
from pmc.plan import Probe
from pmc.port_probes import parse_port_lines, tcp_probe_command, udp_probe_command
from pmc.remote import commands
from pmc.setup import effective
from pmc.setup.admin_player import Link, links
from pmc.setup.observe import Connections, read_files
from pmc.setup.planning import login_of
from pmc.sync import newer_changes
from pmc.sync.delta_engine import pair

_PSQL_FIX = "check that psql works on both servers (pmc setup verify again)"


@dataclass(frozen=True)
class Check:
    """One check's outcome. ``unverified``: nothing proved it wrong, nothing could prove it
    right (an SNMP trap port that does not refuse, but a trap receiver never answers); it
    does not fail the report, and its text says what is and is not known."""

    name: str
    server: str
    ok: bool
    detail: str
    fix: str = ""
    unverified: bool = False

    @property
    def mark(self) -> str:
        if not self.ok:
            return "FAIL"
        return "UNVERIFIED" if self.unverified else "PASS"

    def __str__(self) -> str:
        text = f"{self.mark}  [{self.server}] {self.name}: {self.detail}"
        if self.fix and (not self.ok or self.unverified):
            text += f" — {'fix' if not self.ok else 'to be sure'}: {self.fix}"
        return text


@dataclass
class VerifyReport:
    cluster: str
    architecture: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def unverified(self) -> list[Check]:
        return [c for c in self.checks if c.ok and c.unverified]

    @property
    def summary(self) -> str:
        """One line: whether every check passes, or how many fail."""
        head = f"Verify {self.cluster} ({self.architecture}): "
        head += "all checks pass" if self.ok else f"{len(self.failed)} of {len(self.checks)} fail"
        if self.unverified:
            head += f" ({len(self.unverified)} could not be proved either way, see UNVERIFIED)"
        return head

    def __str__(self) -> str:
        return "\n".join([self.summary, *(str(c) for c in self.checks)])


async def _sh(
    conns: Connections, server: Server, argv: list[str], timeout: float = 60
) -> tuple[int, str]:
    result = await commands.run(conns[server.name], argv, root=True, timeout=timeout)
    return result.exit_status, (result.stdout + result.stderr).strip()


async def check_api(cluster: Cluster, server: Server, conns: Connections) -> list[Check]:
    layout = server.layout
    _, out = await _sh(conns, server, ["systemctl", "is-active", layout.api_service])
    checks = [
        Check(
            f"{layout.api_service} active",
            server.name,
            out == "active",
            f"systemctl says {out or 'nothing'}",
            f"systemctl status {layout.api_service}; tail {layout.api_log}",
        )
    ]
    texts = await read_files(conns[server.name], [layout.spoolers_json])
    text = texts.get(layout.spoolers_json)
    if text is None:
        checks.append(Check("spoolers.json", server.name, False, "missing", "pmc setup apply"))
        return checks
    servers = spoolers.parse(text).servers
    listed = [{"name": s.name, "address": s.address, "type": s.type} for s in servers]
    wanted = [
        "spoolers: " + json.dumps(listed, separators=(",", ":")),
        "ipAddresses: " + json.dumps([s.address for s in servers], separators=(",", ":")),
    ]
    _, log = await _sh(conns, server, ["tail", "-n", "200", layout.api_log])
    starts = [i for i, line in enumerate(log.splitlines()) if "spoolers file" in line]
    last = "\n".join(log.splitlines()[starts[-1] :]) if starts else log
    for want in wanted:
        checks.append(
            Check(
                f"API log shows {want.split(':')[0]}",
                server.name,
                want in last,
                "its last start logged the current spoolers.json"
                if want in last
                else f"its last start did not log {want!r}",
                f"systemctl restart {layout.api_service}",
            )
        )
    return checks


async def check_database(cluster: Cluster, conns: Connections) -> list[Check]:
    main, backup = cluster.main, cluster.backup
    assert main and backup and main.redundancy_address and backup.redundancy_address
    out: list[Check] = []
    for server, peer in ((main, backup), (backup, main)):
        address = peer.redundancy_address
        assert address
        layout = peer.layout
        rc, text = await _sh(
            conns,
            server,
            ["psql", "-h", address, "-p", str(layout.postgresql_port), "-U",
             layout.database_user, "-d", layout.database, "-tAc", "select 1"],
        )  # fmt: skip
        out.append(
            Check(
                f"PostgreSQL of {peer.name} over eth2",
                server.name,
                rc == 0 and text.splitlines()[-1:] == ["1"],
                f"psql -h {address} answered" if rc == 0 else f"psql -h {address}: {text[-200:]}",
                f"on {peer.name}: listen_addresses, pg_hba.conf rule for"
                f" {server.redundancy_address}/32, firewall 5432/tcp (pmc setup apply)",
            )
        )
        rc, text = await _sh(
            conns,
            server,
            ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", f"root@{address}", "true"],
        )
        out.append(
            Check(
                f"root SSH to {peer.name} without password",
                server.name,
                rc == 0,
                f"ssh root@{address} logged in with a key"
                if rc == 0
                else f"ssh root@{address}: {text[-200:]}",
                f"root's key in {peer.name}'s authorized_keys; PermitRootLogin; known_hosts",
            )
        )
        out += await _effective_checks(conns, server, peer)
    assert main.redundancy_address
    rc, text = await _sh(
        conns, backup, [backup.layout.check_peer_status_script, main.redundancy_address]
    )
    out.append(
        Check(
            "check_failover peer status",
            backup.name,
            "Peer active" in text,
            text.splitlines()[-1] if text else "no output",
            f"{backup.layout.check_failover_script} {main.redundancy_address} on {backup.name}",
        )
    )
    return out


async def _effective_checks(conns: Connections, server: Server, peer: Server) -> list[Check]:
    """What the daemons of ``server`` really use for ``peer``'s copy config: sshd's
    PermitRootLogin for root from the peer, PostgreSQL's listen_addresses, the firewall zone
    that takes the peer's connections."""
    conn = conns[server.name]
    login = login_of(server, peer)
    assert login is not None and server.redundancy_address
    out: list[Check] = []
    probes = (
        (
            f"sshd lets root from {peer.name} log in with a key",
            Probe("sshd", "permitrootlogin", ("prohibit-password", "yes"), login.spec()),
            "PermitRootLogin prohibit-password where sshd reads it first (pmc setup apply)",
        ),
        (
            "PostgreSQL listens on eth2",
            Probe("postgresql", "listen_addresses", (server.redundancy_address,)),
            f"listen_addresses with {server.redundancy_address} (pmc setup apply), then restart",
        ),
    )
    for name, probe, fix in probes:
        try:
            said = await effective.check(probe, conn, server)
            out.append(Check(name, server.name, True, said))
        except effective.NotInEffect as exc:
            out.append(Check(name, server.name, False, exc.what, exc.hint or fix))
    port = f"{server.layout.postgresql_port}/tcp"
    try:
        zone = await effective.firewall_zone(conn, server, peer)
    except PmcError as exc:
        out.append(Check(f"firewall allows {port}", server.name, False, str(exc), ""))
        return out
    listed = port in zone.runtime_ports or "postgresql" in zone.runtime_services
    out.append(
        Check(
            f"firewall allows {port}",
            server.name,
            listed,
            f"zone {zone.name} ({zone.reason or 'the zone PMC checks'})"
            f" {'allows' if listed else 'does not allow'} {port}",
            f"firewall-cmd --permanent --zone={zone.name} --add-port={port}; firewall-cmd --reload",
        )
    )
    return out


async def end_to_end(cluster: Cluster, conns: Connections) -> list[Check]:
    """Run copy config once on the active server (the main, until a switchover), which copies
    to the other one, then compare the configuration tables of both servers. Copy config
    changes the other server: this part holds the cluster lock, it is not run when that
    server holds changes made since the last sync (it would discard them, see
    :mod:`pmc.sync.newer_changes`), and a copy that ran is recorded as a sync in both
    servers' audit logs."""
    source, target = pair(cluster)
    both = [conns[source.name], conns[target.name]]
    job = f"verify {cluster.name} end to end (copy config from {source.name})"
    async with cluster_lock(both, job=job):
        try:
            before = await newer_changes.look(cluster, conns, source, target)
        except PmcError as exc:
            why = f"not run: {source.name} and {target.name} could not be compared first: {exc}"
            return [Check("copy_config.sh", source.name, False, why, _PSQL_FIX)]
        if before.changes:
            fix = (
                f"synchronize from {target.name} first (pmc sync run --cluster {cluster.name}"
                f" --from {target.name}), then verify again"
            )
            return [Check("copy_config.sh", source.name, False, f"not run: {before.changes}", fix)]
        checks = await _end_to_end(cluster, conns, source, target)
        if checks[0].ok:
            summary = f"copy config from {source.name} (pmc setup verify --end-to-end)"
            await newer_changes.record(
                conns, source, target, before, engine_name="playout", summary=summary
            )
        return checks


async def _end_to_end(
    cluster: Cluster, conns: Connections, source: Server, target: Server
) -> list[Check]:
    """Copy config on ``source`` to ``target``, then compare their configuration tables."""
    assert source.redundancy_address and target.redundancy_address
    rc, text = await _sh(
        conns,
        source,
        [source.layout.copy_config_script, source.redundancy_address, target.redundancy_address],
        timeout=900,
    )
    checks = [
        Check(
            "copy_config.sh",
            source.name,
            rc == 0,
            next(
                (line for line in reversed(text.splitlines()) if "finished" in line),
                text.splitlines()[-1] if text else f"exit status {rc}",
            ),
            f"see {source.layout.copy_config_log} on {source.name}",
        )
    ]
    if rc != 0:
        return checks
    try:
        tables = await configuration_tables(conns, source)
        sums = await asyncio.gather(*(_table_sums(conns, s, tables) for s in (source, target)))
    except PmcError as exc:
        checks.append(
            Check(
                "configuration tables equal",
                target.name,
                False,
                f"could not compare: {exc}",
                _PSQL_FIX,
            )
        )
        return checks
    differ = [t for t in tables if sums[0].get(t) is None or sums[0].get(t) != sums[1].get(t)]
    checks.append(
        Check(
            "configuration tables equal",
            target.name,
            bool(tables) and not differ,
            f"{len(tables)} tables identical on both servers"
            if tables and not differ
            else f"differ: {', '.join(differ)}"
            if differ
            else "the catalog lists no configuration table",
            "run copy config again and read its log",
        )
    )
    return checks


async def configuration_tables(conns: Connections, server: Server) -> list[str]:
    """The configuration tables, from ``server``'s PostgreSQL catalog: tables of schema
    public with a primary key, minus what Playout keeps per server and the EPG (the same
    split as bundles and sync make, :func:`pmc.catalog.part_of`)."""
    found = await catalog.read_catalog(conns[server.name], server.layout)
    return sorted(found.configuration_tables())


async def _table_sums(conns: Connections, server: Server, tables: list[str]) -> dict[str, str]:
    """md5 over each table's rows (as text, in a fixed order), per table."""
    if not tables:
        return {}
    parts = [
        "select '" + t.replace("'", "''") + "', md5(coalesce(string_agg(md5(x::text), ''"
        f" order by md5(x::text)), '')) from public.{catalog.quote_ident(t)} x"
        for t in tables
    ]
    text = await catalog.psql_query(conns[server.name], server.layout, " union all ".join(parts))
    return dict(line.split("\t", 1) for line in text.splitlines() if "\t" in line)


TRAP_FIX = (
    "SNMP traps are fire-and-forget: send a test trap to {address} and look for it in the"
    " trap receiver's log there"
)


async def check_links(cluster: Cluster, conns: Connections) -> list[Check]:
    """Every connection of the manual's Admin/Player diagram, probed from the admin.

    TCP: a completed connect is up; a refusal or a timeout is down. UDP 161: the SNMP agent
    must answer a GetRequest; silence is down. UDP 162: a trap receiver answers nothing (only
    some answer an InformRequest, which PMC sends): an answer is up, an ICMP rejection (port
    unreachable, administratively prohibited) is down, and silence is UNVERIFIED — the port
    is open or silently dropped by a firewall, and no probe can tell which.
    """
    found = links(cluster.servers)
    groups: dict[tuple[str, str, str], list[Link]] = {}
    for link in found:
        groups.setdefault((link.source, link.address, link.protocol), []).append(link)
    keys = list(groups)
    results = await asyncio.gather(*(_probe(cluster, conns, key, groups[key]) for key in keys))
    answers: dict[tuple[str, str, str, int], tuple[bool, str]] = {}
    for key, ports in zip(keys, results, strict=True):
        for port, outcome in ports.items():
            answers[(*key, port)] = outcome
    return [_link_check(link, *answers[(link.source, link.address, link.protocol, link.port)])
            for link in found]  # fmt: skip


async def _probe(
    cluster: Cluster, conns: Connections, key: tuple[str, str, str], group: list[Link]
) -> dict[int, tuple[bool, str]]:
    source, address, protocol = key
    ports = [link.port for link in group]
    probe_command = udp_probe_command if protocol == "udp" else tcp_probe_command
    command = probe_command(address, ports)
    _, text = await _sh(conns, cluster.server(source), ["sh", "-c", command], timeout=30)
    return parse_port_lines(text, ports)


def _link_check(link: Link, up: bool, why: str) -> Check:
    name = f"{link.purpose} to {link.target} ({link.port}/{link.protocol})"
    where = f"{link.address}:{link.port}/{link.protocol}"
    fix = (
        f"open {link.port}/{link.protocol} on {link.target} (firewall-cmd --permanent"
        f" --add-port={link.port}/{link.protocol}; firewall-cmd --reload) and check that its"
        " service listens"
    )
    if up:
        detail = {
            "udp": "the SNMP agent answered a GetRequest"
            if not _is_trap(link)
            else "the trap receiver acknowledged an SNMP InformRequest",
        }.get(link.protocol, "connected")
        return Check(name, link.source, True, f"{where}: {detail}")
    if link.protocol == "udp" and why == "no answer":
        if _is_trap(link):
            return Check(
                name,
                link.source,
                True,
                f"{where}: not rejected (no ICMP port-unreachable), but no answer either — open,"
                " or silently dropped by a firewall; traps are fire-and-forget, so no probe can"
                " tell which",
                TRAP_FIX.format(address=link.address),
                unverified=True,
            )
        why = (
            "no answer within 3 s (dropped by a firewall, agent not running, or not"
            " community public)"
        )
    elif link.protocol == "udp":
        why = f"rejected ({why})"
    return Check(name, link.source, False, f"{where}: {why}", fix)


def _is_trap(link: Link) -> bool:
    return link.purpose == "SNMP traps"


async def verify(
    cluster: Cluster,
    conns: Connections,
    architecture: Architecture | str | None = None,
    *,
    end_to_end_check: bool = False,
) -> VerifyReport:
    arch = Architecture(architecture or cluster.architecture)
    report = VerifyReport(cluster.name, arch.value)
    main = cluster.main
    assert main is not None
    if arch in (Architecture.WEB_ONE_WAY, Architecture.WEB_SYMMETRIC, Architecture.COMBINED):
        targets = [main] if arch is Architecture.WEB_ONE_WAY else list(cluster.servers)
        for server in targets:
            report.checks += await check_api(cluster, server, conns)
    if arch in (Architecture.DATABASE, Architecture.COMBINED):
        report.checks += await check_database(cluster, conns)
        if end_to_end_check:
            report.checks += await end_to_end(cluster, conns)
    if arch is Architecture.ADMIN_PLAYER:
        report.checks += await check_links(cluster, conns)
    return report
