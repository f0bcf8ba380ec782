"""Acceptance of the SSH transport against the rehearsal lab (real sshd, PostgreSQL, firewall).

Each test runs its coroutine in a thread that has entered the lab's operator namespace (the
threads PMC starts from there inherit it), so the pytest thread stays where it was.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pmc.errors import PmcError
from pmc.inventory import AuthMethod, Server
from pmc.remote import commands, files, services
from pmc.remote.connection import Connection
from pmc.remote.credentials import GivenCredentials
from pmc.remote.errors import AuthenticationFailed, ConnectionLost, HostKeyChanged
from pmc.remote.host_keys import KnownHosts, TrustFingerprints, fingerprint, host_id
from pmc.remote.pool import ConnectionPool
from pmc.remote.tunnels import Tunnel, open_tunnel
from tests.wait import wait_until_async

pytestmark = pytest.mark.lab
T = TypeVar("T")


@pytest.fixture(scope="module")
def cluster(lab_factory: Any) -> Any:
    """A lab of our own: these tests regenerate host keys and kill sshd."""
    return lab_factory(servers=2, state="fresh")


def in_operator_namespace(cluster: Any, work: Callable[[], Awaitable[T]]) -> T:
    outcome: dict[str, Any] = {}

    def body() -> None:
        try:
            cluster.enter_operator_namespace()
            outcome["value"] = asyncio.run(work())  # type: ignore[arg-type]
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=body, name="operator")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def lab_server(cluster: Any, name: str) -> Server:
    srv = cluster.servers[name]
    return Server(name=name, management_address=srv.management_address, auth=AuthMethod.PASSWORD)


def trusted(cluster: Any, path: Path) -> KnownHosts:
    import base64

    import paramiko

    known = KnownHosts(path)
    for name, srv in cluster.servers.items():
        if name in ("main", "backup"):
            kind, blob = srv.host_key("ed25519").split()[:2]
            known.add(
                host_id(srv.management_address, 22),
                paramiko.PKey.from_type_string(kind, base64.b64decode(blob)),
            )
    return known


def credentials(cluster: Any) -> GivenCredentials:
    return GivenCredentials({n: s.root_password for n, s in cluster.servers.items()})


def connect(cluster: Any, name: str, tmp_path: Path) -> Connection:
    return Connection(
        lab_server(cluster, name),
        cluster="lab",
        known_hosts=trusted(cluster, tmp_path / "known_hosts"),
        credentials=credentials(cluster),
    )


def test_commands_stream_and_cancel(cluster: Any, tmp_path: Path) -> None:
    main = cluster.servers["main"]

    async def go() -> None:
        conn = connect(cluster, "main", tmp_path)
        try:
            result = await commands.run(conn, ["cat", "/etc/hostname"])
            assert result.ok
            lines = [line.text async for line in commands.stream(conn, "echo a; echo b >&2")]
            assert lines == ["a", "b"] or sorted(lines) == ["a", "b"]
            pid_file = main.path("/tmp/pmc-sleeper")
            pid_file.unlink(missing_ok=True)
            task = asyncio.create_task(commands.run(conn, "echo $$ > /tmp/pmc-sleeper; sleep 300"))
            await wait_until_async(
                lambda: pid_file.read_text().strip(),
                timeout=60,
                ignoring=(FileNotFoundError,),
                what="the remote sleep to start",
            )
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            await conn.close()

    in_operator_namespace(cluster, go)
    pid = main.run(["cat", "/tmp/pmc-sleeper"]).stdout.strip()
    assert main.run(["kill", "-0", pid], check=False).returncode != 0


def test_regenerated_host_key_is_refused_and_nothing_sent(cluster: Any, tmp_path: Path) -> None:
    backup = cluster.servers["backup"]
    known = trusted(cluster, tmp_path / "known_hosts")
    old = fingerprint(known.keys_for(backup.management_address)["ssh-ed25519"])
    backup.run(["sh", "-c", "rm -f /etc/ssh/ssh_host_*key* && ssh-keygen -A"])
    assert backup.systemctl("restart", "sshd").returncode == 0
    log_before = backup.run(["cat", "/var/log/sshd.log"], check=False).stdout
    marker = "/tmp/pmc-must-not-exist"

    async def go() -> HostKeyChanged:
        conn = Connection(
            lab_server(cluster, "backup"), cluster="lab", known_hosts=known,
            credentials=credentials(cluster), trust=TrustFingerprints(["anything"]),
        )  # fmt: skip
        try:
            with pytest.raises(HostKeyChanged) as caught:
                await commands.run(conn, ["touch", marker])
            return caught.value
        finally:
            await conn.close()

    try:
        error = in_operator_namespace(cluster, go)
        assert error.old_fingerprint == old and error.new_fingerprint != old
        assert str(error).startswith("backup (127.168.1.108): WARNING")
        assert backup.run(["test", "-e", marker], check=False).returncode != 0
        log_after = backup.run(["cat", "/var/log/sshd.log"], check=False).stdout
        new = log_after[len(log_before) :]
        assert "Accepted" not in new and "Failed" not in new and "authenticat" not in new.lower()
    finally:
        pass


def test_sshd_killed_mid_command_then_reconnect(cluster: Any, tmp_path: Path) -> None:
    main = cluster.servers["main"]

    async def go() -> None:
        conn = connect(cluster, "main", tmp_path)
        try:
            # a duration no other process on this machine sleeps: the lab's servers share the
            # machine's processes, and a bare "sleep" found another test's (seen under load)
            task = asyncio.create_task(commands.run(conn, ["sleep", "60.25"]))

            async def sleeping() -> bool:
                found = await asyncio.to_thread(
                    main.run, ["pgrep", "-xf", "sleep 60.25"], check=False
                )
                return found.returncode == 0

            await wait_until_async(sleeping, timeout=60, what="the remote sleep to start")
            await asyncio.to_thread(main.run, ["pkill", "-KILL", "-x", "sshd"], check=False)
            with pytest.raises(ConnectionLost) as caught:
                await task
            assert str(caught.value).startswith("main (127.168.1.105): ")
            assert (await asyncio.to_thread(main.systemctl, "start", "sshd")).returncode == 0
            result = await wait_until_async(
                lambda: commands.run(conn, ["echo", "back"]), timeout=60, ignoring=(PmcError,),
                what="a command to run again after sshd came back",
            )  # fmt: skip
            assert result.stdout == "back\n"
            assert conn.connects == 2
        finally:
            await conn.close()

    in_operator_namespace(cluster, go)


def test_fifty_concurrent_commands_over_two_servers(cluster: Any, tmp_path: Path) -> None:
    async def go() -> list[str]:
        async with ConnectionPool(
            known_hosts=trusted(cluster, tmp_path / "known_hosts"),
            credentials=credentials(cluster),
        ) as pool:
            conns = [pool.connection(lab_server(cluster, n), "lab") for n in ("main", "backup")]
            results = await asyncio.gather(
                *(
                    commands.run(conns[i % 2], ["sh", "-c", f"sleep 0.3; echo {i}"])
                    for i in range(50)
                )
            )
            assert all(c.connects == 1 for c in conns)
            return [r.stdout.strip() for r in results]

    assert in_operator_namespace(cluster, go) == [str(i) for i in range(50)]


def test_atomic_write_backup_restore(cluster: Any, tmp_path: Path) -> None:
    main = cluster.servers["main"]
    path = "/opt/playout/api/config/spoolers.json"
    before = main.run(["stat", "-c", "%u:%g:%a", path]).stdout
    original = main.run(["cat", path]).stdout

    async def go() -> None:
        conn = connect(cluster, "main", tmp_path)
        try:
            written = await files.write_atomic(conn, path, '{"spoolers": []}\n')
            assert await files.read_text(conn, path) == '{"spoolers": []}\n'
            assert written.backup and ".pmc-backup-" in written.backup
            await files.restore_backup(conn, path, written.backup)
        finally:
            await conn.close()

    in_operator_namespace(cluster, go)
    assert main.run(["cat", path]).stdout == original
    assert main.run(["stat", "-c", "%u:%g:%a", path]).stdout == before


def test_services_and_probes(cluster: Any, tmp_path: Path) -> None:
    async def go() -> None:
        conn = connect(cluster, "main", tmp_path)
        try:
            restarted = await services.restart(conn, "playout-api.service")
            assert restarted.active_state == "active"
            assert await services.is_active(conn, "sshd") == "active"
            missing = await services.status(conn, "no-such-service")
            assert not missing.is_running
        finally:
            await conn.close()

    in_operator_namespace(cluster, go)


def test_tunnel_carries_a_psycopg_query(cluster: Any, tmp_path: Path) -> None:
    import psycopg

    async def go() -> str:
        conn = connect(cluster, "main", tmp_path)
        try:
            async with await open_tunnel(conn, 5432) as tunnel:

                def query() -> str:
                    with psycopg.connect(
                        tunnel.conninfo(dbname="playout", user="postgres", connect_timeout=10)
                    ) as db:
                        db.cancel_safe(timeout=10)  # a second connection through the tunnel
                        row = db.execute("select current_database()").fetchone()
                        assert row is not None
                        return str(row[0])

                return await asyncio.to_thread(query)
        finally:
            await conn.close()

    assert in_operator_namespace(cluster, go) == "playout"


def test_tunnel_reconnect_refuses_a_regenerated_host_key(cluster: Any, tmp_path: Path) -> None:
    import psycopg

    main = cluster.servers["main"]

    def query(tunnel: Tunnel) -> str:
        with psycopg.connect(
            tunnel.conninfo(dbname="playout", user="postgres", connect_timeout=10)
        ) as db:
            row = db.execute("select current_database()").fetchone()
            assert row is not None
            return str(row[0])

    async def go() -> None:
        conn = connect(cluster, "main", tmp_path)
        try:
            async with await open_tunnel(conn, 5432) as tunnel:
                assert await asyncio.to_thread(query, tunnel) == "playout"
                # main's keys are regenerated and the link drops (every sshd killed)
                await asyncio.to_thread(
                    main.run,
                    ["sh", "-c", "rm -f /etc/ssh/ssh_host_*key* && ssh-keygen -A && "
                     "pkill -KILL -x sshd; true"],
                )  # fmt: skip
                started = await asyncio.to_thread(main.systemctl, "start", "sshd")
                assert started.returncode == 0
                with pytest.raises(psycopg.OperationalError):
                    await asyncio.to_thread(query, tunnel)
                assert isinstance(tunnel.last_error, HostKeyChanged), tunnel.last_error
                assert conn.connects == 1
        finally:
            await conn.close()

    in_operator_namespace(cluster, go)


def test_no_password_in_anything_written(
    cluster: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from pmc.log import configure_logging

    caplog.set_level(logging.DEBUG)
    root = logging.getLogger()
    handlers_before = list(root.handlers)
    log_file = configure_logging(True, stderr=False, log_file=tmp_path / "log" / "pmc.log")

    wrong = "Wrong-Pass-9281"

    async def go() -> str:
        conn = connect(cluster, "backup", tmp_path)
        try:
            await commands.run(conn, ["true"])
        finally:
            await conn.close()
        bad = Connection(
            lab_server(cluster, "main"), cluster="lab",
            known_hosts=trusted(cluster, tmp_path / "known_hosts"),
            credentials=GivenCredentials({"main": wrong}),
        )  # fmt: skip
        try:
            with pytest.raises(AuthenticationFailed) as caught:
                await commands.run(bad, ["true"])
            return str(caught.value)
        finally:
            await bad.close()

    try:
        message = in_operator_namespace(cluster, go)
    finally:
        for handler in [h for h in root.handlers if h not in handlers_before]:
            handler.flush()
            root.removeHandler(handler)
            handler.close()
    logged = log_file.read_text()
    assert "backup (127.168.1.108): connected as 'root' by password" in logged
    assert "main (127.168.1.105): the server refused the login of 'root'" in logged
    assert message.startswith("main (127.168.1.105): the server refused the login of 'root'")
    assert "by password (it offers: publickey, " in message and ", password" in message
    assert "The password may be right: sshd refuses root's password when its" in message
    assert wrong not in message
    secrets = [wrong, *(s.root_password for s in cluster.servers.values() if s.root_password)]
    written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    for secret in secrets:
        assert secret not in caplog.text
        assert all(secret.encode() not in data for data in written)
