"""Planner: the prerequisites of 1+1 database replication (Slony copy config over eth2).

What the manual asks for, on both main and backup, and what PMC does instead where the
manual is risky:

- replicate.conf: the server's own eth2 address first, then its peer's.
- pg_hba.conf: ``host all all <eth2>/32 trust`` for both servers (the manual's rule; the
  reason names its risk).
- postgresql.conf: ``listen_addresses`` covers the server's own eth2 address, written where
  PostgreSQL really takes it from (:mod:`pmc.setup.postgresql`: the file's line, or ALTER
  SYSTEM when postgresql.auto.conf or an included file sets it); pg_hba.conf errors that
  PostgreSQL reports refuse the plan.
- firewall: 5432/tcp in the zone that takes the peer's connections (observed: a zone with the
  peer's address as a source, the zone of the eth2 interface, else the default zone;
  ``--permanent`` then ``--reload``).
- root SSH keys: ed25519 generated on each server if missing; each public key appended to the
  peer's authorized_keys by PMC over its own connections (no password is ever typed); the
  peer's host key pinned in root's known_hosts for its eth2 address (PMC read it over a
  connection whose host key it verified), so ``ssh -o BatchMode=yes`` works the first time.
- sshd: ``PermitRootLogin prohibit-password`` (keys only) unless sshd already lets root in
  with a key from the peer (``sshd -T -C``); the manual's ``yes`` only when the operator asks
  for it; written where sshd reads it first (:mod:`pmc.setup.root_login`).
- check_failover.sh on the backup with the main's eth2 address, last.
"""

from __future__ import annotations

from pmc.configs.pg_hba import PgHba
from pmc.inventory import Server
from pmc.plan import Step, StepKind
from pmc.setup import facts as F
from pmc.setup.planning import (
    PlanBuilder,
    PlanRefused,
    ensure_in_cluster,
    path_of,
)
from pmc.setup.postgresql import hba_errors, listen
from pmc.setup.replicate_conf import plan_replicate_conf
from pmc.setup.root_login import permit_root_login

PG_PORT_SERVICE = "postgresql"


def pair(builder: PlanBuilder) -> tuple[Server, Server]:
    """Main and backup, each with a redundancy address, or a refusal saying what is missing."""
    cluster = builder.cluster
    main, backup = cluster.main, cluster.backup
    if main is None or backup is None:
        raise PlanRefused(
            f"cluster {cluster.name} needs one server with role main and one with role backup",
            hint="Set the roles in the inventory (pmc inventory show).",
        )
    for server in (main, backup):
        if not server.redundancy_address:
            raise PlanRefused(
                f"server {server.name} has no redundancy (eth2) address",
                hint="Add redundancy_address to the inventory: copy config runs over eth2.",
            )
    return main, backup


def plan_database(builder: PlanBuilder) -> None:
    main, backup = pair(builder)
    for server, peer in ((main, backup), (backup, main)):
        replicate_conf(builder, server, peer)
        hba_errors(builder, server)
        hba(builder, server, peer)
        listen(builder, server)
        firewall(builder, server, peer)
        permit_root_login(builder, server, peer)
    for server in (main, backup):
        root_key(builder, server)
    for server, peer in ((main, backup), (backup, main)):
        authorize(builder, server, peer)
        known_host(builder, server, peer)
    failover(builder, main, backup)


def replicate_conf(builder: PlanBuilder, server: Server, peer: Server) -> None:
    own, other = server.redundancy_address, peer.redundancy_address
    assert own and other
    plan_replicate_conf(
        builder,
        server,
        [own, other],
        reason=f"copy config needs this server's own eth2 address first, then its peer's:"
        f" {own}, {other}",
        already=f"it already lists {own} then {other}",
    )


def hba(builder: PlanBuilder, server: Server, peer: Server) -> None:
    _, doc = builder.document(server, F.PG_HBA)
    for host in (server, peer):
        address = host.redundancy_address
        assert address
        ensure_in_cluster(builder.cluster, [address], where=f"{server.name}:pg_hba.conf")
        if isinstance(doc, PgHba):
            shadow = doc.shadowing("all", "all", address, "trust")
            if shadow is not None:
                builder.notes.append(
                    f"{server.name}: pg_hba.conf line {shadow.line} ({shadow.type} "
                    f"{shadow.database} {shadow.user} {shadow.address or ''} {shadow.method})"
                    f" decides connections from {address} before the rule PMC adds; copy"
                    " config may be refused until it is moved or removed."
                )

        def edit(d: object, address: str = address) -> bool:
            assert isinstance(d, PgHba)
            return d.ensure_host_rule("all", "all", f"{address}/32", "trust")

        builder.wish(
            server,
            F.PG_HBA,
            f"pg_hba rule for {host.name} ({address})",
            edit,
            reason=f"Slony's slon for {host.name} connects from {address} over eth2 ('trust'"
            " as the manual says: no password from that one address, so keep eth2 a private"
            " cable — whoever can use the address can log in as any database user)",
            already=f"a rule equivalent to 'host all all {address}/32 trust' is there",
        )


def firewall(builder: PlanBuilder, server: Server, peer: Server) -> None:
    facts = builder.facts_of(server)
    layout = server.layout
    port = f"{layout.postgresql_port}/tcp"
    zone_name = facts.firewall_zone or layout.firewall_zone
    which = f"zone {zone_name}" + (
        f" (it takes {peer.name}'s connections: {facts.firewall_zone_reason})"
        if facts.firewall_zone_reason
        else ""
    )
    if not facts.firewall_running:
        builder.no_change(
            server,
            f"firewall port {port}",
            "firewalld is not running on this server, so it blocks nothing",
        )
        return
    permanent = port in facts.firewall_ports or PG_PORT_SERVICE in facts.firewall_services
    runtime = port in facts.runtime_ports or PG_PORT_SERVICE in facts.runtime_services
    if permanent and runtime:
        builder.no_change(
            server, f"firewall port {port}", f"{port} is already open in the firewall's {which}"
        )
        return
    zone = f"--zone={zone_name}"
    if not permanent:
        builder.run_middle(
            Step(
                StepKind.RUN,
                server.name,
                f"open {port} in the firewall",
                f"the peer's slon connects to PostgreSQL on {port}, which the firewall's"
                f" {which} does not allow yet",
                argv=("firewall-cmd", "--permanent", zone, f"--add-port={port}"),
                undo=(
                    ("firewall-cmd", "--permanent", zone, f"--remove-port={port}"),
                    ("firewall-cmd", "--reload"),
                ),
            )
        )
    builder.run_middle(
        Step(
            StepKind.RUN,
            server.name,
            "reload the firewall",
            f"the permanent rule for {port} takes effect at the next reload",
            argv=("firewall-cmd", "--reload"),
        )
    )


def root_key(builder: PlanBuilder, server: Server) -> None:
    facts = builder.facts_of(server)
    private = path_of(server, F.ROOT_PUBLIC_KEY).removesuffix(".pub")
    public = facts.file(F.ROOT_PUBLIC_KEY)
    if facts.root_private_key and public is not None:
        builder.no_change(server, "root's ed25519 key", f"{private} exists")
        return
    if facts.root_private_key:
        raise PlanRefused(
            f"{private} exists but {private}.pub does not",
            where=server.name,
            hint=f"Recreate the public key on the server (ssh-keygen -y -f {private} >"
            f" {private}.pub) or move the private key away, then plan again.",
        )
    builder.run_first(
        Step(
            StepKind.RUN,
            server.name,
            "generate root's ed25519 key",
            "copy config logs in to the peer as root without a password; this server has"
            " no ed25519 key for root yet",
            argv=(
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                f"root@{server.name} (pmc)",
                "-f",
                private,
            ),
            creates=(private, f"{private}.pub"),
        )
    )


def _key_body(line: str) -> tuple[str, str] | None:
    parts = line.split()
    for index, part in enumerate(parts[:-1]):
        if part.startswith(("ssh-", "ecdsa-", "sk-")):
            return part, parts[index + 1]
    return None


def has_key(text: str | None, key_line: str) -> bool:
    wanted = _key_body(key_line)
    if text is None or wanted is None:
        return False
    return any(_key_body(line) == wanted for line in text.splitlines())


def append_line(text: str | None, line: str) -> str:
    base = text or ""
    if base and not base.endswith("\n"):
        base += "\n"
    return base + line.rstrip("\n") + "\n"


def authorize(builder: PlanBuilder, server: Server, peer: Server) -> None:
    """The peer's root key goes into this server's authorized_keys."""
    facts = builder.facts_of(server)
    peer_facts = builder.facts_of(peer)
    path = path_of(server, F.AUTHORIZED_KEYS)
    current = facts.file(F.AUTHORIZED_KEYS)
    key = peer_facts.file(F.ROOT_PUBLIC_KEY)
    subject = f"{peer.name}'s root key in authorized_keys"
    reason = (
        f"copy config on {peer.name} logs in here as root without a password; PMC moves the"
        " public key over its own connections"
    )
    if key is not None and peer_facts.root_private_key:
        line = key.strip().splitlines()[0] if key.strip() else ""
        if has_key(current, line):
            builder.no_change(server, subject, f"{path} already holds it")
            return
        builder.run_middle(
            Step(
                StepKind.WRITE_FILE,
                server.name,
                f"add {peer.name}'s root key to {path}",
                reason,
                path=path,
                before=current,
                after=append_line(current, line),
                mode=0o600,
            )
        )
        return
    builder.run_middle(
        Step(
            StepKind.AUTHORIZE_KEY,
            server.name,
            f"add {peer.name}'s new root key to {path}",
            reason,
            path=path,
            before=current,
            key_server=peer.name,
            key_path=path_of(peer, F.ROOT_PUBLIC_KEY),
        )
    )


def known_host(builder: PlanBuilder, server: Server, peer: Server) -> None:
    """Pin the peer's host key for its eth2 address in root's known_hosts on this server."""
    facts = builder.facts_of(server)
    host_key = builder.facts_of(peer).file(F.HOST_KEY)
    address = peer.redundancy_address
    assert address
    path = path_of(server, F.KNOWN_HOSTS)
    subject = f"{peer.name}'s host key in known_hosts"
    body = _key_body(host_key or "")
    if body is None:
        builder.notes.append(
            f"{server.name}: {peer.name}'s ed25519 host key could not be read; root's first"
            f" ssh to {address} will ask to trust it (BatchMode logins fail until then)."
        )
        return
    wanted = f"{address} {body[0]} {body[1]}"
    current = facts.file(F.KNOWN_HOSTS)
    kept: list[str] = []
    stale = False
    for line in (current or "").splitlines(keepends=True):
        hosts = line.split()[0].split(",") if line.split() else []
        if address in hosts and _key_body(line) == body:
            builder.no_change(server, subject, f"{path} already trusts it for {address}")
            return
        if address in hosts and _key_body(line) and _key_body(line)[0] == body[0]:  # type: ignore[index]
            stale = True
            continue
        kept.append(line)
    before_kept = "".join(kept) if kept else ("" if current is not None else None)
    reason = (
        f"root's ssh to {peer.name} ({address}) must trust its host key without asking; PMC"
        " read it over a verified connection"
    )
    if stale:
        reason += f" (the entry for {address} there holds a different, old key)"
    builder.run_middle(
        Step(
            StepKind.WRITE_FILE,
            server.name,
            f"trust {peer.name}'s host key in {path}",
            reason,
            path=path,
            before=current,
            after=append_line(before_kept, wanted),
            mode=0o644,
        )
    )


def failover_file(server: Server) -> str:
    """Where check_failover.sh records its peer (PLAYOUT_HOME/.failover-peer)."""
    return server.layout.bin_dir.rsplit("/", 1)[0] + "/.failover-peer"


def failover(builder: PlanBuilder, main: Server, backup: Server) -> None:
    facts = builder.facts_of(backup)
    address = main.redundancy_address
    assert address
    if facts.failover_peer == address:
        builder.no_change(
            backup, "check_failover.sh", f"it has already been run for {main.name} ({address})"
        )
        return
    builder.run_last(
        Step(
            StepKind.RUN,
            backup.name,
            "run check_failover.sh for the main server",
            "copy config fails with 'Checking failover on slave... returned 127' until the"
            " backup has checked its main's status",
            argv=(backup.layout.check_failover_script, address),
            creates=() if facts.failover_peer is not None else (failover_file(backup),),
        )
    )
