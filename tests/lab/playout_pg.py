"""Throw-away PostgreSQL 15 instances for the Playout-side lab tests (no namespaces needed).

Each instance runs as user ``postgres`` in a temporary folder, listens on one 127.x address
(port 5432 unless told) and has its socket in its own folder, with trust authentication for
local and 127.0.0.0/8 connections, and an empty ``playout`` database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def available() -> str | None:
    """Why these tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (PostgreSQL runs as user postgres)"
    if not (PG_BIN / "postgres").exists():
        return f"PostgreSQL 15 is not installed ({PG_BIN})"
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no user postgres"
    return None


def as_postgres(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *args],
        check=True,
        text=True,
        capture_output=True,
        **kwargs,  # type: ignore[call-overload]
    )


@dataclass
class Instance:
    root: Path
    address: str
    port: int

    @property
    def socket_dir(self) -> str:
        return str(self.root / "sock")

    @property
    def dsn(self) -> str:
        return f"dbname=playout user=postgres host={self.socket_dir} port={self.port}"

    def psql(self, sql: str, db: str = "playout") -> str:
        out = as_postgres(
            str(PG_BIN / "psql"),
            "-X",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            self.socket_dir,
            "-p",
            str(self.port),
            "-d",
            db,
            "-c",
            sql,
        )
        return out.stdout.strip()

    def stop(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start(address: str = "127.0.0.1", port: int = 5432) -> Instance:
    root = Path(tempfile.mkdtemp(prefix="pmc-playout-pg-"))
    os.chmod(root, 0o755)
    (root / "sock").mkdir()
    shutil.chown(root, "postgres", "postgres")
    shutil.chown(root / "sock", "postgres", "postgres")
    data = root / "data"
    as_postgres(
        str(PG_BIN / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "--no-sync",
        "-E",
        "UTF8",
        "--locale=C",
    )
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '{address}'\nport = {port}\n"
            f"unix_socket_directories = '{root / 'sock'}'\nfsync = off\n"
            "synchronous_commit = off\nfull_page_writes = off\n"
        )
    with (data / "pg_hba.conf").open("a") as hba:
        hba.write("host all all 127.0.0.0/8 trust\n")
    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "start")
    instance = Instance(root, address, port)
    instance.psql("CREATE DATABASE playout", db="postgres")
    return instance


def free_address() -> tuple[str, int]:
    """A 127.x address and port unlikely to be used by a parallel test session."""
    import random

    rng = random.Random(os.getpid())
    return f"127.{rng.randrange(60, 90)}.{rng.randrange(1, 250)}.{rng.randrange(1, 250)}", 5432


def address_pair() -> tuple[str, str]:
    """Two 127.x addresses (same port 5432) for a primary and a secondary instance."""
    import random

    rng = random.Random(os.getpid() + 1)
    base = f"127.{rng.randrange(90, 120)}.{rng.randrange(1, 250)}"
    return f"{base}.1", f"{base}.2"
