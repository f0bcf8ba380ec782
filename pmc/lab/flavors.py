"""Lab flavours: what differs between a ``debian`` lab server (the README demo's, with the
lab's firewalld stand-in) and a ``rocky`` one, modelled on the Rocky Linux servers Playout runs
on (the vendor's manual builds on its "Rocky 8 Operating System Configuration").

``rocky`` differs where PMC was once silently wrong about the configuration a daemon really
uses:

- sshd: RHEL's ``sshd_config`` whose first directive is ``Include
  /etc/ssh/sshd_config.d/*.conf``, every other value left commented; the drop-ins RHEL ships
  (``50-redhat.conf``, itself including the crypto policy's file) and the one its installer
  writes when root may log in with a password (``01-permitrootlogin.conf``). Debian's
  ``sftp-server`` path, the binary this machine has.
- PostgreSQL: ``postgresql.auto.conf`` in the data folder as initdb writes it (what ``ALTER
  SYSTEM`` edits), and RHEL's note under ``port`` in ``postgresql.conf``.
- firewalld: the REAL daemon (Debian's ``firewalld`` package) in each server, on a private
  D-Bus system bus (``/run/dbus/system_bus_socket`` in the server's private ``/run``), with
  nftables in the server's network namespace, and ``/etc/firewalld`` in the server's own
  ``/etc``.
  Zones as a fresh Rocky has them: default zone ``public`` with ``ssh``, ``cockpit`` and
  ``dhcpv6-client``, plus the ports Playout's ``setup-firewall.sh`` opens. The unit runs the
  bus and the daemon together (a restart restarts both: only firewalld uses that bus here;
  the daemon stops first, removing its rules, as ``CleanupOnExit=yes`` says).
  The real ``firewall-cmd`` answers; the lab's stand-in is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from pmc.errors import InputError, LabError
from pmc.lab import topology

FLAVORS = ("debian", "rocky")
DEFAULT = "debian"
FIREWALLD = "/usr/sbin/firewalld"
DBUS_CONFIG = "/run/pmc-lab-dbus.conf"  # in the server's private /run
FIREWALLD_START_TIMEOUT = 60.0

ROCKY_SSHD_CONFIG = """\
#	$OpenBSD: sshd_config,v 1.104 2021/07/02 05:11:21 dtucker Exp $

# This is the sshd server system-wide configuration file.  See
# sshd_config(5) for more information.

# This sshd was compiled with PATH=/usr/local/bin:/usr/bin:/usr/local/sbin:/usr/sbin

# The strategy used for options in the default sshd_config shipped with
# OpenSSH is to specify options with their default value where
# possible, but leave them commented.  Uncommented options override the
# default value.

# To modify the system-wide sshd configuration, create a  *.conf  file under
#  /etc/ssh/sshd_config.d/  which will be automatically included below
Include /etc/ssh/sshd_config.d/*.conf

# If you want to change the port on a SELinux system, you have to tell
# SELinux about this change.
# semanage port -a -t ssh_port_t -p tcp #PORTNUMBER
#
#Port 22
#AddressFamily any
#ListenAddress 0.0.0.0
#ListenAddress ::

#HostKey /etc/ssh/ssh_host_rsa_key
#HostKey /etc/ssh/ssh_host_ecdsa_key
#HostKey /etc/ssh/ssh_host_ed25519_key

# Ciphers and keying
#RekeyLimit default none

# Logging
#SyslogFacility AUTH
#LogLevel INFO

# Authentication:

#LoginGraceTime 2m
#PermitRootLogin prohibit-password
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

# Change to no to disable s/key passwords
#KbdInteractiveAuthentication yes

# GSSAPI options
#GSSAPIAuthentication no
#GSSAPICleanupCredentials yes

# Set this to 'yes' to enable PAM authentication, account processing,
# and session processing. If this is enabled, PAM authentication will
# be allowed through the KbdInteractiveAuthentication and
# PasswordAuthentication.  Depending on your PAM configuration,
# PAM authentication via KbdInteractiveAuthentication may bypass
# the setting of "PermitRootLogin without-password".
# If you just want the PAM account and session checks to run without
# PAM authentication, then enable this but set PasswordAuthentication
# and KbdInteractiveAuthentication to 'no'.
# WARNING: 'UsePAM no' is not supported in RHEL and may cause several
# problems.
#UsePAM no

#AllowAgentForwarding yes
#AllowTcpForwarding yes
#GatewayPorts no
#X11Forwarding no
#PermitTTY yes
#PrintMotd yes
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

# override default of no subsystems (the lab: Debian's path of the same program)
Subsystem	sftp	/usr/lib/openssh/sftp-server

# Example of overriding settings on a per-user basis
#Match User anoncvs
#	X11Forwarding no
#	AllowTcpForwarding no
#	PermitTTY no
#	ForceCommand cvs server
"""

REDHAT_DROP_IN = """\
# This system is following system-wide crypto policy. The changes to
# crypto properties (Ciphers, MACs, ...) will not have any effect in
# this or following included files. To override some configuration option,
# write it before this block or in a subdirectory of /etc/ssh/sshd_config.d
# starting with a number lower than 50.
Include /etc/crypto-policies/back-ends/opensshserver.config

SyslogFacility AUTHPRIV

ChallengeResponseAuthentication no

GSSAPIAuthentication yes
GSSAPICleanupCredentials no

UsePAM yes

X11Forwarding yes

# It is recommended to use pam_motd in /etc/pam.d/sshd instead of PrintMotd,
# as it is more configurable and versatile than the built-in version.
PrintMotd no
"""

# What Rocky's installer writes when the administrator allows root to log in with a password.
PERMIT_ROOT_DROP_IN = "PermitRootLogin yes\n"

SSHD_DROP_INS = {
    "01-permitrootlogin.conf": PERMIT_ROOT_DROP_IN,
    "50-redhat.conf": REDHAT_DROP_IN,
}

FIREWALLD_CONF = """\
# firewalld config file (the lab: Rocky 8's values that matter here)
DefaultZone=public
CleanupOnExit=yes
CleanupModulesOnExit=no
Lockdown=no
IPv6_rpfilter=yes
IndividualCalls=no
LogDenied=off
FirewallBackend=nftables
FlushAllOnReload=yes
RFC3964_IPv4=yes
"""

# The private system bus: no service activation (polkitd would start otherwise; without it
# firewalld authorizes root callers by their uid, as it does when polkit is absent).
DBUS_SYSTEM_CONF = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <includedir>/usr/share/dbus-1/system.d</includedir>
  <includedir>/etc/dbus-1/system.d</includedir>
</busconfig>
"""

# The firewalld unit of a rocky server: its own system bus, then the daemon. The bus runs in a
# session of its own (setsid), so that stopping the unit (SIGTERM to its process group) reaches
# firewalld first: it removes its rules (CleanupOnExit) while the bus still runs — libdbus
# makes it exit at once, rules left behind, when the bus goes first. The shell then ends the bus.
# firewalld gets that one SIGTERM only, as from systemd (KillMode=mixed in its unit): its GLib
# handler is removed once it has run, so a second SIGTERM during its clean-up kills it there,
# its table left behind (and doubled by the next start: it deletes only a table it made).
# The shell's trap therefore waits for it, and says how it ended if not cleanly.
FIREWALLD_UNIT = f"""\
rm -f /run/dbus/system_bus_socket; mkdir -p /run/dbus
setsid dbus-daemon --config-file={DBUS_CONFIG} --nofork --nopidfile & bus=$!
n=0
until [ -S /run/dbus/system_bus_socket ]; do
  n=$((n+1)); [ $n -gt 600 ] && {{ echo 'dbus-daemon did not start' >&2; kill $bus; exit 1; }}
  sleep 0.05
done
{FIREWALLD} --nofork --nopid & fw=$!
ended() {{ [ "$1" -eq 0 ] || echo "firewalld exited with status $1" >&2; }}
trap 'wait $fw; ended $?; kill -TERM $bus; wait $bus; exit 0' TERM INT
wait $fw; rc=$?; ended $rc
kill -TERM $bus; wait $bus
exit $rc
"""

# RHEL's postgresql.conf says this under port (the manual's excerpt shows it).
PG_PORT_NOTE = (
    "# Note: In RHEL/Fedora installations, you can't set the port number here;\n"
    "# adjust it in the service file instead.\n"
)


def check(flavor: str) -> None:
    """Refuse an unknown flavour, or one this machine cannot run (names what is missing)."""
    if flavor not in FLAVORS:
        raise InputError(
            f"unknown lab flavour {flavor!r}", hint="Use --flavor debian or --flavor rocky."
        )
    if flavor != "rocky":
        return
    missing = [p for p in (FIREWALLD, "/usr/bin/firewall-cmd") if not Path(p).exists()]
    missing += [p for p in ("dbus-daemon",) if shutil.which(p) is None]
    if missing:
        raise LabError(
            f"the rocky flavour needs the real firewalld: {', '.join(missing)} missing",
            hint="Install Debian's firewalld and dbus-daemon (apt-get install firewalld"
            " dbus-daemon; bash .ci/run installs them).",
        )


def zone_xml(services: tuple[str, ...], ports: tuple[str, ...]) -> str:
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<zone>",
        "  <short>Public</short>",
        "  <description>For use in public areas. You do not trust the other computers on"
        " networks to not harm your computer. Only selected incoming connections are"
        " accepted.</description>",
    ]
    lines += [f'  <service name="{s}"/>' for s in services]
    for port in ports:
        number, proto = port.split("/")
        lines.append(f'  <port port="{number}" protocol="{proto}"/>')
    lines += ["  <forward/>", "</zone>"]
    return "\n".join(lines) + "\n"


def write_tree(tree: Path, flavor: str) -> None:
    """The flavour's own files in a server's tree (after the common ones are written)."""
    if flavor != "rocky":
        return
    etc_ssh = tree / "etc/ssh"
    (etc_ssh / "sshd_config").write_text(ROCKY_SSHD_CONFIG)
    drop_ins = etc_ssh / "sshd_config.d"
    shutil.rmtree(drop_ins, ignore_errors=True)
    drop_ins.mkdir(mode=0o755)
    for name, text in SSHD_DROP_INS.items():
        (drop_ins / name).write_text(text)
        os.chmod(drop_ins / name, 0o600)
    firewalld = tree / "etc/firewalld"
    # emptied in place on a reset: the folder stays the one the running server sees
    firewalld.mkdir(parents=True, exist_ok=True)
    for entry in firewalld.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    (firewalld / "zones").mkdir(mode=0o750)
    (firewalld / "firewalld.conf").write_text(FIREWALLD_CONF)
    services = ("ssh", "dhcpv6-client", "cockpit")
    (firewalld / "zones/public.xml").write_text(zone_xml(services, topology.FRESH_FIREWALL_PORTS))
    (tree / DBUS_CONFIG.lstrip("/")).write_text(DBUS_SYSTEM_CONF)
    (tree / "usr/local/sbin/firewall-cmd").unlink(missing_ok=True)
    conf = tree / "opt/playout/db/postgresql.conf"
    text = conf.read_text()
    marker = "port = 5432"
    at = text.find("\n", text.find(marker)) + 1 if marker in text else len(text)
    conf.write_text(text[:at] + PG_PORT_NOTE + text[at:])


def firewalld_argv(flavor: str) -> list[str] | None:
    """The firewalld unit's command (None: the lab's stand-in, run by the supervisor)."""
    return ["sh", "-c", FIREWALLD_UNIT] if flavor == "rocky" else None


def firewalld_ready() -> bool:
    """Whether the real firewalld answers ``firewall-cmd --state`` with running (the
    supervisor polls this instead of a port)."""
    done = subprocess.run(
        ["firewall-cmd", "--state"], capture_output=True, text=True, check=False, timeout=30
    )
    if done.returncode == 0 and done.stdout.strip() == "running":
        return True
    time.sleep(0.2)  # a Python client per call: do not spin
    return False
