"""The servers' audit log against a throwaway OpenSSH server: a job's blocks record one entry
per server with the files it wrote (hashes before and after, as the server computed them),
a failed job's entry says so without a secret, nothing is recorded outside a job, and lines
appended by two PMCs at once stay whole."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pmc import audit_log, redact
from pmc.errors import PmcError
from pmc.inventory import AuthMethod, Server
from pmc.jobs import Job, JobContext
from pmc.remote import files
from pmc.remote.connection import Connection
from pmc.remote.host_keys import KnownHosts, TrustFingerprints
from tests.fixtures.sshd import ThrowawaySshd
from tests.remote.conftest import host_fingerprint


@dataclass(frozen=True)
class Who:
    user: str = "alice"
    desktop: str = "desk-a"
    version: str = "9.9"
    job: str = "switch lab over to backup"


@pytest.fixture
def logs() -> Iterator[Path]:
    """The throwaway server's log folder: below /var/log (a layout override must lie in the
    folders of Playout's layout), removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="pmc-test-audit-", dir="/var/log"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def connect(sshd: ThrowawaySshd, tmp_path: Path, logs: Path, name: str = "backup") -> Connection:
    server = Server(
        name=name, management_address=sshd.address, ssh_port=sshd.port, auth=AuthMethod.KEY,
        key_file=str(sshd.client_key),
        layout_overrides={"audit_log": str(logs / "pmc" / "audit.jsonl")},
    )  # fmt: skip
    return Connection(
        server, cluster="lab", known_hosts=KnownHosts(tmp_path / "known_hosts"),
        trust=TrustFingerprints([host_fingerprint(sshd)]),
    )  # fmt: skip


def lines(logs: Path) -> list[dict[str, object]]:
    path = logs / "pmc" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_job_records_one_entry_per_server_with_the_files_it_wrote(
    sshd: ThrowawaySshd, tmp_path: Path, logs: Path
) -> None:
    target = tmp_path / "spoolers.json"
    target.write_text("old\n")

    async def go() -> str:
        conn = connect(sshd, tmp_path, logs)
        try:
            await files.write_atomic(conn, str(target), "outside\n")  # no job: not recorded

            async def executor() -> None:  # a block inside the job's own (nested locks)
                async with audit_log.recorded([conn], Who(job="setup apply (x) to lab")):
                    await files.write_atomic(conn, str(target), "new\n")

            async def body(ctx: JobContext) -> None:
                async with audit_log.recorded([conn], Who()):
                    await executor()

            job: Job[None] = Job("switchover", "Switch lab over to backup", body)
            await job.run()
            return job.id
        finally:
            await conn.close()

    job_id = asyncio.run(go())
    found = lines(logs)
    assert len(found) == 1, found
    (one,) = found
    assert one["job"] == {"id": job_id, "kind": "switchover", "title": "Switch lab over to backup"}
    assert (one["user"], one["desktop"], one["pmc"]) == ("alice", "desk-a", "9.9")
    assert (one["action"], one["result"], one["server"], one["cluster"]) == (
        "switch lab over to backup", "succeeded", "backup", "lab",
    )  # fmt: skip
    sha = {t: hashlib.sha256(t.encode()).hexdigest() for t in ("outside\n", "new\n")}
    assert one["files"] == [
        {"path": str(target), "before": sha["outside\n"], "after": sha["new\n"]}
    ]
    assert (logs / "pmc").stat().st_mode & 0o777 == 0o750


def test_a_failed_job_is_recorded_as_failed_without_its_secret(
    sshd: ThrowawaySshd, tmp_path: Path, logs: Path
) -> None:
    redact.register("s3cret-Passw0rd")

    async def go() -> None:
        conn = connect(sshd, tmp_path, logs)
        try:

            async def body(ctx: JobContext) -> None:
                async with audit_log.recorded([conn], Who()):
                    raise PmcError("login with s3cret-Passw0rd refused", where="main")

            with pytest.raises(PmcError):
                await Job("sync", "Synchronize lab", body).run()
        finally:
            await conn.close()

    try:
        asyncio.run(go())
    finally:
        redact.forget("s3cret-Passw0rd")
    raw = (logs / "pmc" / "audit.jsonl").read_text()
    assert "s3cret" not in raw
    (one,) = lines(logs)
    assert (one["result"], one["message"]) == ("failed", "main: login with *** refused")


def test_lines_appended_by_two_pmcs_at_once_stay_whole(
    sshd: ThrowawaySshd, tmp_path: Path, logs: Path
) -> None:
    """Lines far longer than a pipe's buffer (3 MB), appended over two connections at once:
    each is one write, so none is cut by the other's."""

    async def go() -> None:
        one, two = connect(sshd, tmp_path, logs), connect(sshd, tmp_path, logs)
        try:

            def big(n: int, who: str) -> audit_log.AuditEntry:
                return audit_log.AuditEntry(
                    time=1.0, cluster="lab", server="backup", user=who, desktop="d",
                    version="1", job_id=str(n), job_kind="sync", job_title="t", action="a",
                    result="succeeded", message=who * 3_000_000,
                )  # fmt: skip

            await asyncio.gather(
                *(audit_log.append(one, big(n, "a")) for n in range(3)),
                *(audit_log.append(two, big(n, "b")) for n in range(3)),
            )
            read = await audit_log.read(one)
            assert sorted((e.user, e.job_id) for e in read) == sorted(
                (w, str(n)) for w in "ab" for n in range(3)
            )
        finally:
            await one.close()
            await two.close()

    asyncio.run(go())
    found = lines(logs)
    assert len(found) == 6
    assert all(set(str(e["message"])) == {str(e["user"])} for e in found)
