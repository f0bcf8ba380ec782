"""Playout-like servers for bundle tests: real OpenSSH, real PostgreSQL, no mocks.

Each :class:`PlayoutHost` is a throwaway sshd (on its own 127.0.0.x address) whose sessions
see ``PGHOST`` pointing at a private PostgreSQL 15 instance holding the lab's ``playout``
schema and seed, plus private data folders and API config files (layout overrides). They are
lighter than the full rehearsal lab and need only root, sshd and PostgreSQL 15; the lab-marked
tests run the same scenarios against the rehearsal lab.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko
import psycopg
import pytest

from pmc.bundle import parts
from pmc.bundle.export import ExportOptions, export_bundle
from pmc.inventory import AuthMethod, Server
from pmc.lab.playout import seed as lab_seed
from pmc.remote.connection import Connection
from pmc.remote.host_keys import KnownHosts, TrustFingerprints, fingerprint
from tests.fixtures.sshd import ThrowawaySshd, _free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class PlayoutHost:
    name: str
    root: Path
    sshd: ThrowawaySshd
    pg_socket: Path
    pg_data: Path
    pg_port: int  # also on 127.0.0.1, where PMC's tunnel reaches it as on a Playout server
    run_dir: Path  # the cluster lock's folder: below /run, as pmc.layout wants it

    @property
    def dsn(self) -> str:
        return f"dbname=playout user=postgres host={self.pg_socket} port={self.pg_port}"

    @property
    def data_root(self) -> Path:
        return self.root / "data"

    @property
    def config_dir(self) -> Path:
        return self.root / "api-config"

    @property
    def audit_log(self) -> Path:
        """PMC's audit log on this host (the layout's ``audit_log``)."""
        return self.sshd.root / "log" / "pmc" / "audit.jsonl"

    def server(self) -> Server:
        return Server(
            name=self.name,
            management_address=self.sshd.address,
            redundancy_address="127.17.59.128" if self.name == "main" else "127.17.59.129",
            ssh_port=self.sshd.port,
            auth=AuthMethod.KEY,
            key_file=str(self.sshd.client_key),
            layout_overrides={
                "carousel_dir": str(self.data_root / "carousel"),
                "av_dir": str(self.data_root / "av"),
                "ts_dir": str(self.data_root / "ts"),
                "spoolers_json": str(self.config_dir / "spoolers.json"),
                "replicate_conf": str(self.config_dir / "replicate.conf"),
                "api_config_dir": str(self.config_dir),
                # the cluster lock: this host's own, never the machine's /run/pmc (test
                # sessions side by side each have their hosts)
                "pmc_run_dir": str(self.run_dir),
                "postgresql_port": self.pg_port,
                # and its audit log: never the machine's /var/log/pmc
                "audit_log": str(self.audit_log),
            },
        )

    def connection(self, known_hosts: Path, **layout: str | int) -> Connection:
        """A connection to this host; ``layout`` overrides more of its layout."""
        kind, blob = self.sshd.host_key.with_suffix(".pub").read_text().split()[:2]
        fp = fingerprint(paramiko.PKey.from_type_string(kind, base64.b64decode(blob)))
        server = self.server()
        if layout:
            server = dataclasses.replace(
                server, layout_overrides={**server.layout_overrides, **layout}
            )
        return Connection(
            server,
            cluster="lab",
            known_hosts=KnownHosts(known_hosts),
            trust=TrustFingerprints([fp]),
        )

    # --- inspection for byte-for-byte checks
    def table_digest(self, tables: tuple[str, ...]) -> dict[str, str]:
        out = {}
        with psycopg.connect(self.dsn) as conn, conn.cursor() as cur:
            for table in tables:
                digest = hashlib.sha256()
                with cur.copy(f"COPY (SELECT * FROM {table} ORDER BY 1, 2) TO STDOUT") as cp:
                    for block in cp:
                        digest.update(block)
                out[table] = digest.hexdigest()
        return out

    def tree_digest(self) -> dict[str, str]:
        """Every file and folder under the data root and config dir (and their siblings)."""
        out = {}
        for base in (self.root,):
            for path in sorted(base.rglob("*")):
                rel = str(path.relative_to(base))
                if rel.startswith(("pg", "sshd")):
                    continue
                if path.is_file():
                    out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
                else:
                    out[rel] = "dir"
        return out


def _as_postgres(argv: list[str]) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[Path]:
    """One initdb'd data folder for the session; each host's PostgreSQL starts from a copy
    (initdb took a third of this folder's set-up time, copying its files a fraction of it)."""
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists():
        pytest.skip("needs root and PostgreSQL 15")
    base = Path(tempfile.mkdtemp(prefix="pmc-test-pg-template-", dir="/opt"))
    base.chmod(0o755)
    pg_uid = pwd.getpwnam("postgres").pw_uid
    data = base / "pg"
    data.mkdir()
    os.chown(data, pg_uid, pg_uid)
    _as_postgres([str(PG_BIN / "initdb"), "--no-sync", "-D", str(data), "-A", "trust",
                  "-U", "postgres"])  # fmt: skip
    yield data
    shutil.rmtree(base, ignore_errors=True)


def make_host(
    root: Path,
    name: str,
    address: str,
    *,
    template: Path,
    rows: int,
    data_mb: int,
    fill: bool = True,
) -> PlayoutHost:
    root.mkdir(parents=True)
    root.chmod(0o755)
    pg_data = root / "pg"
    pg_socket = root / "pgsock"
    pg_socket.mkdir()
    pg_uid = pwd.getpwnam("postgres").pw_uid
    os.chown(pg_socket, pg_uid, pg_uid)
    subprocess.run(["cp", "-a", str(template), str(pg_data)], check=True)  # owner and modes
    pg_port = _free_port()
    _as_postgres(
        [
            str(PG_BIN / "pg_ctl"), "-D", str(pg_data), "-l", str(pg_data / "log"), "-w",
            "-o", f"-c listen_addresses=127.0.0.1 -p {pg_port} -k {pg_socket} -c fsync=off",
            "start",
        ]
    )  # fmt: skip
    subprocess.run(
        ["runuser", "-u", "postgres", "--", "createdb", "-h", str(pg_socket), "-p",
         str(pg_port), "playout"],
        check=True,
    )  # fmt: skip
    sshd = ThrowawaySshd(root=root / "sshd", port=_free_port(), address=address)
    sshd.root.mkdir()
    sshd.root.chmod(0o755)
    sshd.prepare()
    with sshd.config.open("a") as f:
        f.write(f"SetEnv PGHOST={pg_socket} PGPORT={pg_port}\n")
    sshd.start()
    run_dir = Path(tempfile.mkdtemp(prefix=f"pmc-test-{name}-", dir="/run"))
    host = PlayoutHost(name, root, sshd, pg_socket, pg_data, pg_port, run_dir)
    host.config_dir.mkdir()
    own = address
    (host.config_dir / "spoolers.json").write_text(  # as the Playout API installer writes it
        '[{"name":"' + name + '","address":"' + own + '","type":"master"}]\n'
    )
    (host.config_dir / "replicate.conf").write_text(
        ("127.17.59.128" if name == "main" else "127.17.59.129") + "\n"
    )
    with psycopg.connect(host.dsn, autocommit=True) as conn:
        conn.execute(lab_seed.schema_sql())
    if fill:
        lab_seed.seed(host.dsn, rows, server=name)
        lab_seed.write_data_files(host.data_root, data_mb)
    else:
        for key in ("carousel", "av", "ts"):
            (host.data_root / key).mkdir(parents=True)
        (host.data_root / "carousel" / "old-app.html").write_text("old backup carousel\n")
    return host


def stop_host(host: PlayoutHost) -> None:
    host.sshd.stop()
    subprocess.run(
        ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(host.pg_data),
         "-m", "immediate", "stop"],
        check=False, capture_output=True,
    )  # fmt: skip
    shutil.rmtree(host.root, ignore_errors=True)
    shutil.rmtree(host.run_dir, ignore_errors=True)


@pytest.fixture
def playout_pair(
    tmp_path_factory: pytest.TempPathFactory, pg_template: Path
) -> Iterator[tuple[PlayoutHost, PlayoutHost]]:
    """main (seeded, a little data) and backup (fresh: empty tables, its own files)."""
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or not Path("/usr/sbin/sshd").exists():
        pytest.skip("needs root, OpenSSH server and PostgreSQL 15")
    # pytest's own temp folders are private to root; PostgreSQL runs as postgres. Below /opt:
    # layout overrides must lie in the folders of Playout's layout (pmc.layout.PATH_ROOTS).
    base = Path(tempfile.mkdtemp(prefix="pmc-test-bundle-hosts-", dir="/opt"))
    base.chmod(0o755)
    main = make_host(base / "main", "main", "127.0.0.21", template=pg_template, rows=400, data_mb=2)
    try:
        backup = make_host(
            base / "backup", "backup", "127.0.0.22", template=pg_template, rows=0, data_mb=0,
            fill=False,
        )  # fmt: skip
    except BaseException:
        stop_host(main)
        raise
    try:
        yield main, backup
    finally:
        stop_host(main)
        stop_host(backup)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def good(playout_pair: tuple[PlayoutHost, PlayoutHost], tmp_path: Path) -> Path:
    """A bundle of everything on main, as PMC exports it."""
    main, _ = playout_pair
    out = tmp_path / "good.pmcbundle"

    async def go() -> None:
        conn = main.connection(tmp_path / "kh-main")
        try:
            await export_bundle(conn, out, ExportOptions())
        finally:
            await conn.close()

    asyncio.run(go())
    return out


PART = 64 << 10  # a part made small: a few megabytes of data give many parts over every stream


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Big files in parts of :data:`PART` bytes: files from 2 parts, parts used from 4 parts of
    big files in all, and two streams chosen whatever this machine's cores: two here, and
    the throwaway servers taken for other machines (their kernel is this one, which would
    make PMC share the cores between both ends: :func:`pmc.bundle.parts.choose_streams`)."""
    monkeypatch.setattr(parts, "PART", PART)
    monkeypatch.setattr(parts, "BIG", 2 * PART)
    monkeypatch.setattr(parts, "MIN_TOTAL", 4 * PART)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    other = tmp_path / "boot_id"
    other.write_text("another machine's running kernel\n")
    monkeypatch.setattr(parts, "BOOT_ID", other)
    yield


@pytest.fixture(params=["openssh", "paramiko"])
def bulk_client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which SSH client carries a bundle's big streams (``PMC_BULK_SSH``): the system's
    OpenSSH client (a login of its own for each stream) or PMC's own connections."""
    monkeypatch.setenv("PMC_BULK_SSH", request.param)
    return str(request.param)


def stream_logins(client: str, streams: int) -> int:
    """The logins of an export or import with ``streams`` part streams whose data folders
    (three, each a ``tar``) hold enough to count as big: PMC's own connection, then for
    OpenSSH one per stream and per folder, for paramiko one per extra stream."""
    if client == "openssh":
        return 1 + 3 + (streams if streams > 1 else 0)
    return streams


def logins(host: PlayoutHost) -> int:
    """How many SSH logins ``host``'s sshd has accepted so far."""
    return host.sshd.log_text().count("Accepted publickey")
