"""What PMC works on, whichever front end: the inventory file, the connections to its servers
(one pool, with the front end's decision about host keys PMC has not seen yet) and the job
history. The command line (:mod:`pmc.cli.common`) and the desktop app's session
(:class:`ui.session.Session`) are thin shells over one :class:`Workspace`.

One policy for problems in the inventory file:

- :meth:`Workspace.read` reads the file as it is, problems and all: what ``pmc inventory
  validate|list|show`` show.
- Everything that acts on servers or edits the file goes through :meth:`Workspace.load`, which
  refuses a file with problems found while reading it (unknown keys, wrong types), naming every
  one (:class:`~pmc.problems.InventoryProblems`). A missing file is an empty inventory; a
  look-up in it says so.
- An edit (:meth:`Workspace.save`) is refused if it brings a problem the file did not have;
  problems the file had already do not block it (the edit may be what corrects them), nor do a
  cluster's missing servers and roles (clusters are built one server at a time).
- What an engine needs of a cluster beyond that it checks itself (setup's rules of an
  architecture, a sync's schedule).

Secrets go to the OS keyring before the inventory names the server, and leave it after the
inventory no longer does (:meth:`Workspace.store_server`, :meth:`Workspace.forget_secrets`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from pmc import secrets
from pmc.errors import InputError, SecretStoreError
from pmc.inventory import AuthMethod, Cluster, Inventory, Server
from pmc.inventory_file import LoadedInventory, load_inventory, save_inventory
from pmc.problems import InventoryProblems, sort_problems
from pmc.remote.connection import Connection
from pmc.remote.pool import ConnectionPool
from pmc.store import Store
from pmc.validation import validate_inventory

log = logging.getLogger(__name__)

NO_TRANSPORT = "PMC has no SSH transport in this session"


def secret_kind(auth: AuthMethod) -> secrets.SecretKind:
    """The keyring secret a login method needs: a key's passphrase, or the SSH password."""
    if auth is AuthMethod.KEY:
        return secrets.SecretKind.KEY_PASSPHRASE
    return secrets.SecretKind.SSH_PASSWORD


class Workspace:
    """The inventory at ``inventory_path``, the pool and the store of one front end.

    The pool and the store are either given (``pool``, ``store``: their owner closes them) or
    made on first use (``make_pool``, ``open_store``: :meth:`close` closes them, and a later use
    makes new ones — a command line runs each job on an event loop of its own)."""

    def __init__(
        self,
        inventory_path: Path,
        *,
        pool: ConnectionPool | None = None,
        make_pool: Callable[[], ConnectionPool] | None = None,
        store: Store | None = None,
        open_store: Callable[[], Store] | None = None,
    ) -> None:
        self.path = inventory_path
        self._given_pool = pool
        self._make_pool = make_pool
        self._made_pool: ConnectionPool | None = None
        self._given_store = store
        self._open_store = open_store
        self._opened_store: Store | None = None
        self._loaded: LoadedInventory | None = None

    # the inventory ------------------------------------------------------------------------
    def read(self) -> LoadedInventory:
        """The file as it is, with the problems found while reading it (missing: empty)."""
        return load_inventory(self.path, missing_ok=True)

    def load(self) -> Inventory:
        """Read the file again, refusing it if reading found problems (see the module)."""
        loaded = self.read()
        if loaded.problems:
            raise InventoryProblems(str(self.path), sort_problems(loaded.problems))
        self._loaded = loaded
        return loaded.inventory

    @property
    def inventory(self) -> Inventory:
        """The inventory :meth:`load` read last (empty before it ran)."""
        return self._loaded.inventory if self._loaded is not None else Inventory()

    @property
    def exists(self) -> bool:
        """Whether the file was there when it was read last."""
        return self._loaded is not None and self._loaded.exists

    def _current(self) -> Inventory:
        return self.inventory if self._loaded is not None else self.load()

    def _see_list(self) -> str:
        if self._loaded is not None and not self._loaded.exists:
            return (
                "The file does not exist: check its name, or add a server with "
                "`pmc inventory add-server`."
            )
        return "See `pmc inventory list`."

    def cluster(self, name: str) -> Cluster:
        """The cluster called ``name``; InputError naming the clusters there are if none is."""
        inventory = self._current()
        try:
            return inventory.cluster(name)
        except KeyError:
            known = ", ".join(c.name for c in inventory.clusters) or "none"
            raise InputError(
                f"there is no cluster {name!r} in the inventory (clusters: {known})",
                where=str(self.path),
                hint=self._see_list(),
            ) from None

    def server(self, ref: str) -> tuple[Cluster, Server]:
        """The server ``ref`` names, with its cluster: ``cluster/server``, or a server name
        that is unique in the inventory; InputError if there is none or more than one."""
        found = self._current().matching_servers(ref)
        if not found:
            raise InputError(
                f"there is no server {ref!r} in the inventory",
                where=str(self.path),
                hint=self._see_list(),
            )
        if len(found) > 1:
            names = ", ".join(f"{c.name}/{s.name}" for c, s in found)
            raise InputError(
                f"{ref!r} is ambiguous ({names})",
                where=str(self.path),
                hint="Name it as cluster/server.",
            )
        return found[0]

    # edits --------------------------------------------------------------------------------
    def check(self, inventory: Inventory, *, refused: str = "the change was refused") -> None:
        """Refuse ``inventory`` (InventoryProblems, the new problems listed) if it has problems
        that the inventory read last did not have; see the module."""
        before = {p.message for p in validate_inventory(self._current(), allow_incomplete=True)}
        introduced = [
            p
            for p in validate_inventory(inventory, allow_incomplete=True)
            if p.message not in before
        ]
        if introduced:
            raise InventoryProblems(str(self.path), introduced, refused=refused)

    def save(self, inventory: Inventory, *, refused: str = "the change was refused") -> None:
        """Write ``inventory`` to the file (comments kept, atomically), then read it again.
        Refused, with nothing written, if the file on disk has problems or the change brings
        new ones (:meth:`check`), or if another PMC (or an editor) changed it since this
        workspace read it: ``inventory`` was made from what it read, and would undo that."""
        seen = self._loaded
        self.load()
        if seen is not None and self.inventory != seen.inventory:
            raise self._changed_elsewhere("the inventory")
        self.check(inventory, refused=refused)
        save_inventory(inventory, self.path)
        self.load()

    def import_clusters(self, path: Path) -> list[str]:
        """Add the clusters of the inventory file at ``path`` (written by PMC elsewhere) to
        this one; their names. Refused, with nothing written, if that file has problems or
        names a cluster this inventory already has."""
        loaded = load_inventory(path)
        if loaded.problems:
            raise InventoryProblems(str(path), sort_problems(loaded.problems))
        if not loaded.inventory.clusters:
            raise InputError("the file holds no cluster", where=str(path))
        ours = {c.name for c in self._current().clusters}
        taken = sorted(c.name for c in loaded.inventory.clusters if c.name in ours)
        if taken:
            raise InputError(
                f"this inventory already has a cluster called {', '.join(map(repr, taken))}",
                where=str(path),
                hint="Rename the cluster in one of the two files, then import again.",
            )
        merged = self._current()
        for cluster in loaded.inventory.clusters:
            merged = merged.with_cluster(cluster)
        self.save(merged, refused=f"the clusters of {path} were not added")
        return [c.name for c in loaded.inventory.clusters]

    def _changed_elsewhere(self, what: str) -> InputError:
        return InputError(
            f"{what} was changed by another PMC or in an editor since this one read it; your"
            " change was not saved",
            where=str(self.path),
            hint="Look at the inventory as it is now, then make the change again",
        )

    def _with_cluster(self, cluster: Cluster, replacing: str) -> Inventory:
        """The inventory as the file has it NOW, with ``cluster`` in place of ``replacing``:
        what other PMCs changed meanwhile stays, unless they changed that very cluster
        (refused: ``cluster`` was made from what this workspace read)."""
        seen = self._current()
        fresh = self.load()
        if _named(seen, replacing) != _named(fresh, replacing):
            raise self._changed_elsewhere(f"cluster {replacing!r}")
        return fresh.with_cluster(cluster, replacing=replacing)

    def replace_cluster(self, cluster: Cluster, *, replacing: str | None = None) -> None:
        """Save the inventory with ``cluster`` in place of the cluster called ``replacing``
        (default: its own name; a rename gives the old one), or added if there is none."""
        self.save(self._with_cluster(cluster, replacing or cluster.name))

    def store_server(
        self,
        cluster: Cluster,
        server: Server,
        *,
        old: Server | None = None,
        secret: str | None = None,
        forget: bool = False,
        refused: str = "the change was refused",
    ) -> Inventory:
        """Put ``server`` into ``cluster`` (in place of ``old``, or added), keyring first:
        ``secret`` is stored as what its login method needs; without one, a renamed server's
        secrets move to its new name, or ``old``'s are deleted (``forget``). A refused change
        touches neither the keyring nor the file; if the file cannot be written, the secret
        just stored is deleted again. Returns the inventory saved."""
        kept = tuple(s for s in cluster.servers if old is None or s.name != old.name)
        changed = dataclasses.replace(cluster, servers=(*kept, server))
        if old is not None and cluster.active == old.name:  # a renamed active server
            changed = dataclasses.replace(changed, active=server.name)
        updated = self._with_cluster(changed, cluster.name)
        self.check(updated, refused=refused)
        kind = secret_kind(server.auth)
        if forget and old is not None:
            secrets.forget_server(cluster.name, old.name)
        if secret:
            secrets.set_secret(kind, cluster.name, server.name, secret)
        elif old is not None and old.name != server.name and not forget:
            for each in secrets.SecretKind:
                value = secrets.get_secret(each, cluster.name, old.name)
                if value:
                    secrets.set_secret(each, cluster.name, server.name, value)
            secrets.forget_server(cluster.name, old.name)
        try:
            self.save(updated, refused=refused)
        except BaseException:
            if secret:
                try:
                    secrets.delete_secret(kind, cluster.name, server.name)
                except SecretStoreError as exc:  # the error that stopped the save matters more
                    log.warning("the secret of %s could not be deleted again: %s", server.name, exc)
            raise
        return updated

    def forget_secrets(self, cluster: str, servers: Iterable[Server]) -> list[str]:
        """Delete the keyring secrets of ``servers`` (no longer in the inventory); what could
        not be deleted, a sentence each (a server that logs in by ssh-agent kept none)."""
        failed: list[str] = []
        for server in servers:
            try:
                secrets.forget_server(cluster, server.name)
            except SecretStoreError as exc:
                if server.auth is not AuthMethod.AGENT:
                    failed.append(
                        f"the secrets of server {server.name!r} (cluster {cluster!r}) could"
                        f" not be deleted: {exc}"
                    )
        return failed

    # connections and history --------------------------------------------------------------
    @property
    def connects(self) -> bool:
        """Whether this workspace can talk to servers at all."""
        return self._given_pool is not None or self._make_pool is not None

    @property
    def pool(self) -> ConnectionPool:
        """The connection pool (made now if it is made on use); RuntimeError if none."""
        if self._given_pool is not None:
            return self._given_pool
        if self._made_pool is None:
            if self._make_pool is None:
                raise RuntimeError(NO_TRANSPORT)
            self._made_pool = self._make_pool()
        return self._made_pool

    def connection(self, cluster: Cluster, server: Server) -> Connection:
        return self.pool.connection(server, cluster.name)

    def connections(self, cluster: Cluster) -> dict[str, Connection]:
        """The connection to every server of ``cluster``, by server name."""
        return {s.name: self.connection(cluster, s) for s in cluster.servers}

    @property
    def store(self) -> Store | None:
        """The job history and audit log (None: this front end keeps none)."""
        if self._given_store is not None:
            return self._given_store
        if self._opened_store is None and self._open_store is not None:
            self._opened_store = self._open_store()
        return self._opened_store

    async def close(self) -> None:
        """Close the pool and the store this workspace made (a later use makes new ones)."""
        pool, self._made_pool = self._made_pool, None
        store, self._opened_store = self._opened_store, None
        if pool is not None:
            await pool.close()
        if store is not None:
            store.close()


def _named(inventory: Inventory, name: str) -> Cluster | None:
    return next((c for c in inventory.clusters if c.name == name), None)
