"""What every architecture's planner shares: validation, file edits merged per file, restarts.

A planner registers *wishes* on a :class:`PlanBuilder` — "replicate.conf on main lists
these addresses", "sshd_config has PermitRootLogin prohibit-password" — each with the reason
to change and the reason it may already be right. :meth:`PlanBuilder.build` parses every
touched file once with its codec, applies the wishes in order, and emits one WRITE_FILE step
per changed file (its reasons joined) or one NoChange per wish that changed nothing. Services
are restarted only where a file they read changed.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from pmc.configs import pg_hba, postgresql_conf, replicate, spoolers, sshd_config
from pmc.configs.sshd_tree import Login
from pmc.errors import ConfigSyntaxError, InputError
from pmc.inventory import Cluster, Inventory, Server
from pmc.plan import Effective, NoChange, Plan, Step, StepKind
from pmc.setup import facts as F
from pmc.setup.facts import ServerFacts
from pmc.validation import validate_inventory


class PlanRefused(InputError):
    """The plan cannot be made: bad inventory, an unreadable file, a missing prerequisite."""


class Document(Protocol):
    def render(self) -> str: ...


Parser = Callable[[str, str], Document]


PARSERS: dict[str, Parser] = {
    F.SPOOLERS: lambda text, path: spoolers.parse(text, path=path),
    F.REPLICATE: lambda text, path: replicate.parse(text, path=path),
    F.PG_HBA: lambda text, path: pg_hba.parse(text, path=path),
    F.POSTGRESQL_CONF: lambda text, path: postgresql_conf.parse(text, path=path),
    F.SSHD_CONFIG: lambda text, path: sshd_config.parse(text, path=path),
}

# Which service reads which file (a change restarts it).
READERS: dict[str, str] = {
    F.SPOOLERS: "api_service",
    F.REPLICATE: "api_service",
    F.PG_HBA: "postgresql_service",
    F.POSTGRESQL_CONF: "postgresql_service",
    F.SSHD_CONFIG: "sshd_service",
}

# Files that must exist before PMC edits them (their absence means Playout is not installed
# the way the manual expects, and PMC will not invent them).
REQUIRED = (F.SPOOLERS, F.PG_HBA, F.POSTGRESQL_CONF, F.SSHD_CONFIG)

MISSING_HINTS = {
    F.SPOOLERS: "The Playout API installer (install-api.sh) writes it; install the API again"
    " as the manual describes. PMC does not invent it.",
    F.PG_HBA: "Playout's PostgreSQL keeps it in its data folder; check the server's layout in"
    " the inventory (pg_hba_conf). PMC does not invent it.",
    F.POSTGRESQL_CONF: "Playout's PostgreSQL keeps it in its data folder; check the server's"
    " layout in the inventory (postgresql_conf). PMC does not invent it.",
    F.SSHD_CONFIG: "Check the server's layout in the inventory (sshd_config). PMC does not"
    " invent it.",
}

# Order of restarts: the database first, sshd next, the API (which reads both files) last.
RESTART_ORDER = ("postgresql_service", "sshd_service", "api_service")


def path_of(server: Server, key: str) -> str:
    layout = server.layout
    ssh_dir = layout.root_ssh_dir
    paths = {
        F.SPOOLERS: layout.spoolers_json,
        F.REPLICATE: layout.replicate_conf,
        F.PG_HBA: layout.pg_hba_conf,
        F.POSTGRESQL_CONF: layout.postgresql_conf,
        F.SSHD_CONFIG: layout.sshd_config,
        F.AUTHORIZED_KEYS: layout.authorized_keys,
        F.KNOWN_HOSTS: f"{ssh_dir}/known_hosts",
        F.ROOT_PUBLIC_KEY: f"{ssh_dir}/id_ed25519.pub",
        F.HOST_KEY: layout.sshd_config.rsplit("/", 1)[0] + "/ssh_host_ed25519_key.pub",
        F.PG_AUTO_CONF: layout.postgresql_conf.rsplit("/", 1)[0] + "/postgresql.auto.conf",
    }
    return paths[key]


def peer_of(cluster: Cluster, server: Server) -> Server | None:
    """The server whose copy config logs in to ``server`` over eth2 (main ↔ backup)."""
    main, backup = cluster.main, cluster.backup
    if main is None or backup is None:
        return None
    if not (main.redundancy_address and backup.redundancy_address):
        return None
    return {main.name: backup, backup.name: main}.get(server.name)


def login_of(server: Server, peer: Server | None) -> Login | None:
    """Copy config's login to ``server``: root from the peer's eth2 address."""
    if peer is None or not peer.redundancy_address:
        return None
    return Login("root", peer.redundancy_address, server.redundancy_address)


Edit = Callable[[object], bool]


@dataclass(frozen=True)
class ExtraFile:
    """A file outside the layout's list that a planner edits or creates (PMC's sshd drop-in
    ``00-pmc.conf``): its path, observed text (None: new) and codec (a key of PARSERS, which
    also says which service reads it)."""

    path: str
    text: str | None
    parser: str
    mode: int = 0o600


FileKey = str | ExtraFile


@dataclass
class _Wish:
    subject: str
    edit: Edit
    reason: str  # why the change is needed
    already: str  # "no change because …" when the file is already right
    effective: Effective | None = None  # the daemon's value before → after, if it changes


@dataclass
class SetupOptions:
    """What the operator chose beyond the architecture."""

    permit_root_login: str = "prohibit-password"  # or "yes" (the manual's choice)
    listen_all: bool = False  # listen_addresses = '*' as the manual says
    # prohibit-password also where root may already log in with a password (PermitRootLogin
    # yes): closes root password logins; refused for a server PMC reaches by root password
    harden_root_login: bool = False

    def as_pairs(self) -> tuple[tuple[str, str], ...]:
        return (
            ("permit_root_login", self.permit_root_login),
            ("listen_all", "yes" if self.listen_all else "no"),
            ("harden_root_login", "yes" if self.harden_root_login else "no"),
        )


@dataclass
class PlanBuilder:
    cluster: Cluster
    facts: dict[str, ServerFacts]
    options: SetupOptions = field(default_factory=SetupOptions)
    _wishes: dict[tuple[str, FileKey], list[_Wish]] = field(default_factory=dict)
    _first: list[Step] = field(default_factory=list)  # commands before the file edits
    _middle: list[Step] = field(default_factory=list)  # key moves, firewall (after edits)
    _checks: list[Step] = field(default_factory=list)  # after the restarts: did it take effect
    _last: list[Step] = field(default_factory=list)  # after the restarts
    _restarts: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # by RUN steps
    _codecs: dict[tuple[str, str], str] = field(default_factory=dict)  # (server, path) written
    unchanged: list[NoChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def facts_of(self, server: Server) -> ServerFacts:
        try:
            return self.facts[server.name]
        except KeyError:
            raise PlanRefused(f"server {server.name} was not observed") from None

    def wish(
        self,
        server: Server,
        key: FileKey,
        subject: str,
        edit: Edit,
        *,
        reason: str,
        already: str,
        effective: Effective | None = None,
    ) -> None:
        wishes = self._wishes.setdefault((server.name, key), [])
        if any(w.subject == subject for w in wishes):
            return  # two architectures asking for the same thing (combined): once is enough
        wishes.append(_Wish(subject, edit, reason, already, effective))

    def restart_for(self, server: Server, attr: str, path: str) -> None:
        """A RUN step changes ``path``, which the service ``attr`` reads: restart it."""
        self._restarts.setdefault(server.name, {}).setdefault(attr, []).append(path)

    def check(self, step: Step) -> None:
        """A CHECK step, run after the restarts."""
        if step not in self._checks:
            self._checks.append(step)

    def run_first(self, step: Step) -> None:
        self._first.append(step)

    def run_middle(self, step: Step) -> None:
        self._middle.append(step)

    def run_last(self, step: Step) -> None:
        self._last.append(step)

    def no_change(self, server: Server, subject: str, reason: str) -> None:
        self.unchanged.append(NoChange(server.name, subject, reason))

    def document(self, server: Server, key: str) -> tuple[str | None, Document | None]:
        """The observed text and parsed document of a file (None, None when absent)."""
        text = self.facts_of(server).file(key)
        if text is None:
            return None, None
        where = f"{server.name}:{path_of(server, key)}"
        try:
            return text, PARSERS[key](text, where)
        except ConfigSyntaxError as exc:
            raise PlanRefused(
                f"{exc.what}; PMC will not edit a file it cannot read",
                where=exc.where,
                hint=exc.hint or "Correct the file on the server, then plan again.",
            ) from None

    def build(self, architecture: str) -> Plan:
        edits: list[Step] = []
        restart: dict[str, set[str]] = {}
        for (name, key), wishes in self._wishes.items():
            server = self.cluster.server(name)
            mode = 0o644
            if isinstance(key, ExtraFile):
                path, text, codec, mode = key.path, key.text, key.parser, key.mode
                doc: Document | None = PARSERS[codec](text or "", f"{name}:{path}")
            else:
                path, codec = path_of(server, key), key
                text, doc = self.document(server, key)
            if doc is None:
                if key in REQUIRED:
                    raise PlanRefused(
                        f"{path} does not exist",
                        where=name,
                        hint=MISSING_HINTS.get(codec, "PMC does not invent it."),
                    )
                doc = PARSERS[codec]("", f"{name}:{path}")
            reasons: list[str] = []
            effective: list[Effective] = []
            for wish in wishes:
                if wish.edit(doc):
                    reasons.append(wish.reason)
                    effective += [wish.effective] if wish.effective else []
                else:
                    self.no_change(server, wish.subject, wish.already)
            after = doc.render()
            if reasons and after != text:
                edits.append(
                    Step(
                        StepKind.WRITE_FILE,
                        name,
                        f"{'edit' if text is not None else 'create'} {path}",
                        "; ".join(reasons),
                        path=path,
                        before=text,
                        after=after,
                        mode=mode,
                        effective=tuple(effective),
                    )
                )
                self._codecs[(name, path)] = codec
                if codec in READERS:
                    restart.setdefault(name, set()).add(READERS[codec])
        for name, attrs in self._restarts.items():
            restart.setdefault(name, set()).update(attrs)
        restarts = [
            self._restart_step(self.cluster.server(s.name), attr, edits)
            for attr in RESTART_ORDER
            for s in self.cluster.servers
            if attr in restart.get(s.name, set())
        ]
        return Plan(
            cluster=self.cluster.name,
            architecture=architecture,
            steps=(*self._first, *edits, *self._middle, *restarts, *self._checks, *self._last),
            unchanged=tuple(self.unchanged),
            fingerprints=tuple(
                (s.name, self.facts[s.name].fingerprint)
                for s in self.cluster.servers
                if s.name in self.facts
            ),
            notes=tuple(self.notes),
            options=self.options.as_pairs(),
        )

    def _restart_step(self, server: Server, attr: str, edits: list[Step]) -> Step:
        layout = server.layout
        service: str = getattr(layout, attr)
        changed = [s.path or "" for s in edits if s.server == server.name]
        order = list(READERS)
        read = sorted(
            (p for p in changed if READERS.get(self._codecs.get((server.name, p), "")) == attr),
            key=lambda p: order.index(self._codecs[(server.name, p)]),
        )
        read += self._restarts.get(server.name, {}).get(attr, [])
        expect: tuple[str, ...] = ()
        log_path = None
        if attr == "api_service":
            written = {s.path: s.after for s in edits if s.server == server.name}
            facts = self.facts_of(server)
            expect = api_log_expectations(
                written.get(layout.spoolers_json, facts.file(F.SPOOLERS)),
                written.get(layout.replicate_conf, facts.file(F.REPLICATE)),
            )
            log_path = layout.api_log
        return Step(
            StepKind.RESTART,
            server.name,
            f"restart {service}",
            f"it reads {', '.join(read)}, which this plan changes",
            service=service,
            expect_log=expect,
            log_path=log_path,
        )


def api_log_expectations(spoolers_text: str | None, replicate_text: str | None) -> tuple[str, ...]:
    """The start-up lines the manual says to look for: spoolers and ipAddresses."""
    del replicate_text  # the API logs the addresses of spoolers.json as ipAddresses
    if spoolers_text is None:
        return ()
    servers = spoolers.parse(spoolers_text).servers
    listed = [{"name": s.name, "address": s.address, "type": s.type} for s in servers]
    addresses = [s.address for s in servers]
    return (
        "spoolers: " + json.dumps(listed, separators=(",", ":")),
        "ipAddresses: " + json.dumps(addresses, separators=(",", ":")),
    )


def validate_cluster(cluster: Cluster) -> None:
    """The inventory's own rules, for this cluster: refuse to plan on bad input."""
    problems = [
        p
        for p in validate_inventory(Inventory(clusters=(cluster,)))
        if p.cluster in (None, cluster.name)
    ]
    if problems:
        listed = "; ".join(str(p) for p in problems)
        raise PlanRefused(
            f"the inventory of cluster {cluster.name} has problems: {listed}",
            hint="Correct the inventory (pmc inventory validate), then plan again.",
        )


def cluster_addresses(cluster: Cluster) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for server in cluster.servers:
        for text in (server.management_address, server.redundancy_address):
            if text:
                found.add(ipaddress.ip_address(text))
    return found


def ensure_in_cluster(cluster: Cluster, addresses: Iterable[str], *, where: str) -> None:
    """The last guard: PMC never writes an address that belongs to no server of the cluster."""
    known = cluster_addresses(cluster)
    for text in addresses:
        if ipaddress.ip_address(text) not in known:
            raise PlanRefused(
                f"the address {text} belongs to no server of cluster {cluster.name}",
                where=where,
                hint="Check the inventory's addresses (a typo such as 192.158.1.105?).",
            )


def foreign_addresses(cluster: Cluster, addresses: Iterable[object]) -> list[str]:
    """Addresses in an existing file that belong to no server of the cluster (for reasons)."""
    known = cluster_addresses(cluster)
    out: list[str] = []
    for address in addresses:
        try:
            if ipaddress.ip_address(str(address)) not in known:
                out.append(str(address))
        except ValueError:
            out.append(str(address))
    return out
