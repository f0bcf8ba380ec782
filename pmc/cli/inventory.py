"""``pmc inventory …``: check, list and edit the clusters and servers PMC manages.

Every edit validates the result before it writes anything: bad input exits 2 and leaves the
file as it was. Passwords go to the OS keyring only (:mod:`pmc.secrets`), never to the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import sys
from pathlib import Path

from pmc.cli.common import ExitCode, workspace_of
from pmc.errors import InputError
from pmc.inventory import Architecture, AuthMethod, Cluster, Inventory, Role, Server
from pmc.inventory_file import load_inventory
from pmc.inventory_rules import ONE_MAIN_ONE_BACKUP
from pmc.validation import validate, validate_inventory
from pmc.workspace import Workspace, secret_kind


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = "Check, list and edit the inventory (a TOML file; see --inventory)."
    actions = parser.add_subparsers(dest="inventory_action", metavar="ACTION", required=True)

    check = actions.add_parser(
        "validate",
        help="check the inventory file",
        description="Exit 0 when valid; else 1 and one FILE:LINE: message per problem; 2 if"
        " the file cannot be read.",
    )
    check.add_argument(
        "file", nargs="?", metavar="FILE", help="file to check (default: --inventory)"
    )
    check.set_defaults(handler=_validate)

    listing = actions.add_parser("list", help="one line per server")
    listing.set_defaults(handler=_list)

    show = actions.add_parser("show", help="details of one cluster or of all")
    show.add_argument("cluster", nargs="?", metavar="CLUSTER")
    show.set_defaults(handler=_show)

    add_cluster = actions.add_parser("add-cluster", help="add an empty cluster")
    add_cluster.add_argument("--name", required=True)
    add_cluster.add_argument(
        "--architecture", choices=[a.value for a in Architecture], default="combined"
    )
    add_cluster.set_defaults(handler=_add_cluster)

    remove_cluster = actions.add_parser(
        "remove-cluster", help="remove a cluster, its servers and their secrets"
    )
    remove_cluster.add_argument("name", metavar="CLUSTER")
    remove_cluster.set_defaults(handler=_remove_cluster)

    add = actions.add_parser(
        "add-server",
        help="add a server (and its cluster if new)",
        description="The SSH password (auth password) or key passphrase (auth key) goes to the"
        " OS keyring only. It is read from standard input with --password-stdin, else asked"
        " for on the terminal.",
    )
    add.add_argument("--cluster", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--management", required=True, metavar="ADDRESS", help="eth3 address")
    add.add_argument("--redundancy", metavar="ADDRESS", help="eth2 address")
    add.add_argument("--role", choices=[r.value for r in Role], help="default: what is missing")
    add.add_argument("--port", type=int, default=22, help="SSH port (default 22)")
    add.add_argument("--user", default="root", help="SSH user (default root)")
    add.add_argument("--auth", choices=[a.value for a in AuthMethod])
    add.add_argument("--key-file", metavar="FILE", help="private key (with --auth key)")
    add.add_argument(
        "--architecture",
        choices=[a.value for a in Architecture],
        help="for a new cluster (default combined)",
    )
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password (or key passphrase) from the first line of standard input",
    )
    add.set_defaults(handler=_add_server)

    remove = actions.add_parser("remove-server", help="remove a server and its secrets")
    remove.add_argument("--cluster", required=True)
    remove.add_argument("--name", required=True)
    remove.set_defaults(handler=_remove_server)


# -------------------------------------------------------------------------------- helpers


def _notes(inventory: Inventory, cluster_name: str) -> None:
    """Say what a cluster still lacks (not an error while it is being built)."""
    for problem in validate_inventory(inventory):
        if problem.cluster == cluster_name:
            print(f"note: {problem.message}", file=sys.stderr)


def _forget(workspace: Workspace, cluster: str, servers: list[Server]) -> int:
    failed = workspace.forget_secrets(cluster, servers)
    for sentence in failed:
        print(f"pmc: {sentence}", file=sys.stderr)
    return ExitCode.FAILED if failed else ExitCode.OK


# ------------------------------------------------------------------------------- handlers


def _validate(args: argparse.Namespace) -> int:
    path = Path(args.file) if args.file else workspace_of(args).path
    loaded = load_inventory(path)
    problems = validate(loaded)
    for problem in problems:
        print(problem)
    if problems:
        count = len(problems)
        print(f"{path}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return ExitCode.FAILED
    servers = sum(len(c.servers) for c in loaded.inventory.clusters)
    print(f"{path}: valid ({len(loaded.inventory.clusters)} clusters, {servers} servers)")
    return ExitCode.OK


def _list(args: argparse.Namespace) -> int:
    workspace = workspace_of(args)
    path = workspace.path
    loaded = workspace.read()
    if not loaded.inventory.clusters:
        print(f"No clusters in {path} yet; add one with `pmc inventory add-server`.")
        return ExitCode.OK
    rows = [("CLUSTER", "ARCHITECTURE", "SERVER", "ROLE", "MANAGEMENT", "REDUNDANCY", "SSH")]
    for cluster in loaded.inventory.clusters:
        for server in cluster.servers or (None,):
            if server is None:
                rows.append((cluster.name, cluster.architecture.value, "-", "", "", "", ""))
                continue
            rows.append(
                (
                    cluster.name,
                    cluster.architecture.value,
                    server.name,
                    server.role.value,
                    server.management_address,
                    server.redundancy_address or "-",
                    f"{server.ssh_user}, port {server.ssh_port}, {server.auth.value}",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return ExitCode.OK


def _show(args: argparse.Namespace) -> int:
    workspace = workspace_of(args)
    path = workspace.path
    loaded = workspace.read()
    clusters = loaded.inventory.clusters
    if args.cluster is not None:
        clusters = (workspace.cluster(args.cluster),)
    if not clusters:
        print(f"No clusters in {path} yet.")
    for cluster in clusters:
        arch = cluster.architecture
        print(
            f"cluster {cluster.name}: {arch.title} ({arch.value}), {len(cluster.servers)} servers"
        )
        for server in cluster.servers:
            print(f"  server {server.name} ({server.role.value})")
            print(f"    management address  {server.management_address} (eth3)")
            print(f"    redundancy address  {server.redundancy_address or '-'} (eth2)")
            access = {
                AuthMethod.PASSWORD: "password in the OS keyring",
                AuthMethod.KEY: f"key {server.key_file or '?'}",
                AuthMethod.AGENT: "ssh-agent",
            }[server.auth]
            print(f"    SSH                 {server.ssh_user}, port {server.ssh_port}, {access}")
            for name, value in server.layout_overrides.items():
                print(f"    layout              {name} = {value}")
    problems = validate(loaded) if loaded.exists else []
    if problems:
        print(
            f"{len(problems)} problems; run `pmc inventory validate {path}` for the list",
            file=sys.stderr,
        )
    return ExitCode.OK


def _add_cluster(args: argparse.Namespace) -> int:
    workspace = workspace_of(args)
    path = workspace.path
    if args.name in {c.name for c in workspace.load().clusters}:
        raise InputError(f"there is a cluster {args.name!r} already", where=str(path))
    cluster = Cluster(name=args.name, architecture=Architecture(args.architecture))
    workspace.replace_cluster(cluster)
    print(f"Added cluster {cluster.name!r} ({cluster.architecture.title}) to {path}.")
    return ExitCode.OK


def _default_role(cluster: Cluster) -> Role:
    if cluster.architecture is Architecture.ADMIN_PLAYER:
        return Role.PLAYER if cluster.by_role(Role.ADMIN) else Role.ADMIN
    if cluster.architecture in ONE_MAIN_ONE_BACKUP or cluster.architecture is Architecture.MANUAL:
        return Role.BACKUP if cluster.by_role(Role.MAIN) else Role.MAIN
    return Role.MAIN


def _read_secret(args: argparse.Namespace, auth: AuthMethod) -> str | None:
    if auth is AuthMethod.AGENT:
        if args.password_stdin:
            raise InputError("--password-stdin does not apply to --auth agent")
        return None
    what = "SSH password" if auth is AuthMethod.PASSWORD else "key passphrase"
    if args.password_stdin:
        line = sys.stdin.readline()
        secret = line.removesuffix("\n").removesuffix("\r")
        if not secret:
            raise InputError(f"no {what} on standard input; nothing was changed")
        return secret
    if auth is AuthMethod.KEY:
        return None  # an unencrypted key, or one the agent will unlock
    if not sys.stdin.isatty():
        raise InputError(
            f"no terminal to ask for the {what}; nothing was changed",
            hint="Pass it on standard input with --password-stdin.",
        )
    first = getpass.getpass(f"{what} for {args.user}@{args.management}: ")
    second = getpass.getpass(f"{what} again: ")
    if first != second:
        raise InputError(f"the two {what}s differ; nothing was changed")
    if not first:
        raise InputError(f"the {what} is empty; nothing was changed")
    return first


def _add_server(args: argparse.Namespace) -> int:
    workspace = workspace_of(args)
    path = workspace.path
    inventory = workspace.load()
    try:
        cluster = inventory.cluster(args.cluster)
    except KeyError:
        cluster = Cluster(
            name=args.cluster, architecture=Architecture(args.architecture or "combined")
        )
    else:
        if args.architecture and Architecture(args.architecture) is not cluster.architecture:
            raise InputError(
                f"cluster {cluster.name!r} has architecture {cluster.architecture.value!r},"
                f" not {args.architecture!r}; nothing was changed",
                where=str(path),
            )
    if args.name in {s.name for s in cluster.servers}:
        raise InputError(
            f"cluster {cluster.name!r} has a server {args.name!r} already; nothing was changed",
            where=str(path),
            hint="Remove it first with `pmc inventory remove-server`, or pick another name.",
        )
    auth = (
        AuthMethod(args.auth)
        if args.auth
        else (AuthMethod.KEY if args.key_file else AuthMethod.PASSWORD)
    )
    server = Server(
        name=args.name,
        management_address=args.management,
        redundancy_address=args.redundancy,
        role=Role(args.role) if args.role else _default_role(cluster),
        ssh_port=args.port,
        ssh_user=args.user,
        auth=auth,
        key_file=args.key_file,
    )
    refused = "the server was not added"
    added = dataclasses.replace(cluster, servers=(*cluster.servers, server))
    workspace.check(inventory.with_cluster(added), refused=refused)  # before asking for a secret
    secret = _read_secret(args, auth)
    updated = workspace.store_server(cluster, server, secret=secret, refused=refused)
    stored = f"; its {secret_kind(auth).label} is in the OS keyring" if secret is not None else ""
    print(f"Added server {server.name!r} to cluster {cluster.name!r} in {path}{stored}.")
    _notes(updated, cluster.name)
    return ExitCode.OK


def _remove_server(args: argparse.Namespace) -> int:
    workspace = workspace_of(args)
    cluster = workspace.cluster(args.cluster)
    try:
        server = cluster.server(args.name)
    except KeyError:
        known = ", ".join(s.name for s in cluster.servers) or "none"
        raise InputError(
            f"cluster {cluster.name!r} has no server {args.name!r} (servers: {known})",
            where=str(workspace.path),
        ) from None
    remaining = tuple(s for s in cluster.servers if s.name != server.name)
    workspace.replace_cluster(dataclasses.replace(cluster, servers=remaining))
    print(f"Removed server {server.name!r} from cluster {cluster.name!r} in {workspace.path}.")
    status = _forget(workspace, cluster.name, [server])
    _notes(workspace.inventory, cluster.name)
    return status


def _remove_cluster(args: argparse.Namespace) -> int:
    workspace = workspace_of(args)
    cluster = workspace.cluster(args.name)
    workspace.save(workspace.inventory.without_cluster(cluster.name))
    print(
        f"Removed cluster {cluster.name!r} and its {len(cluster.servers)} servers from"
        f" {workspace.path}."
    )
    return _forget(workspace, cluster.name, list(cluster.servers))
