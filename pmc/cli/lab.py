"""``pmc lab …``: the rehearsal lab (Linux, as root). See ``pmc/lab/README.md``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from pmc import lab, secrets
from pmc.errors import InputError, LabError, SecretStoreError
from pmc.inventory_file import save_inventory
from pmc.lab import LabCluster, attach, topology
from pmc.lab.inventory import inventory_of, secret_names, trust_host_keys
from pmc.paths import config_dir, known_hosts_path


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--id", dest="lab_id", help="lab instance id (default: $PMC_LAB_ID or pmc)")
    cmds = parser.add_subparsers(dest="lab_command", metavar="COMMAND", required=True)

    up = cmds.add_parser("up", help="start a lab (replacing a running one with the same id)")
    up.add_argument("--servers", type=int, choices=(2, 3, 4), default=2)
    up.add_argument("--state", choices=("fresh", "redundant"), default="fresh")
    up.add_argument("--seed-rows", type=int, default=300, metavar="N")
    up.add_argument("--data-mb", type=int, default=0, metavar="N")
    up.add_argument(
        "--flavor",
        choices=("debian", "rocky"),
        default="debian",
        help="debian: the lab's stand-ins (default); rocky: modelled on Playout's Rocky servers"
        " (RHEL's sshd_config.d drop-ins, postgresql.auto.conf, the real firewalld)",
    )
    up.add_argument(
        "--fleet",
        type=int,
        metavar="N",
        help="instead: N light servers in main/backup pairs (no PostgreSQL), for many clusters",
    )
    up.set_defaults(handler=_up)

    cmds.add_parser("down", help="stop the lab and remove every trace").set_defaults(handler=_down)
    cmds.add_parser("status", help="servers, addresses and services").set_defaults(handler=_status)

    ex = cmds.add_parser("exec", help="run a command in the operator's namespace")
    ex.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD …")
    ex.set_defaults(handler=_exec)

    inv = cmds.add_parser(
        "inventory",
        help="write an inventory of the lab cluster (new root passwords go to the keyring)",
    )
    inv.add_argument("--output", type=Path, help="file to write (default: in your config folder)")
    inv.add_argument(
        "--trust-host-keys",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="put the lab's host keys into PMC's known_hosts (default: on; the lab made them)",
    )
    inv.set_defaults(handler=_inventory)

    for name, helptext in (("block", "make a port unreachable"), ("unblock", "undo a block")):
        cmd = cmds.add_parser(name, help=f"{helptext} on a lab server (tests, rehearsals)")
        cmd.add_argument("server")
        cmd.add_argument("port", metavar="PORT[/udp]")
        cmd.set_defaults(handler=_block if name == "block" else _unblock)


def _store_passwords(cluster: LabCluster, passwords: dict[str, str]) -> bool:
    """Each lab server's root password into the keyring, under the names of the lab's
    inventory (:func:`pmc.lab.inventory.secret_names`)."""
    names = secret_names(cluster)
    try:
        for server, password in passwords.items():
            secrets.set_password(*names[server], password)
    except SecretStoreError as exc:
        print(f"pmc: root passwords not stored: {exc}", file=sys.stderr)
        return False
    return True


def _up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.fleet:
        cluster = lab.up(args.fleet, lab_id=args.lab_id, fleet=True)
    else:
        cluster = lab.up(
            args.servers, args.state, args.seed_rows, args.data_mb, args.lab_id, flavor=args.flavor
        )
    took = time.monotonic() - started
    count = len(cluster.servers)
    print(
        f"lab {cluster.lab_id} is up ({count} servers, {cluster.state}, {cluster.flavor},"
        f" {took:.1f} s)"
    )
    for srv in cluster.servers.values():
        eth2 = f", eth2 {srv.redundancy_address}" if srv.redundancy_address else ""
        print(f"  {srv.name:8} eth3 {srv.management_address}{eth2}")
    if _store_passwords(cluster, {n: s.root_password for n, s in cluster.servers.items()}):
        clusters = ", ".join(repr(c.name) for c in inventory_of(cluster).clusters)
        print(f"root passwords are in the keyring (cluster {clusters})")
    else:
        print("run `pmc lab inventory` once a keyring is available (it sets new passwords)")
    print("reach the servers with `pmc lab exec -- COMMAND`")
    return 0


def _down(args: argparse.Namespace) -> int:
    found = lab.down(args.lab_id)
    print("lab stopped" if found else "no lab was running")
    return 0


def _status(args: argparse.Namespace) -> int:
    info = lab.status(args.lab_id)
    if info is None:
        print("no lab is running")
        return 3
    print(f"lab {info['id']} ({info['state']}), operator {info['operator']['address']}")
    for name, srv in info["servers"].items():
        eth2 = srv.get("redundancy_address") or "-"
        services = " ".join(f"{unit}={state}" for unit, state in srv["services"].items())
        print(f"  {name:8} eth3 {srv['management_address']:15} eth2 {eth2:15} {services}")
    return 0


def _exec(args: argparse.Namespace) -> int:
    argv = list(args.argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        raise InputError("nothing to run", hint="Use: pmc lab exec -- COMMAND [ARGS…]")
    cluster = attach(args.lab_id)
    ns = topology.namespace(cluster.lab_id, "op")
    sys.stdout.flush()
    os.execvp("ip", ["ip", "netns", "exec", ns, *argv])  # noqa: S606 (argv, no shell)


def _inventory(args: argparse.Namespace) -> int:
    cluster = lab.attach(args.lab_id)
    passwords = {name: srv.set_root_password() for name, srv in cluster.servers.items()}
    if not _store_passwords(cluster, passwords):
        raise LabError(
            "the lab's root passwords could not be stored, so no inventory was written",
            hint="Unlock or start your keyring, then run `pmc lab inventory` again.",
        )
    inventory = inventory_of(cluster)
    path = args.output or config_dir() / f"lab-{cluster.lab_id}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_inventory(inventory, path)
    clusters = ", ".join(repr(c.name) for c in inventory.clusters)
    print(f"root passwords are in the keyring (cluster {clusters})", file=sys.stderr)
    if args.trust_host_keys:
        known = known_hosts_path()
        trusted = trust_host_keys(cluster, known)
        print(f"trusted the lab's host keys of {', '.join(trusted)} in {known}"
              " (--no-trust-host-keys to verify them yourself)", file=sys.stderr)  # fmt: skip
    else:
        print("host keys not trusted: PMC asks for each server's fingerprint at the first "
              "connection", file=sys.stderr)  # fmt: skip
    print(path)
    return 0


def _port(text: str) -> tuple[int, str]:
    number, _, proto = text.partition("/")
    proto = proto or "tcp"
    if not number.isdigit() or not 0 < int(number) < 65536 or proto not in ("tcp", "udp"):
        raise InputError(f"{text!r} is not a port", hint="Use e.g. 5432 or 161/udp.")
    return int(number), proto


def _block(args: argparse.Namespace) -> int:
    return _blocking(args, block=True)


def _unblock(args: argparse.Namespace) -> int:
    return _blocking(args, block=False)


def _blocking(args: argparse.Namespace, *, block: bool) -> int:
    port, proto = _port(args.port)
    cluster = lab.attach(args.lab_id)
    if args.server not in cluster.servers:
        raise InputError(
            f"no lab server {args.server!r}", hint=f"Use {', '.join(cluster.servers)}."
        )
    if block:
        cluster.block(args.server, port, proto)
    else:
        cluster.unblock(args.server, port, proto)
    print(f"{port}/{proto} {'blocked' if block else 'unblocked'} on {args.server}")
    return 0
