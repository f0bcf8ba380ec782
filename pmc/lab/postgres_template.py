"""The PostgreSQL 15 data folder every lab server starts from, as Playout's installer leaves
it (database ``playout``, the vendor's manual's pg_hba.conf and CONNECTIONS settings): made once
per machine and cached; :func:`pmc.lab.server.prepare_tree` copies it into each server's tree.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import subprocess
import threading
from pathlib import Path

from pmc.errors import LabError

PG_BIN = Path("/usr/lib/postgresql/15/bin")
CACHE_DIR = Path("/var/cache/pmc-lab")
TEMPLATE_VERSION = "1"


# The vendor's manual's pg_hba.conf excerpt, lines 1-12: local entries only (a fresh install).
PG_HBA_FRESH = """\
# TYPE  DATABASE        USER            ADDRESS                 METHOD
# "local" is for Unix domain socket connections only
local   all             all                                     trust
# IPv4 local connections:
host    all             all             127.0.0.1/32            trust
# IPv6 local connections:
host    all             all             ::1/128                 trust
# Allow replication connections from localhost, by a user with the
# replication privilege.
#local   replication     postgres                                trust
#host    replication     postgres        127.0.0.1/32            trust
#host    replication     postgres        ::1/128                 trust
"""

# postgresql.conf settings Playout's installer sets (the vendor's manual's CONNECTIONS excerpt).
PG_CONF_LINES = {
    "listen_addresses": "listen_addresses = 'localhost'\t\t# what IP address(es) to listen on;",
    "port": "port = 5432\t\t\t\t# (change requires restart)",
    "max_connections": "max_connections = 100\t\t\t# (change requires restart)",
    "superuser_reserved_connections": "superuser_reserved_connections = 3\t# (change requires "
    "restart)",
    "unix_socket_directories": "unix_socket_directories = '/var/run/postgresql, /tmp'\t# "
    "comma-separated list of directories",
    "unix_socket_group": "unix_socket_group = ''\t\t\t# (change requires restart)",
    "unix_socket_permissions": "unix_socket_permissions = 0777\t\t# begin with 0 to use octal "
    "notation",
}

_template_lock = threading.Lock()


def run(argv: list[str], *, what: str, input_text: str | None = None) -> str:
    """Run a host tool for the lab; LabError naming ``what`` with its output when it fails."""
    proc = subprocess.run(argv, input=input_text, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise LabError(
            f"{what} failed: {(proc.stderr or proc.stdout).strip() or f'exit {proc.returncode}'}",
            hint="Run `pmc lab down`, then `pmc lab up` again.",
        )
    return proc.stdout


def postgres_ids() -> tuple[int, int]:
    """The machine's postgres user and group ids (the owner of every lab database)."""
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise LabError(
            "the user postgres does not exist on this machine",
            hint="Install PostgreSQL 15 (apt-get install postgresql-15).",
        ) from exc
    return pw.pw_uid, pw.pw_gid


def _edit_postgresql_conf(text: str) -> str:
    out = []
    for line in text.splitlines():
        key = line.lstrip("#").split("=", 1)[0].strip()
        if key in PG_CONF_LINES and "=" in line and line.lstrip("#")[:1].isalpha():
            out.append(PG_CONF_LINES.pop(key))
        else:
            out.append(line)
    out.extend(PG_CONF_LINES.values())
    return "\n".join(out) + "\n"


def data_folder() -> Path:
    """A PostgreSQL 15 data folder with database ``playout``, made once and cached."""
    template = CACHE_DIR / f"pg15-template-{TEMPLATE_VERSION}"
    if (template / "PG_VERSION").exists():
        return template
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with _template_lock, (CACHE_DIR / "template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder across processes
        if (template / "PG_VERSION").exists():
            return template
        uid, gid = postgres_ids()
        work = CACHE_DIR / f"pg15-work-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(mode=0o700)
        os.chown(work, uid, gid)
        sock = CACHE_DIR / f"pg15-sock-{os.getpid()}"
        sock.mkdir(exist_ok=True)
        os.chown(sock, uid, gid)
        try:
            as_pg = ["runuser", "-u", "postgres", "--"]
            run(
                [*as_pg, str(PG_BIN / "initdb"), "-D", str(work), "-U", "postgres",
                 "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                what="initdb",
            )  # fmt: skip
            conf = work / "postgresql.conf"
            conf.write_text(_edit_postgresql_conf(conf.read_text()))
            (work / "pg_hba.conf").write_text(PG_HBA_FRESH)
            opts = f"-c listen_addresses='' -k {sock}"
            # -l: the server must not inherit our pipes, or reading them never ends.
            run(
                [*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(work), "-o", opts, "-l",
                 str(sock / "log"), "-w", "start"],
                what="starting PostgreSQL for the lab template",
            )  # fmt: skip
            try:
                run(
                    [*as_pg, str(PG_BIN / "createdb"), "-h", str(sock), "-U", "postgres",
                     "playout"],
                    what="createdb playout",
                )  # fmt: skip
            finally:
                run(
                    [*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(work), "-m", "fast", "-w", "stop"],
                    what="stopping PostgreSQL for the lab template",
                )
            for stale in ("postmaster.opts", "postmaster.pid", "log"):
                (work / stale).unlink(missing_ok=True)
            work.rename(template)
        finally:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(sock, ignore_errors=True)
        return template
