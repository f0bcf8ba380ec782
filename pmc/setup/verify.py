"""Verify: the manual's checks, run on the servers themselves, one line each.

Every check runs where the manual runs it — psql and ssh *from* a server to its peer over
eth2, check_peer_status.sh on the backup — so a pass means the servers can do it, not just
PMC. Each :class:`Check` says pass/fail, why, and what to do about a failure.
"""

from __future__ import annotations

import asyncio
import json
import shlex
from dataclasses import dataclass, field

from pmc.configs import spoolers
from pmc.inventory import Architecture, Cluster, Server
from pmc.lab.playout import CONFIG_TABLES
from pmc.remote import commands
from pmc.setup.admin_player import Link, links
from pmc.setup.observe import Connections, read_files

# SNMPv1 get-request for sysDescr.0, community "public" (what an SNMP agent must answer).
_SNMP_GET = (
    "\\x30\\x26\\x02\\x01\\x00\\x04\\x06public\\xa0\\x19\\x02\\x01\\x01\\x02\\x01\\x00"
    "\\x02\\x01\\x00\\x30\\x0e\\x30\\x0c\\x06\\x08\\x2b\\x06\\x01\\x02\\x01\\x01\\x01\\x00"
    "\\x05\\x00"
)


@dataclass(frozen=True)
class Check:
    name: str
    server: str
    ok: bool
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        mark = "PASS" if self.ok else "FAIL"
        text = f"{mark}  [{self.server}] {self.name}: {self.detail}"
        if not self.ok and self.fix:
            text += f" — fix: {self.fix}"
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

    def __str__(self) -> str:
        head = f"Verify {self.cluster} ({self.architecture}): "
        head += "all checks pass" if self.ok else f"{len(self.failed)} of {len(self.checks)} fail"
        return "\n".join([head, *(str(c) for c in self.checks)])


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
        rc, text = await _sh(
            conns, server, ["firewall-cmd", f"--zone={server.layout.firewall_zone}", "--list-all"]
        )
        port = f"{server.layout.postgresql_port}/tcp"
        listed = port in text or " postgresql" in text
        out.append(
            Check(
                f"firewall lists {port}",
                server.name,
                listed,
                f"firewall-cmd --list-all {'lists' if listed else 'does not list'} {port}",
                f"firewall-cmd --permanent --zone=public --add-port={port}; firewall-cmd --reload",
            )
        )
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


async def end_to_end(cluster: Cluster, conns: Connections) -> list[Check]:
    """Run copy config once on main, then compare the configuration tables of both servers."""
    main, backup = cluster.main, cluster.backup
    assert main and backup and main.redundancy_address and backup.redundancy_address
    rc, text = await _sh(
        conns,
        main,
        [main.layout.copy_config_script, main.redundancy_address, backup.redundancy_address],
        timeout=900,
    )
    checks = [
        Check(
            "copy_config.sh",
            main.name,
            rc == 0,
            next(
                (line for line in reversed(text.splitlines()) if "finished" in line),
                text.splitlines()[-1] if text else f"exit status {rc}",
            ),
            f"see {main.layout.copy_config_log} on {main.name}",
        )
    ]
    if rc != 0:
        return checks
    tables = await _tables(conns, main)
    sums = await asyncio.gather(*(_table_sums(conns, s, tables) for s in (main, backup)))
    differ = [t for t in tables if sums[0].get(t) != sums[1].get(t)]
    checks.append(
        Check(
            "configuration tables equal",
            backup.name,
            not differ,
            f"{len(tables)} tables identical on both servers"
            if not differ
            else f"differ: {', '.join(differ)}",
            "run copy config again and read its log",
        )
    )
    return checks


async def _tables(conns: Connections, server: Server) -> list[str]:
    return list(CONFIG_TABLES)


async def _table_sums(conns: Connections, server: Server, tables: list[str]) -> dict[str, str]:
    layout = server.layout
    parts = [
        f"select {shlex.quote(t)}, md5(coalesce(string_agg(x::text, '|' order by x::text), ''))"
        f" from {t} x"
        for t in tables
    ]
    sql = " union all ".join(parts)
    _, text = await _sh(
        conns,
        server,
        ["psql", "-U", layout.database_user, "-d", layout.database, "-tA", "-F", " ", "-c", sql],
    )
    return dict(line.split(" ", 1) for line in text.splitlines() if " " in line)


async def check_links(cluster: Cluster, conns: Connections) -> list[Check]:
    out: list[Check] = []
    found = links(cluster.servers)
    results = await asyncio.gather(*(_probe(cluster, conns, link) for link in found))
    for link, (ok, detail) in zip(found, results, strict=True):
        out.append(
            Check(
                f"{link.purpose} to {link.target} ({link.port}/{link.protocol})",
                link.source,
                ok,
                detail,
                f"open {link.port}/{link.protocol} on {link.target} (firewall-cmd) and check"
                " the service listens",
            )
        )
    return out


async def _probe(cluster: Cluster, conns: Connections, link: Link) -> tuple[bool, str]:
    source = cluster.server(link.source)
    target = f"/dev/{link.protocol}/{link.address}/{link.port}"
    if link.protocol == "tcp":
        script = 'timeout 5 bash -c "exec 3<>$1"'
        rc, text = await _sh(conns, source, ["bash", "-c", script, "pmc", target])
        return rc == 0, "connected" if rc == 0 else f"no connection ({text[-120:] or rc})"
    script = (
        f'exec 3<>"$1" || exit 2; printf "{_SNMP_GET}" >&3;'
        " IFS= read -r -t 3 -N 1 reply <&3 && exit 0; exit 1"
    )
    rc, text = await _sh(conns, source, ["bash", "-c", script, "pmc", target])
    return rc == 0, "answered" if rc == 0 else "no answer within 3 s"


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
