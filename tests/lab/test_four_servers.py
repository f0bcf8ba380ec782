"""The 4-server lab (main, backup, player1, player2) in the redundant state: every server's
addresses, isolation, sshd, the management bridge and eth2; the Web Console's "Synchronize all
servers" (copy config through the API stand-in); and a down that leaves nothing behind.

One lab for the module; the last test takes it down.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import sys
from typing import Any

import paramiko
import psycopg
import pytest

from pmc.lab import LabCluster, LabServer, network, topology
from tests.fixtures.lab import LabFactory
from tests.lab.test_lab_core import PROBE, _lab_traces
from tests.wait import wait_until

pytestmark = pytest.mark.lab

NAMES = ("main", "backup", "player1", "player2")
MGMT = {"main": "127.168.1.105", "backup": "127.168.1.108", "player1": "127.168.1.111",
        "player2": "127.168.1.112"}  # fmt: skip
ETH2 = {"main": "127.17.59.128", "backup": "127.17.59.129"}


@pytest.fixture(scope="module")
def four(lab_factory: LabFactory) -> LabCluster:
    return lab_factory(servers=4, state="redundant", seed_rows=50)


def _addresses(srv: LabServer) -> dict[str, list[str]]:
    out = srv.run(["ip", "-4", "-o", "addr", "show"]).stdout
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        fields = line.split()
        found.setdefault(fields[1], []).append(fields[3])
    return found


def _probe(srv: LabServer, address: str, port: int = 22) -> str:
    return srv.run([sys.executable, "-c", PROBE, address, str(port)]).stdout.strip()


def _connect(address: str, port: int) -> str:
    with socket.socket() as sock:
        sock.settimeout(2)
        try:
            sock.connect((address, port))
        except OSError:
            return "closed"
        return "open"


def _ssh_hostname(srv: LabServer) -> str:
    """Log in as root with the server's password, its host key verified (no auto-add)."""
    client = paramiko.SSHClient()
    kind, blob = srv.host_key().split()[:2]
    client.get_host_keys().add(
        srv.management_address, kind, paramiko.PKey.from_type_string(kind, base64.b64decode(blob))
    )
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            srv.management_address,
            username="root",
            password=srv.root_password,
            allow_agent=False,
            look_for_keys=False,
            timeout=5,
            auth_timeout=10,
        )
        _, out, _ = client.exec_command("hostname; cat /opt/playout/.lab-marker")
        return out.read().decode()
    finally:
        client.close()


def test_every_server_has_its_addresses_and_its_own_files(four: LabCluster) -> None:
    assert tuple(four.servers) == NAMES
    assert len(network.namespaces(four.lab_id)) == 5  # 4 servers and the operator
    for name, srv in four.servers.items():
        addresses = _addresses(srv)
        assert addresses["lo"] == ["127.0.0.1/32"], name
        assert addresses["eth3"] == [f"{MGMT[name]}/24"], name
        if name in ETH2:
            assert addresses["eth2"] == [f"{ETH2[name]}/24"], name
        else:
            assert "eth2" not in addresses, name
        assert set(addresses) <= {"lo", "eth2", "eth3"}, name
        assert srv.run(["hostname"]).stdout == f"{name}\n"
        srv.run(["sh", "-c", f"echo {name} > /opt/playout/.lab-marker"])
    # Private files, host keys and root passwords: each its own.
    for name, srv in four.servers.items():
        assert srv.run(["cat", "/opt/playout/.lab-marker"]).stdout == f"{name}\n"
    assert len({s.host_key() for s in four.servers.values()}) == 4
    assert len({s.root_password for s in four.servers.values()}) == 4
    assert len({s.init_pid for s in four.servers.values()}) == 4


def test_sshd_on_each_server_through_the_management_bridge(four: LabCluster) -> None:
    for name, srv in four.servers.items():
        # from the operator's desktop, over the bridge, with that server's own password
        out = four.call_in_operator_namespace(_ssh_hostname, srv)
        assert out.splitlines() == [name, name]
        assert srv.systemctl("is-active", "sshd").stdout == "active\n"
    # Players reach each other and main on the management network only.
    assert _probe(four.servers["player1"], MGMT["player2"]) == f"open {MGMT['player1']}"
    assert _probe(four.servers["player2"], MGMT["main"]) == f"open {MGMT['player2']}"


def test_eth2_links_only_main_and_backup(four: LabCluster) -> None:
    main, backup = four.servers["main"], four.servers["backup"]
    assert _probe(main, ETH2["backup"]) == f"open {ETH2['main']}"
    assert _probe(backup, ETH2["main"]) == f"open {ETH2['backup']}"
    assert " dev eth2 " in main.run(["ip", "route", "get", ETH2["backup"]]).stdout
    for player in ("player1", "player2"):
        srv = four.servers[player]
        for address in ETH2.values():
            assert _probe(srv, address).startswith("closed"), (player, address)
    for address in ETH2.values():
        assert four.call_in_operator_namespace(_connect, address, 22) == "closed"
    for address in MGMT.values():
        assert four.call_in_operator_namespace(_connect, address, 22) == "open"


# The Web Console's "Synchronize all servers" ----------------------------------------------


def _api(address: str, method: str, path: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(address, 8081, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def _copy_finished(four: LabCluster, address: str, timeout: float) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        status, body = four.call_in_operator_namespace(
            _api, address, "GET", "/api/replication/status"
        )
        assert status == 200
        return None if body["running"] else dict(body)

    return wait_until(finished, timeout=timeout, what=f"copy config started on {address} to end")


def test_synchronize_all_servers_runs_copy_config_from_replicate_conf(four: LabCluster) -> None:
    main, backup = four.servers["main"], four.servers["backup"]
    with psycopg.connect(main.postgres_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO dvb_services (service_id, name, provider) VALUES (5, 'Icareus 5', "
            "'Icareus')"
        )
    status, body = four.call_in_operator_namespace(
        _api, MGMT["main"], "POST", "/api/replication/start"
    )
    assert status == 202, body
    assert (body["primary"], body["secondary"]) == (ETH2["main"], ETH2["backup"])
    again, busy = four.call_in_operator_namespace(
        _api, MGMT["main"], "POST", "/api/replication/start"
    )
    assert again == 409 and "already running" in busy["error"]
    result = _copy_finished(four, MGMT["main"], 240)
    assert result["exit_code"] == 0, result
    assert result["replication"] == "stopped"
    assert any("Replication finished successfully" in line for line in result["output"])
    with psycopg.connect(backup.postgres_dsn) as conn:
        row = conn.execute("SELECT name FROM dvb_services WHERE service_id = 5").fetchone()
    assert row == ("Icareus 5",)
    log = main.path("/var/log/playout-api.log").read_text()
    assert f"copy config started: /opt/playout/bin/copy_config.sh {ETH2['main']} " \
           f"{ETH2['backup']}" in log  # fmt: skip
    assert f"info: copy config: /opt/playout/bin/copy_config.sh: Primary host: {ETH2['main']}" \
        in log  # fmt: skip
    assert "info: copy config finished successfully" in log


def test_synchronize_is_refused_without_two_addresses_in_replicate_conf(
    four: LabCluster,
) -> None:
    # A player's replicate.conf holds its own address only.
    status, body = four.call_in_operator_namespace(
        _api, MGMT["player1"], "POST", "/api/replication/start"
    )
    assert status == 400
    assert body["error"].startswith("replicate.conf has 1 address (127.168.1.111); copy config")
    assert "restart the Playout API" in body["hint"]
    status, state = four.call_in_operator_namespace(
        _api, MGMT["player1"], "GET", "/api/replication/status"
    )
    assert status == 200 and state["running"] is False and state["replicate"] == [MGMT["player1"]]


def test_a_failed_copy_is_logged_with_its_exit_code(four: LabCluster) -> None:
    backup = four.servers["backup"]
    failover = backup.path("/opt/playout/.failover-peer")
    saved = failover.read_text()
    failover.unlink()
    try:
        status, _ = four.call_in_operator_namespace(
            _api, MGMT["main"], "POST", "/api/replication/start"
        )
        assert status == 202
        result = _copy_finished(four, MGMT["main"], 120)
    finally:
        failover.write_text(saved)
    assert result["exit_code"] == 1, result
    assert any(line.endswith("Checking failover on slave... returned 127")
               for line in result["output"])  # fmt: skip
    log = four.servers["main"].path("/var/log/playout-api.log").read_text()
    assert "error: copy config failed: /opt/playout/bin/copy_config.sh returned 1" in log


def test_down_leaves_nothing_behind(four: LabCluster) -> None:
    pids = [s.init_pid for s in four.servers.values()]
    four.down()
    assert _lab_traces(four.lab_id, pids) == []
    assert not topology.state_dir(four.lab_id).exists()
