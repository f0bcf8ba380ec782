"""The rules themselves: one method of :class:`Rules` per rule, each adding a
:class:`~pmc.problems.Problem` placed by ``locate``. :mod:`pmc.validation` runs them and
documents the decisions behind them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from pathlib import Path

from pmc.configs.addresses import IPAddress, parse_address
from pmc.errors import InputError
from pmc.inventory import Architecture, AuthMethod, Cluster, Inventory, Role, Server, SyncEngine
from pmc.layout import DEFAULT_LAYOUT
from pmc.problems import Problem

MIN_SERVERS = 2
MAX_SERVERS = 4
SYNC_EVERY_RANGE = (1.0, 7 * 24 * 60.0)  # minutes
SYNC_CHECK_RANGE = (1.0, 24 * 60.0)

ONE_MAIN_ONE_BACKUP = frozenset(
    {
        Architecture.WEB_ONE_WAY,
        Architecture.WEB_SYMMETRIC,
        Architecture.DATABASE,
        Architecture.COMBINED,
    }
)
NEEDS_REDUNDANCY_ADDRESS = frozenset({Architecture.DATABASE, Architecture.COMBINED})

_NAME = re.compile(r"\w(?:[\w.-]| (?=\S)){0,63}")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}")


Locate = Callable[[int, int | None, str | None], int | None]
"""``locate(cluster_index, server_index, field)`` → line, for problems found in the model."""


def check_address(text: str) -> str | None:
    """Why ``text`` is not a usable server address, or None if it is."""
    try:
        address = parse_address(text)
    except InputError as exc:
        return str(exc)
    if address.is_unspecified:
        return f"{address} is the 'any' address, not the address of a server"
    if address.is_multicast:
        return f"{address} is a multicast address, not the address of a server"
    if address == ipaddress.IPv4Address("255.255.255.255"):
        return f"{address} is the broadcast address, not the address of a server"
    return None


# -------------------------------------------------------------------------------------- rules


def _label(cluster: Cluster, server: Server | None = None, index: int = 0) -> str:
    cluster_text = f"cluster {cluster.name!r}" if cluster.name else "a cluster without a name"
    if server is None:
        return cluster_text
    server_text = f"server {server.name!r}" if server.name else f"server #{index + 1}"
    return f"{server_text} of {cluster_text}"


def _subnet(address: IPAddress) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    prefix = 24 if address.version == 4 else 64
    return ipaddress.ip_network(f"{address}/{prefix}", strict=False)


class Rules:
    def __init__(self, path: str, locate: Locate) -> None:
        self.path = path
        self.locate = locate
        self.problems: list[Problem] = []

    def add(  # noqa: PLR0917 - (cluster index, cluster, server index, server, field) is one place
        self,
        message: str,
        ci: int,
        cluster: Cluster,
        si: int | None = None,
        server: Server | None = None,
        field: str | None = None,
    ) -> None:
        self.problems.append(
            Problem(
                message,
                path=self.path,
                line=self.locate(ci, si, field),
                cluster=cluster.name or None,
                server=server.name if server is not None and server.name else None,
                field=field,
            )
        )

    def inventory(
        self, inventory: Inventory, *, allow_incomplete: bool, unsure_roles: frozenset[str]
    ) -> None:
        cluster_names: dict[str, int] = {}
        used: dict[IPAddress, tuple[Cluster, Server, str, int | None]] = {}
        for ci, cluster in enumerate(inventory.clusters):
            label = _label(cluster)
            if not cluster.name:
                self.add('a cluster has no name; add name = "…"', ci, cluster, field="name")
            elif not _NAME.fullmatch(cluster.name):
                self.add(
                    f"{label}: the name may use letters, digits, '.', '-', '_' and single"
                    " spaces (at most 64 characters)",
                    ci,
                    cluster,
                    field="name",
                )
            elif cluster.name in cluster_names:
                first = self.locate(cluster_names[cluster.name], None, "name")
                self.add(
                    f"{label}: another cluster has the same name"
                    + (f" (line {first})" if first else "")
                    + "; give each cluster its own name",
                    ci,
                    cluster,
                    field="name",
                )
            else:
                cluster_names[cluster.name] = ci
            self.cluster(ci, cluster, allow_incomplete, cluster.name in unsure_roles)
            self.duplicate_addresses(ci, cluster, used)

    def cluster(self, ci: int, cluster: Cluster, allow_incomplete: bool, unsure: bool) -> None:
        names: dict[str, int] = {}
        for si, server in enumerate(cluster.servers):
            self.server(ci, cluster, si, server)
            if server.name in names:
                first = self.locate(ci, names[server.name], "name")
                self.add(
                    f"{_label(cluster, server, si)}: another server of this cluster has the"
                    " same name" + (f" (line {first})" if first else "") + "; rename one",
                    ci,
                    cluster,
                    si,
                    server,
                    "name",
                )
            elif server.name:
                names[server.name] = si
        self.subnets(ci, cluster, "management_address")
        self.subnets(ci, cluster, "redundancy_address")
        self.size(ci, cluster, allow_incomplete or unsure)
        if not unsure:
            self.roles(ci, cluster, allow_incomplete)
            self.sync(ci, cluster, allow_incomplete)
            self.active(ci, cluster, allow_incomplete)

    def active(self, ci: int, cluster: Cluster, allow_incomplete: bool) -> None:
        """``active`` names the main or the backup server (a missing one is allowed while a
        cluster is edited: the main server is active then)."""
        if cluster.active is None:
            return
        label = f"{_label(cluster)}: active = {cluster.active!r}"
        found = [s for s in cluster.servers if s.name == cluster.active]
        if not found:
            if not allow_incomplete:
                known = ", ".join(repr(s.name) for s in cluster.servers) or "none"
                self.add(
                    f"{label} names no server of the cluster (servers: {known}); name the"
                    " main or the backup server, or remove the line (the main is active then)",
                    ci,
                    cluster,
                    field="active",
                )
        elif found[0].role not in (Role.MAIN, Role.BACKUP):
            self.add(
                f"{label} is a {found[0].role.value} server; only the main or the backup"
                " server can be the active one",
                ci,
                cluster,
                field="active",
            )

    def sync(self, ci: int, cluster: Cluster, allow_incomplete: bool) -> None:
        schedule = cluster.sync
        if schedule is None:
            return
        label = f"{_label(cluster)}, sync schedule"
        for name, value, (low, high), what in (
            ("every_minutes", schedule.every_minutes, SYNC_EVERY_RANGE, "a week"),
            ("check_minutes", schedule.check_minutes, SYNC_CHECK_RANGE, "a day"),
        ):
            if value is not None and not low <= value <= high:
                self.add(
                    f"{label}: {name} = {value:g} is outside {low:g}–{high:g} minutes (at"
                    f" least a minute, at most {what})",
                    ci,
                    cluster,
                    field=f"sync.{name}",
                )
        has_pair = cluster.main is not None and cluster.backup is not None
        if not has_pair and not allow_incomplete:
            self.add(
                f"{label}: a sync copies the main server to the backup, and this cluster has"
                f" no main and backup (architecture {cluster.architecture.value!r}); remove"
                " [clusters.sync] or give the servers the roles main and backup",
                ci,
                cluster,
                field="sync",
            )
        if schedule.engine is SyncEngine.PLAYOUT:
            for si, server in enumerate(cluster.servers):
                if server.role in (Role.MAIN, Role.BACKUP) and not server.redundancy_address:
                    self.add(
                        f'{label}: engine = "playout" runs copy_config.sh over eth2, and'
                        f" server {server.name!r} has no redundancy_address; add it or use"
                        ' engine = "delta"',
                        ci,
                        cluster,
                        si,
                        server,
                        field="redundancy_address",
                    )

    def server(self, ci: int, cluster: Cluster, si: int, server: Server) -> None:
        label = _label(cluster, server, si)

        def add(message: str, field: str) -> None:
            self.add(f"{label}: {message}", ci, cluster, si, server, field)

        if not server.name:
            add('the server has no name; add name = "…"', "name")
        elif not _NAME.fullmatch(server.name):
            add(
                "the name may use letters, digits, '.', '-', '_' and single spaces (at most"
                " 64 characters)",
                "name",
            )
        management = self.address(server.management_address, "management_address", add)
        redundancy = None
        if server.redundancy_address is not None:
            redundancy = self.address(server.redundancy_address, "redundancy_address", add)
        if management is not None and management == redundancy:
            add(
                f"management_address and redundancy_address are both {management}; eth3"
                " (management) and eth2 (redundancy) need different addresses",
                "redundancy_address",
            )
        if not 0 < server.ssh_port < 65536:
            add(f"ssh_port {server.ssh_port} is not a port number (1–65535)", "ssh_port")
        if not _USER.fullmatch(server.ssh_user):
            add(
                f"ssh_user {server.ssh_user!r} is not a valid user name (letters, digits,"
                " '.', '-', '_'; usually root)",
                "ssh_user",
            )
        if server.auth is AuthMethod.KEY:
            if not server.key_file:
                add('auth = "key" needs key_file = "path of the private key"', "key_file")
            elif not Path(server.key_file).expanduser().is_file():
                add(
                    f"key_file {server.key_file!r} does not exist on this computer; check the path",
                    "key_file",
                )
        for name, value in server.layout_overrides.items():
            try:
                DEFAULT_LAYOUT.with_overrides({name: value}, where="layout")
            except InputError as exc:
                add(
                    f"layout override {name}: {exc.what}" + (f". {exc.hint}" if exc.hint else ""),
                    f"layout.{name}",
                )

    @staticmethod
    def address(text: str, field: str, add: Callable[[str, str], None]) -> IPAddress | None:
        if not text:
            if field == "management_address":
                add("the server has no management_address (eth3); add it", field)
            else:
                add("redundancy_address is empty; remove the line or give the eth2 address", field)
            return None
        reason = check_address(text)
        if reason is not None:
            add(f"{field}: {reason}", field)
            return None
        return parse_address(text)

    def duplicate_addresses(
        self,
        ci: int,
        cluster: Cluster,
        used: dict[IPAddress, tuple[Cluster, Server, str, int | None]],
    ) -> None:
        for si, server in enumerate(cluster.servers):
            for field in ("management_address", "redundancy_address"):
                text = getattr(server, field)
                if not text or check_address(text) is not None:
                    continue
                address = parse_address(text)
                owner = used.get(address)
                if owner is None:
                    used[address] = (cluster, server, field, self.locate(ci, si, field))
                    continue
                other_cluster, other, other_field, line = owner
                if other is server:
                    continue  # management == redundancy is reported by the server rule
                at = f", line {line}" if line else ""
                self.add(
                    f"{_label(cluster, server, si)}: {field} {address} is already the"
                    f" {other_field} of {_label(other_cluster, other)}{at}; every address"
                    " belongs to one server",
                    ci,
                    cluster,
                    si,
                    server,
                    field,
                )

    def subnets(self, ci: int, cluster: Cluster, field: str) -> None:
        valid: list[tuple[int, Server, IPAddress]] = []
        for si, server in enumerate(cluster.servers):
            text = getattr(server, field)
            if text and check_address(text) is None:
                valid.append((si, server, parse_address(text)))
        public = {si for si, _, a in valid if a.is_global}
        for si, server, address in valid:
            peers = [(s, a) for i, s, a in valid if i != si]
            networks = {_subnet(a) for _, a in peers}
            if len(networks) != 1:
                continue
            (network,) = networks
            if address in network:
                continue
            if len(valid) == 2 and len(public) == 1 and si not in public:
                continue  # two that disagree, one public: the public one holds the typo
            examples = ", ".join(f"{s.name or '?'}: {a}" for s, a in peers)
            self.add(
                f"{_label(cluster, server, si)}: {field} {address} is outside {network}, where"
                f" the other servers of the cluster have theirs ({examples}); check it for a"
                " typo",
                ci,
                cluster,
                si,
                server,
                field,
            )

    def size(self, ci: int, cluster: Cluster, allow_incomplete: bool) -> None:
        count = len(cluster.servers)
        label = _label(cluster)
        if count > MAX_SERVERS:
            self.add(
                f"{label} has {count} servers; a Playout cluster has at most {MAX_SERVERS}",
                ci,
                cluster,
                field="servers",
            )
        minimum = 1 if cluster.architecture is Architecture.MANUAL else MIN_SERVERS
        if not allow_incomplete and count < minimum:
            self.add(
                f"{label} has {count} server{'s' if count != 1 else ''}; architecture"
                f" {cluster.architecture.value!r} needs at least {minimum}; add"
                " [[clusters.servers]]",
                ci,
                cluster,
                field="servers",
            )

    def roles(self, ci: int, cluster: Cluster, allow_incomplete: bool) -> None:
        arch = cluster.architecture
        title = f"{arch.value!r} ({arch.title})"
        if arch in ONE_MAIN_ONE_BACKUP:
            self.exactly_one(ci, cluster, Role.MAIN, title, allow_incomplete)
            self.exactly_one(ci, cluster, Role.BACKUP, title, allow_incomplete)
            self.misfits(ci, cluster, (Role.ADMIN, Role.PLAYER), "main or backup", title)
        if arch in NEEDS_REDUNDANCY_ADDRESS:
            for si, server in enumerate(cluster.servers):
                if server.redundancy_address is None:
                    self.add(
                        f"{_label(cluster, server, si)}: architecture {title} replicates the"
                        " database over eth2; add redundancy_address",
                        ci,
                        cluster,
                        si,
                        server,
                        "redundancy_address",
                    )
        if arch is Architecture.ADMIN_PLAYER:
            self.misfits(ci, cluster, (Role.MAIN, Role.BACKUP), "admin or player", title)
            for role in (Role.ADMIN, Role.PLAYER):
                if not allow_incomplete and not cluster.by_role(role):
                    self.add(
                        f"{_label(cluster)} has no {role.value} server; architecture {title}"
                        f' needs at least one (role = "{role.value}")',
                        ci,
                        cluster,
                        field="servers",
                    )

    def exactly_one(
        self, ci: int, cluster: Cluster, role: Role, title: str, allow_incomplete: bool
    ) -> None:
        holders = [(si, s) for si, s in enumerate(cluster.servers) if s.role is role]
        if not holders and not allow_incomplete:
            self.add(
                f"{_label(cluster)} has no {role.value} server; architecture {title} needs"
                " exactly one main and one backup",
                ci,
                cluster,
                field="servers",
            )
        first = holders[0][1].name if holders else ""
        for si, server in holders[1:]:
            self.add(
                f"{_label(cluster, server, si)}: role {role.value!r} is taken by {first!r}"
                f" already; architecture {title} has exactly one main and one backup",
                ci,
                cluster,
                si,
                server,
                "role",
            )

    def misfits(
        self, ci: int, cluster: Cluster, roles: tuple[Role, ...], wanted: str, title: str
    ) -> None:
        for si, server in enumerate(cluster.servers):
            if server.role in roles:
                self.add(
                    f"{_label(cluster, server, si)}: role {server.role.value!r} does not fit"
                    f" architecture {title}; use {wanted}",
                    ci,
                    cluster,
                    si,
                    server,
                    "role",
                )
