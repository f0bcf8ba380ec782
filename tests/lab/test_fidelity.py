"""Acceptance: the seed's manual procedure, done with plain shell commands inside a fresh lab,
makes copy config and Playout Web Redundancy work; leaving out any one step fails the way the
seed documents. No PMC engine code: only the lab, bash, sed, ssh, firewall-cmd, systemctl and
Playout's own scripts.

One lab for the module, reset to its fresh state before every test: each test does the seed's
steps it needs itself (``prepared``: every database step; ``every_step``: check_failover.sh
too), so any test runs alone or in any order; the failure cases then leave out one step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from pmc.lab import LabCluster

pytestmark = [pytest.mark.lab, pytest.mark.slow]

MAIN_MGMT, BACKUP_MGMT = "127.168.1.105", "127.168.1.108"
MAIN_ETH2, BACKUP_ETH2 = "127.17.59.128", "127.17.59.129"
COPY = "/opt/playout/bin/copy_config.sh"
PREFIX = f"{COPY}: "
HEREDOC_END = "EOF"


def sh(lab: LabCluster, server: str, script: str, stdin: str | None = None) -> Any:
    return lab.servers[server].run(["bash", "-c", script], input=stdin, check=False)


def ok(lab: LabCluster, server: str, script: str, stdin: str | None = None) -> str:
    result = sh(lab, server, script, stdin)
    assert result.returncode == 0, f"{server}: {script}\n{result.stdout}\n{result.stderr}"
    return str(result.stdout)


def write(lab: LabCluster, server: str, path: str, text: str) -> None:
    ok(lab, server, f"cat > {path} <<'{HEREDOC_END}'\n{text}{HEREDOC_END}\n")


def copy_config(lab: LabCluster) -> tuple[int, list[str]]:
    result = sh(lab, "main", f"{COPY} {MAIN_ETH2} {BACKUP_ETH2}")
    lines = [line.removeprefix(PREFIX) for line in result.stdout.splitlines()]
    return result.returncode, lines


def assert_failure(lab: LabCluster, step: str) -> list[str]:
    rc, lines = copy_config(lab)
    assert rc != 0, lines
    assert step in lines, lines
    assert lines[lines.index(step) + 1] == "Failure, setting replication status to stopped."
    assert not any("Replication finished successfully" in line for line in lines)
    status = ok(
        lab, "main", "psql -U postgres -d playout -Atc 'select status from replication_status'"
    )
    assert status.strip() == "stopped"
    return lines


# The seed's steps ------------------------------------------------------------------------


def set_listen_addresses(lab: LabCluster, server: str, value: str) -> None:
    ok(
        lab,
        server,
        f"sed -i \"s/^#\\?listen_addresses = '[^']*'/listen_addresses = '{value}'/\" "
        "/opt/playout/db/postgresql.conf && "
        f"grep -q \"^listen_addresses = '{value}'\" /opt/playout/db/postgresql.conf && "
        "systemctl restart postgresql",
    )


def add_pg_hba(lab: LabCluster, server: str) -> None:
    lines = "".join(
        f"host    all         all         {a}/32         trust\n" for a in (MAIN_ETH2, BACKUP_ETH2)
    )
    ok(
        lab,
        server,
        f"printf '%s' '{lines}' >> /opt/playout/db/pg_hba.conf && systemctl restart postgresql",
    )


def remove_pg_hba(lab: LabCluster, server: str, address: str) -> None:
    pattern = re.escape(address).replace("/", "\\/")
    ok(
        lab,
        server,
        f"sed -i '/{pattern}\\/32/d' /opt/playout/db/pg_hba.conf && systemctl restart postgresql",
    )


def exchange_keys(lab: LabCluster, server: str, peer_address: str) -> None:
    """ssh-keygen, then the seed's `cat id_rsa.pub | ssh root@PEER 'cat >> …'` typing the
    peer's root password (through SSH_ASKPASS, read from stdin so that it is in no file)."""
    peer = "backup" if server == "main" else "main"
    script = "\n".join(
        [
            "read -r LAB_PASSWORD; export LAB_PASSWORD",
            "askpass=$(mktemp); chmod 700 $askpass",
            "printf '#!/bin/sh\\necho \"$LAB_PASSWORD\"\\n' > $askpass",
            "cd",
            "[ -f /root/.ssh/id_rsa ] || ssh-keygen -t rsa -N '' -f /root/.ssh/id_rsa -q",
            "mkdir -p /root/.ssh",
            f"cat /root/.ssh/id_rsa.pub | SSH_ASKPASS=$askpass SSH_ASKPASS_REQUIRE=force "
            f"ssh -o StrictHostKeyChecking=accept-new root@{peer_address} "
            "'mkdir -p /root/.ssh; cat >> /root/.ssh/authorized_keys'",
            "rc=$?; rm -f $askpass; [ $rc = 0 ] || exit $rc",
            f"ssh -o BatchMode=yes root@{peer_address} true",
        ]
    )
    ok(lab, server, script, stdin=lab.servers[peer].root_password + "\n")


@pytest.fixture(scope="module")
def lab(lab_factory: Callable[..., LabCluster]) -> LabCluster:
    return lab_factory(servers=2, state="fresh", data_mb=1)


@pytest.fixture
def fresh(lab: LabCluster) -> LabCluster:
    """The module's lab as a fresh one: files, databases, firewall and services reset."""
    lab.reset(data_mb=1)
    return lab


def database_steps(lab: LabCluster) -> None:
    """Every database step of the seed on both servers, except check_failover.sh."""
    for server in ("main", "backup"):
        ok(
            lab,
            server,
            "firewall-cmd --permanent --zone=public --add-port=5432/tcp && "
            "firewall-cmd --reload && firewall-cmd --list-all | grep -q 5432/tcp",
        )
        add_pg_hba(lab, server)
        set_listen_addresses(lab, server, "*")
        ok(
            lab,
            server,
            "sed -i 's/^#\\?PermitRootLogin .*/PermitRootLogin yes/' /etc/ssh/sshd_config; "
            "grep -q '^PermitRootLogin yes' /etc/ssh/sshd_config "
            "|| echo 'PermitRootLogin yes' >> /etc/ssh/sshd_config; systemctl restart sshd",
        )
    exchange_keys(lab, "main", BACKUP_MGMT)
    exchange_keys(lab, "backup", MAIN_MGMT)
    ok(
        lab,
        "main",
        'psql -U postgres -d playout -c "insert into dvb_services (service_id, name, provider) '
        "values (5, 'Icareus 5', 'Icareus')\"",
    )


def check_failover(lab: LabCluster) -> str:
    """The seed's last step: check_failover.sh on the backup with the main's eth2 address."""
    return ok(lab, "backup", f"cd /opt/playout/bin && ./check_failover.sh {MAIN_ETH2}")


@pytest.fixture
def prepared(fresh: LabCluster) -> LabCluster:
    """A fresh lab after every database step of the seed, without check_failover.sh."""
    database_steps(fresh)
    return fresh


@pytest.fixture
def every_step(prepared: LabCluster) -> LabCluster:
    """A fresh lab after every step of the seed."""
    check_failover(prepared)
    return prepared


def test_without_check_failover_copy_config_returns_127(prepared: LabCluster) -> None:
    lines = assert_failure(prepared, "Checking failover on slave... returned 127")
    assert lines[0] == "warning: no managers specified"
    assert "Checking if replication is in progress..." in lines
    assert "Starting at " in "\n".join(lines)


def test_check_failover_on_backup_prints_the_seed_lines(prepared: LabCluster) -> None:
    assert check_failover(prepared).splitlines() == [
        "./check_failover.sh: warning: no managers specified",
        "autoupdate inactive: 1",
        f"/opt/playout/bin/check_peer_status.sh: peer host is {MAIN_ETH2}",
        "Peer active",
    ]


@pytest.mark.parametrize("server", ["backup", "main"])
def test_without_listen_addresses_create_replication_returns_255(
    every_step: LabCluster, server: str
) -> None:
    set_listen_addresses(every_step, server, "localhost")
    assert_failure(every_step, "Create replication system... returned 255")


def test_without_pg_hba_entry_create_replication_returns_255(every_step: LabCluster) -> None:
    remove_pg_hba(every_step, "backup", MAIN_ETH2)
    assert_failure(every_step, "Create replication system... returned 255")
    log = ok(every_step, "main", "cat /var/log/playout-copy-config.log")
    assert "no pg_hba.conf entry" in log


def test_without_port_5432_open_create_replication_returns_255(every_step: LabCluster) -> None:
    ok(
        every_step,
        "backup",
        "firewall-cmd --permanent --zone=public --remove-port=5432/tcp && firewall-cmd --reload",
    )
    assert_failure(every_step, "Create replication system... returned 255")


def test_without_root_key_the_failover_check_fails(every_step: LabCluster) -> None:
    ok(every_step, "backup", ": > /root/.ssh/authorized_keys")
    log = every_step.servers["main"].path("/var/log/playout-copy-config.log")
    log.write_text("")
    # ssh -o BatchMode=yes cannot log in and exits with its own status, 255
    assert_failure(every_step, "Checking failover on slave... returned 255")
    # The log tells a key problem from a failover problem: ssh's own words.
    text = log.read_text()
    assert f"root@{BACKUP_ETH2}: Permission denied (publickey," in text, text
    assert re.search(
        rf"ssh root@{re.escape(BACKUP_ETH2)} failed \(ssh exit 255\): .*Permission denied "
        r"\(publickey,",
        text,
    ), text
    assert "Checking failover on slave... returned 255" in text


def test_every_step_done_copy_config_replicates(every_step: LabCluster) -> None:
    lab = every_step
    ok(
        lab,
        "backup",
        "psql -U postgres -d playout -c \"update ts_outputs set name = 'backup own output'\" "
        "&& rm -rf /opt/playout/data/av/*",
    )
    rc, lines = copy_config(lab)
    assert rc == 0, lines
    expected = [
        "Checking if replication is in progress...",
        "Remove replication system...",
        "Export DSMCC config on secondary... returned 0",
        "Create replication system... returned 0",
        "Start slon process for Secondary",
        "Start replication... returned 0",
        "REPLICATION IS IN PROGRESS",
        "Please wait...",
        "Removing secondary old carousel files... returned 0",
        "Copying carousel files to secondary... returned 0",
        "Changing carousel files owner on secondary... returned 0",
        "Copying av files to secondary... returned 0",
        "Copying ts files to secondary... returned 0",
        "Replication completed",
        "Killall slon...",
        "Killall slon returned 0",
        "Import DSMCC config on secondary... returned 0",
        "Restart playout services on secondary... returned 0",
    ]
    positions = [lines.index(line) for line in expected]
    assert positions == sorted(positions)
    assert f"Primary host: {MAIN_ETH2}" in lines
    assert f"Secondary host: {BACKUP_ETH2}" in lines
    assert "/opt/playout/bin/replication_started.sh: Updating the replication status" in lines
    assert "/opt/playout/bin/replication_stopped.sh: Updating the replication stop time" in lines
    assert lines[-2] == "returned 0"
    assert re.match(r"Replication finished successfully at \w{3} \w{3} [ \d]\d ", lines[-1])
    on_backup = ok(
        lab,
        "backup",
        "psql -U postgres -d playout -Atc 'select name, provider from dvb_services where "
        "service_id = 5; select distinct name from ts_outputs; select count(*) from eit_event'",
    )
    events = ok(lab, "main", "psql -U postgres -d playout -Atc 'select count(*) from eit_event'")
    assert on_backup.splitlines() == ["Icareus 5|Icareus", "backup own output", events.strip()]
    checksums = "cd /opt/playout/data && find . -type f | sort | xargs sha256sum"
    assert ok(lab, "main", checksums) == ok(lab, "backup", checksums)
    assert ok(lab, "backup", "systemctl is-active playout-api.service").strip() == "active"
    for server in ("main", "backup"):  # nothing of Slony is left behind
        left = ok(
            lab,
            server,
            'psql -U postgres -d playout -Atc "select count(*) from pg_namespace where '
            "nspname = '_playout'\"; pgrep -x slon || true",
        )
        assert left.split() == ["0"]


def test_skip_while_replication_is_in_progress(every_step: LabCluster) -> None:
    ok(every_step, "main", "/opt/playout/bin/replication_started.sh")
    rc, lines = copy_config(every_step)
    assert rc != 0
    assert lines[-4:] == [
        "Skip replication: replication is already in progress",
        "You can reset the replication status by running /opt/playout/bin/replication_stopped.sh",
        "Don't reset the replication if it is still running.",
        f"After resetting replication you can run {COPY} again.",
    ]


# Playout Web Redundancy ------------------------------------------------------------------


def api(lab: LabCluster, method: str, address: str, path: str, body: Any = None) -> Any:
    argv = ["curl", "-s", "-X", method, f"http://{address}:8081{path}"]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    return json.loads(lab.operator_run(argv).stdout)


def test_web_redundancy_as_in_the_seed(fresh: LabCluster) -> None:
    lab = fresh
    write(
        lab,
        "main",
        "/opt/playout/api/config/spoolers.json",
        "[\n"
        f'  {{"name":"main","address":"{MAIN_MGMT}","type":"master"}},\n'
        f'  {{"name":"backup","address":"{BACKUP_MGMT}","type":"spooler"}}\n'
        "]\n",
    )
    write(lab, "main", "/opt/playout/api/config/replicate.conf", f"{MAIN_MGMT}\n{BACKUP_MGMT}\n")
    ok(lab, "main", "systemctl restart playout-api.service && systemctl status playout-api.service")
    log = ok(lab, "main", "tail -10 /var/log/playout-api.log")
    assert (
        f'info: spoolers: [{{"name":"main","address":"{MAIN_MGMT}","type":"master"}},'
        f'{{"name":"backup","address":"{BACKUP_MGMT}","type":"spooler"}}]'
    ) in log
    assert f'info: ipAddresses: ["{MAIN_MGMT}","{BACKUP_MGMT}"]' in log
    assert log.rstrip().endswith("info: Server has started on port 8081")
    service = {"service_id": 6, "name": "Icareus 6", "provider": "Icareus"}
    added = api(lab, "POST", MAIN_MGMT, "/api/services", service)
    assert added["replicated"][0]["status"] == 201
    assert service in api(lab, "GET", BACKUP_MGMT, "/api/services")
    api(lab, "DELETE", MAIN_MGMT, "/api/services/6")
    assert service not in api(lab, "GET", BACKUP_MGMT, "/api/services")


def test_malformed_spoolers_json_keeps_the_api_down(fresh: LabCluster) -> None:
    lab = fresh
    write(
        lab,
        "backup",
        "/opt/playout/api/config/spoolers.json",
        "[\n"
        f'  {{"name":"backup","address":"{BACKUP_MGMT}","type":"master"}}\n'
        f'  {{"name":"main","address":"{MAIN_MGMT}","type":"spooler"}}\n'
        "]\n",
    )  # the comma between the objects is missing
    assert sh(lab, "backup", "systemctl restart playout-api.service").returncode != 0
    state = sh(lab, "backup", "systemctl is-active playout-api.service").stdout.strip()
    assert state in ("failed", "inactive")
    log = ok(lab, "backup", "tail -5 /var/log/playout-api.log")
    assert (
        "error: spoolers file /opt/playout/api/config/spoolers.json is not valid JSON: "
        "Expecting ',' delimiter at line 3 column 3"
    ) in log
