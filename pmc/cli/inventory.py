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

from pmc import secrets
from pmc.cli import EXIT_FAILED, EXIT_OK
from pmc.errors import InputError, SecretStoreError
from pmc.inventory import Architecture, AuthMethod, Cluster, Inventory, Role, Server
from pmc.inventory_file import LoadedInventory, load_inventory, save_inventory
from pmc.inventory_rules import ONE_MAIN_ONE_BACKUP
from pmc.paths import default_inventory_path
from pmc.problems import Problem
from pmc.validation import validate, validate_inventory


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "inventory",
        help="clusters and servers PMC manages",
        description="Check, list and edit the inventory (a TOML file; see --inventory).",
    )
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


def _path(args: argparse.Namespace) -> Path:
    given: str | None = getattr(args, "inventory", None)
    return Path(given) if given else default_inventory_path()


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def _load_for_edit(path: Path) -> LoadedInventory:
    loaded = load_inventory(path, missing_ok=True)
    if loaded.problems:
        _print_problems(list(loaded.problems))
        raise InputError(
            "the inventory has errors PMC cannot correct for you; nothing was changed",
            where=str(path),
            hint="Correct the lines above in the file, then try again.",
        )
    return loaded


def _check_change(loaded: LoadedInventory, inventory: Inventory, refused: str) -> None:
    """Refuse ``inventory`` if it has problems that the file did not have already.

    Problems the file had before do not block an edit (it may be the edit that fixes them);
    neither do a cluster's missing servers or roles, since clusters are built one server at
    a time.
    """
    before = {p.message for p in validate_inventory(loaded.inventory, allow_incomplete=True)}
    introduced = [
        p for p in validate_inventory(inventory, allow_incomplete=True) if p.message not in before
    ]
    if introduced:
        _print_problems(introduced)
        raise InputError(
            f"{refused}; nothing was changed",
            where=str(loaded.path),
            hint="Correct the input above and try again.",
        )


def _save_checked(loaded: LoadedInventory, inventory: Inventory) -> None:
    _check_change(loaded, inventory, "the change was refused")
    save_inventory(inventory, loaded.path)


def _find_cluster(inventory: Inventory, name: str, path: Path) -> Cluster:
    try:
        return inventory.cluster(name)
    except KeyError:
        known = ", ".join(c.name for c in inventory.clusters) or "none yet"
        raise InputError(
            f"there is no cluster {name!r} (clusters: {known})", where=str(path)
        ) from None


def _replace_cluster(inventory: Inventory, cluster: Cluster) -> Inventory:
    clusters = [cluster if c.name == cluster.name else c for c in inventory.clusters]
    if cluster.name not in {c.name for c in inventory.clusters}:
        clusters.append(cluster)
    return Inventory(tuple(clusters))


def _notes(inventory: Inventory, cluster_name: str) -> None:
    """Say what a cluster still lacks (not an error while it is being built)."""
    for problem in validate_inventory(inventory):
        if problem.cluster == cluster_name:
            print(f"note: {problem.message}", file=sys.stderr)


# ------------------------------------------------------------------------------- handlers


def _validate(args: argparse.Namespace) -> int:
    path = Path(args.file) if args.file else _path(args)
    loaded = load_inventory(path)
    problems = validate(loaded)
    for problem in problems:
        print(problem)
    if problems:
        count = len(problems)
        print(f"{path}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return EXIT_FAILED
    servers = sum(len(c.servers) for c in loaded.inventory.clusters)
    print(f"{path}: valid ({len(loaded.inventory.clusters)} clusters, {servers} servers)")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    path = _path(args)
    loaded = load_inventory(path, missing_ok=True)
    if not loaded.inventory.clusters:
        print(f"No clusters in {path} yet; add one with `pmc inventory add-server`.")
        return EXIT_OK
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
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    path = _path(args)
    loaded = load_inventory(path, missing_ok=args.cluster is None)
    clusters = loaded.inventory.clusters
    if args.cluster is not None:
        clusters = (_find_cluster(loaded.inventory, args.cluster, path),)
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
    return EXIT_OK


def _add_cluster(args: argparse.Namespace) -> int:
    path = _path(args)
    loaded = _load_for_edit(path)
    if args.name in {c.name for c in loaded.inventory.clusters}:
        raise InputError(f"there is a cluster {args.name!r} already", where=str(path))
    cluster = Cluster(name=args.name, architecture=Architecture(args.architecture))
    inventory = _replace_cluster(loaded.inventory, cluster)
    _save_checked(loaded, inventory)
    print(f"Added cluster {cluster.name!r} ({cluster.architecture.title}) to {path}.")
    return EXIT_OK


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
    path = _path(args)
    loaded = _load_for_edit(path)
    inventory = loaded.inventory
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
    cluster = dataclasses.replace(cluster, servers=(*cluster.servers, server))
    updated = _replace_cluster(inventory, cluster)
    _check_change(loaded, updated, "the server was not added")
    secret = _read_secret(args, auth)
    kind = (
        secrets.SecretKind.SSH_PASSWORD
        if auth is AuthMethod.PASSWORD
        else secrets.SecretKind.KEY_PASSPHRASE
    )
    if secret is not None:
        secrets.set_secret(kind, cluster.name, server.name, secret)
    try:
        save_inventory(updated, path)
    except BaseException:
        if secret is not None:
            try:
                secrets.delete_secret(kind, cluster.name, server.name)
            except SecretStoreError as exc:
                print(f"pmc: warning: {exc}", file=sys.stderr)
        raise
    stored = f"; its {kind.label} is in the OS keyring" if secret is not None else ""
    print(f"Added server {server.name!r} to cluster {cluster.name!r} in {path}{stored}.")
    _notes(updated, cluster.name)
    return EXIT_OK


def _forget(servers: list[tuple[str, Server]]) -> int:
    status = EXIT_OK
    for cluster_name, server in servers:
        try:
            secrets.forget_server(cluster_name, server.name)
        except SecretStoreError as exc:
            if server.auth is AuthMethod.AGENT:
                continue  # no secrets were kept for it
            print(
                f"pmc: the secrets of server {server.name!r} (cluster {cluster_name!r}) could"
                f" not be deleted: {exc}",
                file=sys.stderr,
            )
            status = EXIT_FAILED
    return status


def _remove_server(args: argparse.Namespace) -> int:
    path = _path(args)
    loaded = _load_for_edit(path)
    cluster = _find_cluster(loaded.inventory, args.cluster, path)
    try:
        server = cluster.server(args.name)
    except KeyError:
        known = ", ".join(s.name for s in cluster.servers) or "none"
        raise InputError(
            f"cluster {cluster.name!r} has no server {args.name!r} (servers: {known})",
            where=str(path),
        ) from None
    remaining = tuple(s for s in cluster.servers if s.name != server.name)
    updated = _replace_cluster(loaded.inventory, dataclasses.replace(cluster, servers=remaining))
    _save_checked(loaded, updated)
    print(f"Removed server {server.name!r} from cluster {cluster.name!r} in {path}.")
    status = _forget([(cluster.name, server)])
    _notes(updated, cluster.name)
    return status


def _remove_cluster(args: argparse.Namespace) -> int:
    path = _path(args)
    loaded = _load_for_edit(path)
    cluster = _find_cluster(loaded.inventory, args.name, path)
    updated = Inventory(tuple(c for c in loaded.inventory.clusters if c.name != cluster.name))
    _save_checked(loaded, updated)
    print(f"Removed cluster {cluster.name!r} and its {len(cluster.servers)} servers from {path}.")
    return _forget([(cluster.name, server) for server in cluster.servers])
