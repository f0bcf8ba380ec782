"""One lab server, seen from the host: its private tree, root password and init process.

:func:`prepare_tree` writes the files a freshly installed Rocky 8 Playout server has at the
seed's paths (the Playout programs themselves come from :mod:`pmc.lab.playout`);
:func:`start` launches the server's supervisor in its own namespaces. Root passwords are
generated here and handed back to the caller in memory only: the tree holds their hash in its
private shadow file, as a real server does, and nothing else.

Each server has its own ``/etc`` and logins: see :mod:`pmc.lab.accounts`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from pmc.errors import LabError
from pmc.lab import flavors, interpreter, postgres_template, topology
from pmc.lab.accounts import copy_machine_etc, write_accounts, write_shadow
from pmc.lab.postgres_template import run
from pmc.lab.standins.firewall_cmd import ZoneConfig

# /etc/ssh/sshd_config as Rocky 8 installs it (OpenSSH 8.0p1), with Debian's sftp-server path.
SSHD_CONFIG = """\
#	$OpenBSD: sshd_config,v 1.103 2018/04/09 20:41:22 tj Exp $

# This is the sshd server system-wide configuration file.  See
# sshd_config(5) for more information.

# The strategy used for options in the default sshd_config shipped with
# OpenSSH is to specify options with their default value where
# possible, but leave them commented.  Uncommented options override the
# default value.

#Port 22
#AddressFamily any
#ListenAddress 0.0.0.0
#ListenAddress ::

HostKey /etc/ssh/ssh_host_rsa_key
HostKey /etc/ssh/ssh_host_ecdsa_key
HostKey /etc/ssh/ssh_host_ed25519_key

# Logging
#SyslogFacility AUTH
SyslogFacility AUTHPRIV
#LogLevel INFO

# Authentication:

#LoginGraceTime 2m
PermitRootLogin yes
#StrictModes yes
#MaxAuthTries 6
#MaxSessions 10

#PubkeyAuthentication yes

# The default is to check both .ssh/authorized_keys and .ssh/authorized_keys2
# but this is overridden so installations will only check .ssh/authorized_keys
AuthorizedKeysFile	.ssh/authorized_keys

#AuthorizedPrincipalsFile none

# To disable tunneled clear text passwords, change to no here!
#PasswordAuthentication yes
#PermitEmptyPasswords no
PasswordAuthentication yes

# Change to no to disable s/key passwords
#ChallengeResponseAuthentication yes
ChallengeResponseAuthentication no

# GSSAPI options
GSSAPIAuthentication yes
GSSAPICleanupCredentials no

# Set this to 'yes' to enable PAM authentication, account processing,
# and session processing.
UsePAM yes

#AllowAgentForwarding yes
#AllowTcpForwarding yes
#GatewayPorts no
X11Forwarding yes
#PermitTTY yes

# It is recommended to use pam_motd in /etc/pam.d/sshd instead of PrintMotd,
# as it is more configurable and versatile than the built-in version.
PrintMotd no

#PrintLastLog yes
#TCPKeepAlive yes
#PermitUserEnvironment no
#Compression delayed
#ClientAliveInterval 0
#ClientAliveCountMax 3
#UseDNS no
#PidFile /var/run/sshd.pid
#MaxStartups 10:30:100
#PermitTunnel no
#ChrootDirectory none
#VersionAddendum none

# no default banner path
#Banner none

# Accept locale-related environment variables
AcceptEnv LANG LC_CTYPE LC_NUMERIC LC_TIME LC_COLLATE LC_MONETARY LC_MESSAGES
AcceptEnv LC_PAPER LC_NAME LC_ADDRESS LC_TELEPHONE LC_MEASUREMENT
AcceptEnv LC_IDENTIFICATION LC_ALL LANGUAGE
AcceptEnv XMODIFIERS

# override default of no subsystems
Subsystem	sftp	/usr/lib/openssh/sftp-server
"""


def _standin(name: str, tool: str) -> str:
    client = Path(interpreter.code_root(), "pmc/lab/standins/client.py")
    return (
        f"#!{interpreter.python()} -S\n"
        f"# The lab's {name} stand-in: asks this server's supervisor (pmc.lab.supervisor).\n"
        "import runpy, sys\n"
        f"client = runpy.run_path({str(client)!r})\n"
        f"sys.exit(client['client_main']({tool!r}, path={topology.SUPERVISOR_SOCKET!r}))\n"
    )


def _clear(folder: Path, target: str) -> None:
    """Empty ``folder`` (the host side of the server's ``target``), but keep the folders where
    the server's mount namespace binds the lab's own Python back in (a project checked out
    under /tmp, a pyenv under /root): removing them would detach those mounts inside the
    running server, and its stand-ins would lose their interpreter."""
    if not folder.is_dir():
        return
    prefix = target.rstrip("/") + "/"
    keep = {
        path[len(prefix) :].split("/", 1)[0]
        for path in interpreter.paths_to_keep()
        if path.startswith(prefix)
    }
    for entry in folder.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def prepare_tree(
    lab: str,
    spec: topology.ServerSpec,
    password: str,
    *,
    reset: bool = False,
    accounts: Mapping[str, str] | None = None,
    flavor: str = flavors.DEFAULT,
    light: bool = False,
) -> Path:
    """Create the server's private tree in its fresh state; returns its host path. With
    ``reset`` (services stopped), bring an existing tree back to fresh, keeping host keys.
    ``accounts``: passwords of the lab accounts by name (kept as they are when not given).
    ``light`` (a fleet lab): no database, an ed25519 host key only."""
    tree = topology.tree_dir(lab, spec.name)
    uid, gid = postgres_template.postgres_ids()
    if reset:
        for sub in ("opt/playout", "root/.ssh", "var/log", "tmp"):
            _clear(tree / sub, "/" + sub)
        for entry in (tree / "root").iterdir():
            if not entry.is_dir():
                entry.unlink()
    for sub, mode in (
        ("opt/playout", 0o755), ("opt/playout/.lab", 0o700), ("etc/ssh", 0o755),
        ("root", 0o550), ("root/.ssh", 0o700), ("var/log", 0o755),
        ("usr/local/sbin", 0o755), ("tmp", 0o1777), ("run", 0o755), ("run/sshd", 0o755),
        ("run/postgresql", 0o2775),
    ):  # fmt: skip
        path = tree / sub
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)
    os.chown(tree / "run/postgresql", uid, gid)
    if not reset:
        copy_machine_etc(tree / "etc")
    # SSH: the machine's client files, Rocky's server config, this server's own host keys.
    etc_ssh = tree / "etc/ssh"
    for name in ("ssh_config", "moduli"):
        if Path("/etc/ssh", name).exists():
            shutil.copy2(Path("/etc/ssh", name), etc_ssh / name)
    (etc_ssh / "sshd_config").write_text(SSHD_CONFIG)
    os.chmod(etc_ssh / "sshd_config", 0o600)
    keygens = (
        []
        if reset
        else [
            subprocess.Popen(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    kind,
                    *bits,
                    "-N",
                    "",
                    "-C",
                    f"root@{spec.name}",
                    "-f",
                    str(etc_ssh / f"ssh_host_{kind}_key"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for kind, bits in (("rsa", ["-b", "3072"]), ("ecdsa", []), ("ed25519", []))
            if not light or kind == "ed25519"
        ]
    )
    # PostgreSQL: a copy of the cached template at /opt/playout/db.
    db = tree / "opt/playout/db"
    shutil.rmtree(db, ignore_errors=True)
    if not light:
        run(
            ["cp", "-a", str(postgres_template.data_folder()), str(db)],
            what="copying the database template",
        )
        os.chmod(db, 0o700)
    if not reset:
        write_accounts(tree, spec)
    write_shadow(tree, password, accounts)
    (tree / "opt/playout/.lab/firewalld.json").write_text(ZoneConfig().to_json())
    for name, text in (
        ("systemctl", _standin("systemctl", "systemctl")),
        ("firewall-cmd", _standin("firewall-cmd", "firewall-cmd")),
    ):
        path = tree / "usr/local/sbin" / name
        path.write_text(text)
        os.chmod(path, 0o755)  # noqa: S103 (an executable, as on a real server)
    for proc in keygens:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise LabError(f"ssh-keygen failed for {spec.name}: {err.decode().strip()}")
    flavors.write_tree(tree, flavor)
    return tree


def start(
    lab: str,
    spec: topology.ServerSpec,
    tree: Path,
    log: Path,
    flavor: str = flavors.DEFAULT,
    *,
    light: bool = False,
) -> subprocess.Popen[bytes]:
    """Start the server's supervisor (PID 1 of its namespaces); returns the `ip` process.
    ``light``: without PostgreSQL (a fleet lab)."""
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/root",
        "PYTHONPATH": interpreter.code_root(),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    argv = [
        "ip", "netns", "exec", topology.namespace(lab, spec.name),
        "unshare", "--mount", "--uts", "--ipc", "--pid", "--fork", "--mount-proc",
        "--propagation", "private", "--kill-child",
        interpreter.python(), "-m", "pmc.lab.supervisor",
        "--server", spec.name, "--lab", lab, "--tree", str(tree), "--flavor", flavor,
        *(["--no-database"] if light else []),
    ]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd="/",
            start_new_session=True,
        )


def init_pid(outer_pid: int) -> int | None:
    """Host pid of the supervisor (PID 1 inside the server): the child of `unshare`."""
    try:
        children = Path(f"/proc/{outer_pid}/task/{outer_pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


PG_HBA_PEERS = (
    "host    all         all         {main}/32         trust\n"
    "host    all         all         {backup}/32         trust\n"
)


def make_redundant(trees: dict[str, Path], specs: list[topology.ServerSpec]) -> None:
    """The seed's system-level steps on main and backup: pg_hba entries for both eth2
    addresses, ``listen_addresses = '*'``, root RSA keys exchanged both ways (with known_hosts
    for the peer's addresses). PermitRootLogin yes and port 5432 are already so when fresh."""
    by_name = {s.name: s for s in specs}
    if "main" not in by_name or "backup" not in by_name:
        return
    main, backup = by_name["main"], by_name["backup"]
    peers = PG_HBA_PEERS.format(main=main.redundancy_address, backup=backup.redundancy_address)
    public: dict[str, str] = {}
    for spec in (main, backup):
        tree = trees[spec.name]
        db = tree / "opt/playout/db"
        (db / "pg_hba.conf").write_text(postgres_template.PG_HBA_FRESH + peers)
        conf = db / "postgresql.conf"
        conf.write_text(
            conf.read_text().replace(
                "listen_addresses = 'localhost'", "listen_addresses = '*'        ", 1
            )
        )
        key = tree / "root/.ssh/id_rsa"
        run(["ssh-keygen", "-q", "-t", "rsa", "-N", "", "-C", f"root@{spec.name}",
              "-f", str(key)], what="ssh-keygen for root")  # fmt: skip
        public[spec.name] = key.with_suffix(".pub").read_text()
    for spec, peer in ((main, backup), (backup, main)):
        ssh_dir = trees[spec.name] / "root/.ssh"
        auth = ssh_dir / "authorized_keys"
        auth.write_text(public[peer.name])
        os.chmod(auth, 0o600)
        host_keys = [
            (trees[peer.name] / f"etc/ssh/ssh_host_{kind}_key.pub").read_text().split()[:2]
            for kind in ("ed25519", "ecdsa", "rsa")
        ]
        lines = [
            f"{address} {kind} {blob}\n" for address in peer.addresses for kind, blob in host_keys
        ]
        (ssh_dir / "known_hosts").write_text("".join(lines))
