"""Ask the daemons what they really use, not just what a file says.

- sshd: ``sshd -T -C user=root,host=<peer>,addr=<peer>,laddr=<own>,lport=22`` — the values for
  the login copy config makes from the peer over eth2, Match blocks applied — plus the files
  of its Include tree (globs expanded on the server, in sshd's order) so that PMC can say which
  file and line sets a keyword (:mod:`pmc.configs.sshd_tree`).
- PostgreSQL: ``pg_settings`` (``setting``, ``source``, ``sourcefile``, ``sourceline``,
  ``pending_restart``) from the running server, ``pg_hba_file_rules``' errors, and the files
  ``postgresql.conf`` includes (:mod:`pmc.configs.postgresql_tree`).
- firewalld: which zone takes the peer's connections (a zone listing the peer's address as a
  source, else the zone of the interface holding our eth2 address, else the default zone) and
  that zone's runtime and permanent ports and services.

Where a daemon cannot be asked (sshd -T fails, PostgreSQL is stopped) the facts say why and the
planner falls back to the files, saying so in the plan. :func:`check` re-asks after an apply
(the plan's CHECK steps): a value that did not take effect fails the step, naming the file and
line that override it.
"""

from __future__ import annotations

import base64
import ipaddress
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pmc.catalog import psql_argv
from pmc.configs.postgresql_tree import PostgresqlTree
from pmc.configs.sshd_tree import MAX_DEPTH, Login, SshdTree, canonical
from pmc.errors import ConfigSyntaxError, PmcError, RemoteError
from pmc.inventory import Server
from pmc.layout import PlayoutLayout
from pmc.plan import Probe
from pmc.remote import commands
from pmc.remote.connection import Connection
from pmc.setup.facts import PG_SETTINGS, PgSetting

SSHD = "/usr/sbin/sshd"
# keywords whose effective value PMC records (what it reads or writes, and why logins fail)
SSHD_WATCHED = (
    "permitrootlogin",
    "pubkeyauthentication",
    "passwordauthentication",
    "authenticationmethods",
)

_TREE_SCRIPT = r"""
LC_ALL=C; export LC_ALL
IFS='
'
for a in "$@"; do
  case $a in
  glob:*) p=${a#glob:}; printf '@%s\n' "$p"
    for f in $p; do if [ -f "$f" ]; then printf '+%s\n' "$f"; fi; done ;;
  *) if [ -f "$a" ]; then printf '=%s\n' "$a"; base64 -w0 < "$a" || exit 3; printf '\n'
     else printf '!%s\n' "$a"; fi ;;
  esac
done
"""


async def read_tree(
    conn: Connection, patterns: list[str], paths: list[str]
) -> tuple[dict[str, tuple[str, ...]], dict[str, str | None]]:
    """Each glob's matches (byte order, as sshd's glob(3) and PostgreSQL sort them) and each
    file's text (None: absent; bytes that are not UTF-8 kept), in one round trip."""
    argv = ["sh", "-c", _TREE_SCRIPT, "pmc-tree", *(f"glob:{p}" for p in patterns), *paths]
    result = await commands.run(conn, argv, root=True, timeout=60, check=True)
    globs: dict[str, list[str]] = {}
    texts: dict[str, str | None] = {}
    lines = iter(result.stdout.splitlines())
    pattern = ""
    for line in lines:
        head, rest = line[:1], line[1:]
        if head == "@":
            pattern = rest
            globs[pattern] = []
        elif head == "+":
            globs[pattern].append(rest)
        elif head == "!":
            texts[rest] = None
        elif head == "=":
            data = base64.b64decode(next(lines, ""))
            texts[rest] = data.decode("utf-8", errors="surrogateescape")
    ordered = {k: tuple(sorted(v, key=lambda p: p.encode())) for k, v in globs.items()}
    return ordered, texts


class _Tree(Protocol):
    def unread(self) -> tuple[list[str], list[str]]: ...


async def _read_includes(
    conn: Connection, tree_of: Callable[[dict[str, str | None], dict[str, tuple[str, ...]]], _Tree]
) -> tuple[dict[str, str | None], dict[str, tuple[str, ...]]]:
    """The files a configuration's includes name, level by level, one round trip a level (an
    unreadable file stops the walk: the planner refuses with its line)."""
    files: dict[str, str | None] = {}
    globs: dict[str, tuple[str, ...]] = {}
    for _ in range(MAX_DEPTH + 1):
        try:
            patterns, paths = tree_of(files, globs).unread()
        except ConfigSyntaxError:
            break
        if not patterns and not paths:
            break
        found, read = await read_tree(conn, patterns, paths)
        globs.update(found)
        files.update(read)
    return files, globs


async def read_sshd_tree(
    conn: Connection, main: str, text: str | None
) -> tuple[dict[str, str | None], dict[str, tuple[str, ...]]]:
    """The files sshd's Include lines name (the main file's ``text`` read already)."""
    if text is None:
        return {}, {}
    ssh_dir = posixpath.dirname(main)
    return await _read_includes(
        conn, lambda files, globs: SshdTree(main, {main: text, **files}, globs, ssh_dir)
    )


async def read_postgresql_tree(
    conn: Connection, main: str, auto_conf: str, texts: dict[str, str | None]
) -> tuple[dict[str, str | None], dict[str, tuple[str, ...]]]:
    """The files postgresql.conf includes (``texts`` holds the main file and auto.conf)."""
    return await _read_includes(
        conn, lambda files, globs: PostgresqlTree(main, auto_conf, {**texts, **files}, globs)
    )


def parse_sshd_t(text: str) -> dict[str, str]:
    """``sshd -T`` output (``keyword value`` lines) → the watched keywords' first values."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key in SSHD_WATCHED and key not in out:
            out[key] = canonical(key, value)
    return out


async def ask_sshd(
    conn: Connection, layout: PlayoutLayout, login: Login
) -> tuple[dict[str, str] | None, str | None]:
    """sshd's own values for ``login`` (``sshd -T -C``), or None and why not."""
    argv = [SSHD, "-T", "-f", layout.sshd_config, "-C", login.spec()]
    result = await commands.run(conn, argv, root=True, timeout=60)
    if not result.ok:
        said = (result.stderr.strip() or result.stdout.strip())[-300:]
        return None, f"sshd -T exited with status {result.exit_status}: {said}"
    return parse_sshd_t(result.stdout), None


_PG_SQL = (
    "select 's', name, setting, source, coalesce(sourcefile, ''), coalesce(sourceline, 0),"
    " pending_restart from pg_settings where name in ("
    + ", ".join(f"'{n}'" for n in PG_SETTINGS)
    + ") order by name"
)
_HBA_SQL = (
    "select 'h', line_number, error, '', '', '', '' from pg_hba_file_rules"
    " where error is not null order by line_number"
)


async def ask_postgresql(
    conn: Connection, layout: PlayoutLayout
) -> tuple[tuple[PgSetting, ...] | None, tuple[tuple[int, str], ...], str | None]:
    """``pg_settings`` rows, ``pg_hba_file_rules`` errors, or None and why not."""
    argv = psql_argv(layout, "-At", "-F", "\t", "-c", _PG_SQL, "-c", _HBA_SQL)
    result = await commands.run(conn, argv, root=True, timeout=60)
    if not result.ok:
        said = (result.stderr.strip() or result.stdout.strip())[-300:]
        return None, (), f"psql could not ask PostgreSQL: {said}"
    settings: list[PgSetting] = []
    errors: list[tuple[int, str]] = []
    for line in result.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) != 7:
            continue
        if fields[0] == "s":
            settings.append(
                PgSetting(
                    fields[1],
                    fields[2],
                    fields[3],
                    fields[4],
                    int(fields[5] or 0),
                    fields[6] == "t",
                )
            )
        elif fields[0] == "h":
            errors.append((int(fields[1] or 0), fields[2]))
    return tuple(settings), tuple(errors), None


@dataclass(frozen=True)
class Zone:
    """firewalld's zone for the peer's connections, with its state."""

    name: str
    reason: str
    runtime_ports: tuple[str, ...]
    permanent_ports: tuple[str, ...]
    permanent_services: tuple[str, ...]
    runtime_services: tuple[str, ...] = ()


_FIREWALL_SCRIPT = r"""
firewall-cmd --get-default-zone || exit $?
echo '@@runtime'; firewall-cmd --list-all-zones || exit $?
echo '@@permanent'; firewall-cmd --permanent --list-all-zones || exit $?
echo '@@addresses'; ip -o addr show
"""


def parse_zones(text: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """``firewall-cmd --list-all-zones`` → zone → {services, ports, interfaces, sources}."""
    zones: dict[str, dict[str, tuple[str, ...]]] = {}
    current: dict[str, tuple[str, ...]] | None = None
    for line in text.splitlines():
        if line and not line[0].isspace():
            current = zones.setdefault(line.split()[0], {})
        elif current is not None:
            key, sep, value = line.strip().partition(":")
            if sep and key in ("ports", "services", "interfaces", "sources"):
                current[key] = tuple(value.split())
    return zones


async def firewall_zone(conn: Connection, server: Server, peer: Server | None) -> Zone:
    """The zone that takes ``peer``'s connections to ``server`` over eth2, and its state: a
    zone listing the peer's address as a source, else the zone of the interface holding
    ``server``'s eth2 address, else the default zone (runtime bindings, as firewalld
    decides now). One round trip; three firewall-cmd runs."""
    argv = ["sh", "-c", _FIREWALL_SCRIPT]
    result = await commands.run(conn, argv, root=True, timeout=60)
    if not result.ok:
        raise RemoteError(
            f"firewall-cmd answered with exit status {result.exit_status}:"
            f" {result.stderr.strip()[-200:]}",
            server=conn.label,
            hint="Check firewalld on the server (systemctl status firewalld).",
        )
    return zone_for(result.stdout, server, peer)


def zone_for(text: str, server: Server, peer: Server | None) -> Zone:
    """The zone for ``peer``'s connections from the firewall script's output (see
    :func:`firewall_zone`)."""
    default, _, rest = text.partition("@@runtime\n")
    runtime_text, _, rest = rest.partition("@@permanent\n")
    permanent_text, _, addresses = rest.partition("@@addresses\n")
    runtime, permanent = parse_zones(runtime_text), parse_zones(permanent_text)
    name, reason = default.strip() or server.layout.firewall_zone, ""
    own, other = server.redundancy_address, peer.redundancy_address if peer else None
    source = next(
        (
            (zone, net)
            for zone, items in runtime.items()
            for net in items.get("sources", ())
            if other and _in_network(other, net)
        ),
        None,
    )
    if source:
        name, reason = source[0], f"it lists {source[1]} (the peer's {other}) as a source"
    elif own:
        interface = interface_of(addresses, own)
        zone = next((z for z, i in runtime.items() if interface in i.get("interfaces", ())), None)
        if interface and zone:
            name, reason = zone, f"{interface} ({own}) is in it"
        else:
            where = f"{interface} ({own})" if interface else own
            reason = f"{where} is in no zone, so the default zone takes its connections"
    now, kept = runtime.get(name, {}), permanent.get(name, {})
    return Zone(
        name,
        reason,
        tuple(sorted(now.get("ports", ()))),
        tuple(sorted(kept.get("ports", ()))),
        tuple(sorted(kept.get("services", ()))),
        tuple(sorted(now.get("services", ()))),
    )


def _in_network(address: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def interface_of(text: str, address: str) -> str:
    """The interface holding ``address`` in ``ip -o addr show`` output."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[3].split("/")[0] == address:
            return parts[1].rstrip(":").split("@")[0]
    return ""


class NotInEffect(PmcError):
    """A value PMC wrote is not the one the daemon uses (the apply rolls back)."""


def covers(listen_addresses: str, address: str) -> bool:
    parts = [p.strip() for p in listen_addresses.split(",")]
    return "*" in parts or address in parts


async def check(probe: Probe, conn: Connection, server: Server) -> str:
    """Ask the daemon again; the sentence saying it took effect, or NotInEffect naming the
    file and line that wins instead."""
    layout = server.layout
    if probe.daemon == "sshd":
        login = Login.from_spec(probe.login)
        said, problem = await ask_sshd(conn, layout, login)
        if said is None:
            raise NotInEffect(f"sshd could not be asked: {problem}", where=conn.label)
        value = said.get(probe.name, "")
        if value in probe.wanted:
            return f"sshd -T -C {probe.login}: {probe.name} {value}"
        main = layout.sshd_config
        _, texts = await read_tree(conn, [], [main])
        files, globs = await read_sshd_tree(conn, main, texts.get(main))
        tree = SshdTree(main, {main: texts.get(main), **files}, globs, posixpath.dirname(main))
        source = tree.effective(probe.name, login).source
        raise NotInEffect(
            f"sshd uses {probe.name} {value or '?'} for {login.user} from {login.address}, not"
            f" {' or '.join(probe.wanted)}: {source} decides it",
            where=conn.label,
            hint=f"Look at {source} (sshd -T -C {probe.login} on the server).",
        )
    settings, _, problem = await ask_postgresql(conn, layout)
    if settings is None:
        raise NotInEffect(f"PostgreSQL could not be asked: {problem}", where=conn.label)
    found = next((s for s in settings if s.name == probe.name), None)
    value = found.setting if found else ""
    missing = [a for a in probe.wanted if not covers(value, a)]
    if found is not None and not missing:
        return f"pg_settings: {probe.name} = '{value}' ({found.place})"
    place = found.place if found else "pg_settings"
    text = f"PostgreSQL uses {probe.name} = '{value}' from {place}, without {', '.join(missing)}"
    main = layout.postgresql_conf
    auto = posixpath.join(posixpath.dirname(main), "postgresql.auto.conf")
    _, texts = await read_tree(conn, [], [main, auto])
    files, globs = await read_postgresql_tree(conn, main, auto, texts)
    winner = PostgresqlTree(main, auto, {**texts, **files}, globs).winner(probe.name)
    if winner is not None and winner.value != value:
        text += f"; its files say '{winner.value}' ({winner.place})"
        if all(covers(winner.value, a) for a in probe.wanted):
            text += ": PostgreSQL has not restarted with them"
    raise NotInEffect(
        text,
        where=conn.label,
        hint=f"Look at {place}: a later file, postgresql.auto.conf or the command line wins;"
        " a value waiting for a restart needs systemctl restart postgresql.",
    )
