"""Services on a server: systemctl (status, restart with its checks), the free space of its
filesystems.

Everything here uses only what a minimal Rocky 8 server has (systemd, firewalld, coreutils,
bash), runs as root (through ``sudo -n`` for a non-root login) and returns typed results.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pmc.catalog import psql_argv
from pmc.errors import InputError
from pmc.remote import commands
from pmc.remote.connection import Connection
from pmc.remote.errors import (
    CommandFailed,
    ConfigRejected,
    ServiceNotActive,
    ServiceStateUnknown,
)

_UNIT = re.compile(r"^[A-Za-z0-9@._:-]+$")
_ACTIVE = re.compile(r"^\s*Active:\s*(\S+)(?:\s+\(([^)]*)\))?(?:\s+since\s+(.*?)(?:;.*)?)?\s*$")
_LOADED = re.compile(r"^\s*Loaded:\s*(\S+)")
_MAIN_PID = re.compile(r"^\s*Main PID:\s*(\d{1,9})(?!\d)")  # longer: no pid


@dataclass(frozen=True)
class ServiceStatus:
    unit: str
    load_state: str  # loaded, not-found, masked…
    active_state: str  # active, inactive, failed, activating…
    sub_state: str  # running, dead, exited…
    since: str | None
    main_pid: int | None
    text: str  # systemctl's own words, for the operator

    @property
    def is_running(self) -> bool:
        return self.active_state == "active"

    @property
    def exists(self) -> bool:
        return self.load_state not in ("not-found", "")


def _unit(name: str) -> str:
    if not _UNIT.match(name):
        raise InputError(f"{name!r} is not a service name", hint="Use a systemd unit name")
    return name


def parse_status(unit: str, text: str) -> ServiceStatus:
    """Read ``systemctl status`` text: Loaded, Active (with sub-state and since), Main PID."""
    load, active, sub, since, pid = "", "unknown", "", None, None
    for line in text.splitlines():
        if m := _LOADED.match(line):
            load = m.group(1)
        elif m := _ACTIVE.match(line):
            active, sub, since = m.group(1), m.group(2) or "", m.group(3)
        elif m := _MAIN_PID.match(line):
            pid = int(m.group(1))
    if "could not be found" in text or "not-found" in load:
        load, active = "not-found", "inactive"
    return ServiceStatus(unit, load, active, sub, since, pid, text.strip())


# ``systemctl status``: 0 active, 3 not active (inactive, failed…), 4 no such unit. Anything
# else means systemctl could not tell ("System has not been booted with systemd…", "Failed to
# connect to bus…").
_STATUS_ANSWERS = (0, 3, 4)


async def status(connection: Connection, unit: str) -> ServiceStatus:
    """The unit's state; :class:`ServiceStateUnknown` when systemctl cannot tell (a unit is
    never taken for "not installed" on a failure of systemctl itself)."""
    result = await commands.run(
        connection, ["systemctl", "status", "--no-pager", "--lines=0", "--", _unit(unit)],
        root=True, timeout=60,
    )  # fmt: skip
    found = parse_status(unit, result.stdout + result.stderr)
    if result.exit_status in _STATUS_ANSWERS and (found.load_state or result.exit_status == 4):
        return found
    said = (result.stderr.strip() or result.stdout.strip())[-300:] or result.ending
    raise ServiceStateUnknown(
        f"cannot tell whether {unit} is installed and running: systemctl status said: {said}",
        server=connection.label,
        exit_status=result.exit_status,
        stderr=result.stderr,
        hint="PMC restarts services through systemd; check that systemctl works on the server "
        "(systemctl status as root)",
    )


async def is_active(connection: Connection, unit: str) -> str:
    """``active``, ``inactive``, ``failed``, ``activating``… as ``systemctl is-active`` says;
    ``unknown (…systemctl's words…)`` when it said none of them."""
    result = await commands.run(
        connection, ["systemctl", "is-active", "--", _unit(unit)], root=True, timeout=60
    )
    state = result.stdout.strip()
    if state:
        return state
    return f"unknown ({(result.stderr.strip() or result.ending)[-200:]})"


async def _systemctl(connection: Connection, verb: str, unit: str) -> ServiceStatus:
    result = await commands.run(
        connection, ["systemctl", verb, "--", _unit(unit)], root=True, timeout=180
    )
    if not result.ok:
        after = await status(connection, unit)
        raise CommandFailed(
            f"systemctl {verb} {unit} failed: {result.stderr.strip()[-300:]}",
            server=connection.label,
            exit_status=result.exit_status,
            stderr=result.stderr,
            hint=f"The service is {after.active_state}; see journalctl -u {unit} on the server",
        )
    return await status(connection, unit)


async def restart(connection: Connection, unit: str) -> ServiceStatus:
    """Restart ``unit`` once its daemon accepts its configuration (:func:`check_config`)."""
    await check_config(connection, unit)
    return await _systemctl(connection, "restart", unit)


async def restart_active(connection: Connection, unit: str, *, checked: bool = False) -> None:
    """The one restart of a job that changed a service's files (setup, import, and sync's
    fixes through setup): the daemon's own check of its configuration (skipped when the
    caller ``checked`` it already), ``systemctl restart``, and then it must be active
    (:class:`ServiceNotActive` otherwise)."""
    if not checked:
        await check_config(connection, unit)
    await _systemctl(connection, "restart", unit)
    state = await is_active(connection, unit)
    if state != "active":
        raise ServiceNotActive(unit, state, server=connection.label)


# PostgreSQL's own reading of postgresql.conf (every setting, those that need a restart too):
# the program of the running postmaster (or the one on PATH), as the owner of the data folder.
_POSTGRES_CHECK = r"""
conf=$1; data=$2; exe=
if [ -f "$data/postmaster.pid" ]; then
  exe=$(readlink "/proc/$(head -n 1 "$data/postmaster.pid")/exe" 2>/dev/null)
fi
[ -n "$exe" ] || exe=$(command -v postgres 2>/dev/null)
[ -n "$exe" ] || { echo "no postgres program found to check the configuration with"; exit 3; }
owner=$(stat -c %U -- "$data") || exit 3
exec runuser -u "$owner" -- "$exe" -D "$conf" -C data_directory
"""
_HBA_ERRORS = (
    "SELECT 'pg_hba.conf line ' || line_number || ': ' || error FROM pg_hba_file_rules"
    " WHERE error IS NOT NULL"
)


async def check_config(connection: Connection, unit: str) -> str | None:
    """Before ``unit`` restarts: its daemon's own check of the configuration files as they are
    now — ``sshd -t -f`` for sshd; for PostgreSQL ``postgres -C`` (postgresql.conf, every
    setting) and ``pg_hba_file_rules`` (pg_hba.conf, while it runs). :class:`ConfigRejected`
    with the daemon's own words when it refuses; otherwise what was checked (None for units
    without such a check)."""
    layout = connection.server.layout
    if unit == layout.sshd_service:
        result = await commands.run(
            connection, ["/usr/sbin/sshd", "-t", "-f", layout.sshd_config], root=True, timeout=60
        )
        if not result.ok:
            raise ConfigRejected(
                f"sshd -t rejects {layout.sshd_config}: "
                f"{(result.stderr.strip() or result.stdout.strip() or result.ending)[-400:]}; "
                "sshd was not restarted",
                server=connection.label,
                hint="sshd keeps running with its previous configuration",
            )
        return f"sshd -t -f {layout.sshd_config}: valid"
    if unit != layout.postgresql_service:
        return None
    conf = posixpath.dirname(layout.postgresql_conf)
    argv = ["sh", "-c", _POSTGRES_CHECK, "pmc-pgcheck", conf, layout.db_dir]
    result = await commands.run(connection, argv, root=True, timeout=60)
    words = (result.stderr.strip() or result.stdout.strip())[-400:]
    if result.exit_status == 3:
        return f"PostgreSQL's configuration could not be checked before its restart ({words})"
    problems = [words] if not result.ok else []
    hba = await commands.run(connection, psql_argv(layout, "-At", "-c", _HBA_ERRORS), root=True)
    if hba.ok:  # (only while PostgreSQL runs)
        problems += hba.stdout.strip().splitlines()
    if problems:
        raise ConfigRejected(
            f"PostgreSQL rejects its configuration ({layout.postgresql_conf}, "
            f"{layout.pg_hba_conf}): {'; '.join(problems)}; it was not restarted",
            server=connection.label,
            hint="PostgreSQL keeps running with its previous configuration",
        )
    return f"postgres -C, pg_hba_file_rules: {layout.postgresql_conf}, {layout.pg_hba_conf} valid"


async def start(connection: Connection, unit: str) -> ServiceStatus:
    return await _systemctl(connection, "start", unit)


async def stop(connection: Connection, unit: str) -> ServiceStatus:
    return await _systemctl(connection, "stop", unit)


# ---- free space --------------------------------------------------------------------------


@dataclass(frozen=True)
class Filesystem:
    mount: str  # where it is mounted
    free: int  # bytes available (df's "Available")


_DF_SCRIPT = r"""
for p in "$@"; do
  q=$p
  while [ ! -e "$q" ]; do q=$(dirname -- "$q"); done
  printf '%s\t' "$p"
  df -P -B1 -- "$q" | tail -n 1
done
"""


def parse_df(text: str) -> dict[str, Filesystem]:
    """The lines of :data:`_DF_SCRIPT` (a path, a tab, ``df -P -B1``'s line for it); a line
    whose free bytes are not a plain number (``²`` passes ``str.isdigit``, thousands of digits
    pass it too but not ``int``) tells nothing of its path."""
    found: dict[str, Filesystem] = {}
    for line in text.splitlines():
        path, _, df = line.partition("\t")
        fields = df.split()
        if (
            len(fields) >= 6
            and fields[3].isascii()
            and fields[3].isdigit()
            and len(fields[3]) <= 20
        ):
            found[path] = Filesystem(" ".join(fields[5:]), int(fields[3]))
    return found


async def filesystems(connection: Connection, paths: Sequence[str]) -> dict[str, Filesystem]:
    """The filesystem holding each of ``paths`` (or its nearest existing parent), from
    ``df``: its mount point and free bytes. Paths on one filesystem share its mount point."""
    if not paths:
        return {}
    result = await commands.run(
        connection, ["sh", "-c", _DF_SCRIPT, "pmc-df", *paths], root=True, timeout=60
    )
    found = parse_df(result.stdout)
    missing = [p for p in paths if p not in found]
    if missing:
        said = (result.stderr.strip() or result.stdout.strip())[-300:]
        raise CommandFailed(
            f"cannot tell the free space of {', '.join(missing)}: df said {said!r}",
            server=connection.label,
            exit_status=result.exit_status,
            stderr=result.stderr,
        )
    return found
