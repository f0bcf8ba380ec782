"""The lab core: life cycle, isolation, networks, sshd, PostgreSQL, systemctl and firewall."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import paramiko
import pytest

from pmc import lab as lab_api
from pmc.errors import LabError
from pmc.lab import LabCluster, LabServer, network, topology
from tests.fixtures.lab import LabFactory
from tests.wait import wait_until

pytestmark = pytest.mark.lab

PROBE = (
    "import socket, sys\n"
    "s = socket.socket(); s.settimeout(3)\n"
    "try:\n"
    "    s.connect((sys.argv[1], int(sys.argv[2]))); print('open', s.getsockname()[0])\n"
    "except OSError as exc:\n"
    "    print('closed', exc.errno)\n"
)


def _connect(address: str, port: int, timeout: float = 3) -> str:
    """'open' or 'closed' for a TCP connect from the calling thread's namespace."""
    with socket.socket() as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
        except OSError:
            return "closed"
        return "open"


def _probe_from(server: LabServer, address: str, port: int) -> str:
    return server.run([sys.executable, "-c", PROBE, address, str(port)]).stdout.strip()


def _ssh(srv: LabServer, address: str, password: str) -> str:
    client = paramiko.SSHClient()
    kind, blob = srv.host_key().split()[:2]
    client.get_host_keys().add(
        address, kind, paramiko.PKey.from_type_string(kind, base64.b64decode(blob))
    )
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(address, username="root", password=password, allow_agent=False,
                       look_for_keys=False, timeout=5, auth_timeout=10)  # fmt: skip
        _, out, _ = client.exec_command("hostname; ls /opt/playout/.lab-marker 2>&1")
        return out.read().decode()
    finally:
        client.close()


def _lab_traces(lab_id: str, pids: list[int]) -> list[str]:
    traces = [f"namespace {ns}" for ns in network.namespaces(lab_id)]
    if topology.state_dir(lab_id).exists():
        traces.append(str(topology.state_dir(lab_id)))
    traces += [f"process {p}" for p in pids if Path(f"/proc/{p}").exists()]
    mounts = Path("/proc/self/mountinfo").read_text()
    traces += [line for line in mounts.splitlines() if f"/{lab_id}-" in line or
               f"pmc-lab/{lab_id}/" in line]  # fmt: skip
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False).stdout
    traces += [line for line in links.splitlines() if "mgmt-" in line or "br-mgmt" in line]
    return traces


def test_up_then_down_leaves_nothing_behind(lab_factory: LabFactory) -> None:
    cluster = lab_factory(servers=3)
    assert set(cluster.servers) == {"main", "backup", "player1"}
    pids = [s.init_pid for s in cluster.servers.values()]
    assert all(Path(f"/proc/{p}").exists() for p in pids)
    assert len(network.namespaces(cluster.lab_id)) == 4
    assert cluster.servers["player1"].redundancy_address is None
    cluster.down()
    assert _lab_traces(cluster.lab_id, pids) == []


def test_a_crashed_lab_is_cleaned_by_the_next_up(lab_factory: LabFactory) -> None:
    cluster = lab_factory(servers=2)
    old = cluster.servers["main"]
    os.kill(old.init_pid, signal.SIGKILL)  # the server's PID 1: all inside it dies
    again = lab_factory(lab_id=cluster.lab_id, servers=2)
    assert again.servers["main"].init_pid != old.init_pid
    assert again.servers["main"].systemctl("is-active", "sshd").stdout == "active\n"
    pids = [s.init_pid for s in again.servers.values()]
    again.down()
    assert _lab_traces(cluster.lab_id, pids) == []


def test_a_status_file_left_behind_never_signals_another_process(lab_factory: LabFactory) -> None:
    """A lab killed with its test session leaves its status file behind, and a later session
    whose pid is the same takes the same lab id: the pids that file names belong to other
    processes by now, and neither ``attach`` nor the next ``up`` may act on them."""
    cluster = lab_factory(servers=2)
    status_file = topology.state_dir(cluster.lab_id) / "lab.json"
    for srv in cluster.servers.values():
        os.kill(srv.init_pid, signal.SIGKILL)
    wait_until(
        lambda: not any(Path(f"/proc/{s.init_pid}").exists() for s in cluster.servers.values()),
        timeout=30, what="the killed lab's servers to end",
    )  # fmt: skip
    bystander = subprocess.Popen(["sleep", "300"])  # stands for the process the pid went to
    try:
        data = json.loads(status_file.read_text())
        for info in data["servers"].values():
            info["init_pid"] = bystander.pid
        status_file.write_text(json.dumps(data))
        with pytest.raises(LabError, match="is not running: its backup and main stopped"):
            lab_api.attach(cluster.lab_id)
        again = lab_factory(lab_id=cluster.lab_id, servers=2)
        assert again.servers["main"].systemctl("is-active", "sshd").stdout == "active\n"
        assert bystander.poll() is None, f"the bystander got signal {-(bystander.returncode or 0)}"
    finally:
        bystander.kill()
        bystander.wait()


def test_servers_have_their_own_files_keys_and_passwords(lab: LabCluster) -> None:
    main, backup = lab.servers["main"], lab.servers["backup"]
    main.run(["sh", "-c", "echo main > /opt/playout/.lab-marker; touch /root/.ssh/marker"])
    try:
        assert main.path("/opt/playout/.lab-marker").read_text() == "main\n"
        assert backup.run(["ls", "/opt/playout/.lab-marker"], check=False).returncode != 0
        assert backup.run(["ls", "/root/.ssh/marker"], check=False).returncode != 0
        assert main.host_key() != backup.host_key()
        assert main.root_password and main.root_password != backup.root_password
        assert main.run(["hostname"]).stdout == "main\n"
        # Each server's root password opens that server only.
        out = lab.call_in_operator_namespace(
            _ssh, main, main.management_address, main.root_password
        )
        assert out.splitlines() == ["main", "/opt/playout/.lab-marker"]
        with pytest.raises(paramiko.AuthenticationException):
            lab.call_in_operator_namespace(
                _ssh, backup, backup.management_address, main.root_password
            )
        # The machine's own shadow file is untouched.
        assert main.root_password not in Path("/etc/shadow").read_text()
        host_root = Path("/etc/shadow").read_text().split("\n", 1)[0]
        assert main.run(["head", "-1", "/etc/shadow"]).stdout.strip() != host_root
    finally:
        main.run(["rm", "-f", "/opt/playout/.lab-marker", "/root/.ssh/marker"])


def test_no_lab_address_answers_outside_the_operator_namespace(lab: LabCluster) -> None:
    host_addresses = subprocess.run(
        ["ip", "-o", "addr"], capture_output=True, text=True, check=False
    ).stdout
    assert "127.168.1." not in host_addresses and "127.17.59." not in host_addresses
    for port in (2001, 5555, 8081):  # ports only the lab's stand-ins listen on
        assert _connect("127.168.1.105", port, timeout=1) == "closed"
        assert lab.call_in_operator_namespace(_connect, "127.168.1.105", port) == "open"


def test_sshd_answers_on_both_interfaces_over_the_right_links(lab: LabCluster) -> None:
    main, backup = lab.servers["main"], lab.servers["backup"]
    assert lab.call_in_operator_namespace(_connect, main.management_address, 22) == "open"
    # The operator has no route to the redundancy network.
    assert lab.call_in_operator_namespace(_connect, main.redundancy_address, 22, 1) == "closed"
    assert _probe_from(backup, "127.17.59.128", 22) == "open 127.17.59.129"
    assert _probe_from(backup, "127.168.1.105", 22) == "open 127.168.1.108"
    route = main.run(["ip", "route", "get", "127.17.59.129"]).stdout
    assert " dev eth2 " in route
    route = backup.run(["ip", "route", "get", "127.168.1.105"]).stdout
    assert " dev eth3 " in route
    scanned = main.run(["ssh-keyscan", "-T", "5", "-t", "ed25519", "127.17.59.129"]).stdout
    assert backup.host_key().split()[1] in scanned
    lo = main.run(["ip", "-4", "-o", "addr", "show", "dev", "lo"]).stdout
    assert "127.0.0.1/32" in lo and "/8" not in lo


def test_postgres_listens_on_localhost_only_when_fresh(lab: LabCluster) -> None:
    main, backup = lab.servers["main"], lab.servers["backup"]
    conf = main.path("/opt/playout/db/postgresql.conf").read_text()
    assert re.search(r"^listen_addresses = 'localhost'", conf, re.M)
    hba = main.path("/opt/playout/db/pg_hba.conf").read_text()
    assert "127.17.59" not in hba and "local   all             all" in hba
    assert _probe_from(main, "127.0.0.1", 5432) == "open 127.0.0.1"
    assert _probe_from(main, "127.17.59.128", 5432).startswith("closed")
    assert _probe_from(backup, "127.17.59.128", 5432).startswith("closed")
    out = main.run(["psql", "-h", "/var/run/postgresql", "-U", "postgres", "-d", "playout",
                    "-Atc", "select current_database()"]).stdout  # fmt: skip
    assert out == "playout\n"
    assert main.run(["systemctl", "is-active", "postgresql"]).stdout == "active\n"


def test_systemctl_speaks_like_systemd(lab: LabCluster) -> None:
    main = lab.servers["main"]
    status = main.run(["systemctl", "status", "sshd"]).stdout
    assert status.startswith("● sshd.service - OpenSSH server daemon\n")
    assert "   Loaded: loaded (/usr/lib/systemd/system/sshd.service; enabled; vendor preset: " \
           "disabled)\n" in status  # fmt: skip
    assert re.search(
        r"^   Active: active \(running\) since \w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+; "
        r"\d+(s|min \d+s) ago$", status, re.M,
    )  # fmt: skip
    main.run(["systemctl", "stop", "httpd"])
    try:
        off = main.run(["systemctl", "is-active", "httpd"], check=False)
        assert (off.returncode, off.stdout) == (3, "inactive\n")
        assert main.run(["systemctl", "status", "httpd"], check=False).returncode == 3
        assert lab.call_in_operator_namespace(_connect, main.management_address, 80) == "closed"
    finally:
        main.run(["systemctl", "start", "httpd"])
    assert lab.call_in_operator_namespace(_connect, main.management_address, 80) == "open"
    unknown = main.run(["systemctl", "status", "nosuch"], check=False)
    assert (unknown.returncode, unknown.stderr) == (4, "Unit nosuch.service could not be found.\n")


def test_a_service_that_cannot_start_fails_as_systemd_reports_it(lab: LabCluster) -> None:
    main = lab.servers["main"]
    config = main.path("/etc/ssh/sshd_config")
    good = config.read_text()
    config.write_text(good + "NoSuchOption yes\n")
    try:
        failed = main.run(["systemctl", "restart", "sshd"], check=False)
        assert failed.returncode == 1
        assert failed.stderr.startswith(
            "Job for sshd.service failed because the control process exited with error code."
        )
        status = main.run(["systemctl", "status", "sshd.service"], check=False)
        assert status.returncode == 3
        assert "   Active: failed (Result: exit-code) since " in status.stdout
        assert main.run(["systemctl", "is-active", "sshd"], check=False).stdout == "failed\n"
    finally:
        config.write_text(good)
        main.run(["systemctl", "restart", "sshd"])
    assert main.run(["systemctl", "is-active", "sshd"]).stdout == "active\n"


def test_firewall_cmd_changes_the_real_rules(lab: LabCluster) -> None:
    main = lab.servers["main"]
    listing = main.run(["firewall-cmd", "--list-all"]).stdout
    assert "  ports: 80/tcp 8081/tcp 2001/tcp 5000/tcp 5432/tcp 5555/tcp 161/udp 162/udp\n" \
        in listing  # fmt: skip
    assert "  services: cockpit dhcpv6-client ssh\n" in listing

    def reachable() -> str:
        return str(lab.call_in_operator_namespace(_connect, main.management_address, 2001))

    remove = ["firewall-cmd", "--permanent", "--zone=public", "--remove-port=2001/tcp"]
    try:
        assert main.run(remove).stdout == "success\n"
        assert reachable() == "open"  # permanent only: applies at the next reload
        assert main.run(["firewall-cmd", "--reload"]).stdout == "success\n"
        assert reachable() == "closed"
        assert "2001" not in main.run(["nft", "list", "table", "inet", "firewalld"]).stdout
        query = main.run(["firewall-cmd", "--query-port=2001/tcp"], check=False)
        assert (query.returncode, query.stdout) == (1, "no\n")
        # A runtime change (no --permanent) applies at once and is gone after a reload.
        main.run(["firewall-cmd", "--add-port=2001/tcp"])
        assert reachable() == "open"
        main.run(["firewall-cmd", "--reload"])
        assert reachable() == "closed"
    finally:
        main.run(["firewall-cmd", "--permanent", "--zone=public", "--add-port=2001/tcp"])
        main.run(["firewall-cmd", "--reload"])
    assert reachable() == "open"
    bad = main.run(["firewall-cmd", "--permanent", "--add-port=99999/tcp"], check=False)
    assert (bad.returncode, bad.stderr) == (102, "Error: INVALID_PORT: 99999/tcp\n")
    main.run(["systemctl", "stop", "firewalld"])
    try:
        stopped = main.run(["firewall-cmd", "--list-all"], check=False)
        assert (stopped.returncode, stopped.stderr) == (252, "FirewallD is not running\n")
    finally:
        main.run(["systemctl", "start", "firewalld"])
    assert main.run(["firewall-cmd", "--state"]).stdout == "running\n"


def test_block_and_unblock_a_port(lab: LabCluster) -> None:
    main = lab.servers["main"]
    lab.block("main", 5555)
    try:
        assert lab.call_in_operator_namespace(_connect, main.management_address, 5555) == "closed"
        assert lab.call_in_operator_namespace(_connect, main.management_address, 2001) == "open"
    finally:
        lab.unblock("main", 5555)
    assert lab.call_in_operator_namespace(_connect, main.management_address, 5555) == "open"


def test_reset_brings_back_the_fresh_state(fresh_lab: LabCluster) -> None:
    main = fresh_lab.servers["main"]
    main.run(["sh", "-c", "echo x > /root/.ssh/authorized_keys; "
              "firewall-cmd --permanent --remove-port=5432/tcp; systemctl stop httpd"])  # fmt: skip
    host_key = main.host_key()
    fresh_lab.reset()
    assert not main.path("/root/.ssh/authorized_keys").exists()
    assert "5432/tcp" in main.run(["firewall-cmd", "--list-ports"]).stdout
    assert main.run(["systemctl", "is-active", "httpd"]).stdout == "active\n"
    assert main.host_key() == host_key
    out = fresh_lab.call_in_operator_namespace(
        _ssh, main, main.management_address, main.root_password
    )
    assert out.startswith("main\n")


def test_attach_and_status_describe_the_running_lab(lab: LabCluster) -> None:
    attached = lab_api.attach(lab.lab_id)
    assert attached.servers["main"].init_pid == lab.servers["main"].init_pid
    assert attached.servers["main"].root_password == ""
    info = lab_api.status(lab.lab_id)
    assert info is not None
    assert info["servers"]["backup"]["services"]["sshd"] == "active"
    text = topology.state_dir(lab.lab_id).joinpath("lab.json").read_text()
    for srv in lab.servers.values():
        assert srv.root_password not in text


def test_chpasswd_inside_a_server_changes_that_server_only(lab: LabCluster) -> None:
    """The server's /etc is a folder of its own: shadow-utils' own chpasswd (a new file renamed
    over the old) works there as on a real server, and the machine's shadow is untouched."""
    main = lab.servers["main"]
    old = main.root_password
    machine_shadow = Path("/etc/shadow").read_text()
    new = "Rehearsal-" + os.urandom(6).hex()
    try:
        done = main.run(["chpasswd"], input=f"root:{new}\n", check=False)
        assert (done.returncode, done.stderr) == (0, "")
        assert lab.call_in_operator_namespace(_ssh, main, main.management_address, new).startswith(
            "main\n"
        )
        with pytest.raises(paramiko.AuthenticationException):
            lab.call_in_operator_namespace(_ssh, main, main.management_address, old)
        assert new not in main.path("/etc/shadow").read_text()  # a hash, as on a real server
        unknown = main.run(["chpasswd"], input="nosuchuser:x\n", check=False)
        assert unknown.returncode != 0 and "nosuchuser" in unknown.stderr
        assert Path("/etc/shadow").read_text() == machine_shadow
    finally:
        main.set_root_password(old)
    assert Path("/etc/shadow").read_text() == machine_shadow
    assert lab.call_in_operator_namespace(_ssh, main, main.management_address, old).startswith(
        "main\n"
    )
