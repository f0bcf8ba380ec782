"""The rules an inventory must follow, with messages an operator can act on.

:func:`validate` checks a loaded file and places every :class:`Problem` at its line
(``str(problem)`` is ``FILE:LINE: message``). The GUI checks fields as the operator types with
:func:`pmc.inventory_rules.check_address` and :func:`check_server`.

Rules, and the decisions behind them:

- Addresses are strict IPv4/IPv6 (``192.168.1.018`` is an error, not 18); no host names, no
  network, multicast, broadcast or unspecified addresses. Every address belongs to one server
  in the whole inventory, and a server's management (eth3) and redundancy (eth2) addresses
  differ.
- Subnets: when the other servers of a cluster all have their management addresses in one
  ``/24`` (``/64`` for IPv6), a server outside it is flagged, naming that subnet (the seed's
  ``192.158.1.105`` among ``192.168.1.x``); the same for redundancy addresses. Only valid
  addresses count: an invalid one (``192.168.1.018``) is reported on its own line and never
  stands for a subnet. Where two valid addresses disagree, both servers are flagged, since
  either may hold the typo — unless one of them is a public Internet address and the other a
  private one: then only the public one is (``192.158.1.105`` beside ``192.168.1.110``).
- Size: at most 4 servers; at least 2, except architecture ``manual`` where one server (export
  and import of bundles) is enough.
- Roles: ``web-one-way``, ``web-symmetric``, ``database`` and ``combined`` need exactly one
  ``main`` and one ``backup`` (and no admin/player); ``database`` and ``combined`` need a
  redundancy address on every server. ``admin-player`` uses the roles ``admin`` and ``player``
  (main/backup do not fit it) and needs at least one of each. ``manual`` takes any roles.
- ``allow_incomplete=True`` (used while a cluster is built server by server) skips only the
  "too few servers" and "missing main/backup/admin/player" rules.
- SSH: port 1–65535, a plain user name, ``auth = "key"`` needs an existing ``key_file``.
- Unknown keys (typos such as ``managment_address``) and wrong types are found while reading
  the file (:mod:`pmc.inventory_file`); invalid layout overrides here.
- Sync schedule (``[clusters.sync]``): ``every_minutes`` from 1 minute to a week,
  ``check_minutes`` from 1 minute to a day; only on a cluster with a main and a backup (a sync
  copies main → backup); ``engine = "playout"`` runs copy_config.sh over eth2, so every server
  needs its redundancy_address.
"""

from __future__ import annotations

import dataclasses

from pmc.inventory import Cluster, Inventory, Server
from pmc.inventory_file import LoadedInventory
from pmc.inventory_rules import Locate, Rules
from pmc.problems import Problem, sort_problems


def _nowhere(_cluster: int, _server: int | None, _field: str | None) -> int | None:
    return None


# --------------------------------------------------------------------------------- entry points


def validate(loaded: LoadedInventory, *, allow_incomplete: bool = False) -> list[Problem]:
    """Every problem of a loaded inventory file, in line order."""

    def locate(cluster: int, server: int | None, field: str | None) -> int | None:
        key = loaded.cluster_keys[cluster]
        if server is not None:
            key = loaded.server_keys[cluster][server]
        if field:
            key = (*key, *field.split("."))
        return loaded.line_of(key)

    already = {(p.cluster, p.server, p.field) for p in loaded.problems}
    unsure_roles = frozenset(
        p.cluster for p in loaded.problems if p.field in ("role", "architecture") and p.cluster
    )
    found = validate_inventory(
        loaded.inventory,
        path=str(loaded.path),
        locate=locate,
        allow_incomplete=allow_incomplete,
        unsure_roles=unsure_roles,
    )
    problems = list(loaded.problems)
    problems += [p for p in found if (p.cluster, p.server, p.field) not in already]
    return sort_problems(problems)


def validate_inventory(
    inventory: Inventory,
    *,
    path: str = "",
    locate: Locate = _nowhere,
    allow_incomplete: bool = False,
    unsure_roles: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Every problem of ``inventory`` (a model, maybe not from a file)."""
    rules = Rules(path, locate)
    rules.inventory(inventory, allow_incomplete=allow_incomplete, unsure_roles=unsure_roles)
    return rules.problems


def check_server(
    cluster: Cluster, server: Server, *, inventory: Inventory | None = None
) -> list[Problem]:
    """Problems of ``server`` if it were in ``cluster`` (and ``inventory``): for inline hints.

    A server of ``cluster`` with the same name is taken to be the one being edited and is
    replaced. Problems of the cluster as a whole (such as too many servers) are included;
    "too few servers" and missing roles are not, since the cluster may still be growing.
    """
    others = tuple(s for s in cluster.servers if s.name != server.name)
    candidate = dataclasses.replace(cluster, servers=(*others, server))
    clusters = tuple(c for c in (inventory.clusters if inventory else ()) if c.name != cluster.name)
    problems = validate_inventory(Inventory((*clusters, candidate)), allow_incomplete=True)
    return [p for p in problems if p.cluster == cluster.name and p.server in (server.name, None)]
