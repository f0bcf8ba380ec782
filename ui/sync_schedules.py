"""Sync schedules that older PMC versions kept in QSettings, moved into the inventory.

Schedules live in the inventory now (each cluster's ``[clusters.sync]`` table, read by the
GUI, ``pmc sync schedule`` and ``pmc sync daemon`` alike). The GUI used to keep its own copy
under ``sync/schedule/<cluster>/every`` (minutes, 0 = off), ``…/on_drift``, ``…/check`` and
``…/engine``; :func:`migrate` turns those into the inventory's form once, and
:func:`forget` removes the keys afterwards. A cluster that already has a ``[clusters.sync]``
table keeps it (the inventory wins); keys of clusters the open inventory does not have stay
until an inventory with that cluster is opened.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from PySide6.QtCore import QSettings

from pmc.inventory import Inventory, SyncEngine, SyncSchedule

PREFIX = "sync/schedule"


def _group(cluster: str) -> str:
    return f"{PREFIX}/{cluster.replace('/', '_')}"


def _bool(value: object) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def saved_clusters(settings: QSettings) -> list[str]:
    """The cluster groups that have schedule keys in ``settings``."""
    settings.beginGroup(PREFIX)
    try:
        return list(settings.childGroups())
    finally:
        settings.endGroup()


def load_legacy(settings: QSettings, cluster: str) -> SyncSchedule | None:
    """The schedule QSettings holds for ``cluster`` (None: none, off, or unreadable)."""
    group = _group(cluster)
    try:
        every = float(settings.value(f"{group}/every", 0) or 0)  # type: ignore[arg-type]
        check = float(settings.value(f"{group}/check", 5) or 5)  # type: ignore[arg-type]
        engine = SyncEngine(str(settings.value(f"{group}/engine", SyncEngine.DELTA.value)))
    except (TypeError, ValueError):
        return None
    on_drift = _bool(settings.value(f"{group}/on_drift", False))
    if every <= 0 and not on_drift:
        return None
    return SyncSchedule(
        every_minutes=every if every > 0 else None,
        on_drift=on_drift,
        check_minutes=max(1.0, check),
        engine=engine,
    )


def migrate(settings: QSettings, inventory: Inventory) -> tuple[Inventory, list[str]]:
    """``inventory`` with the QSettings schedules of its clusters filled in (where the
    inventory has none), and the names of the clusters whose keys can now be forgotten."""
    saved = set(saved_clusters(settings))
    handled: list[str] = []
    clusters = []
    for cluster in inventory.clusters:
        if _group(cluster.name).rsplit("/", 1)[-1] not in saved:
            clusters.append(cluster)
            continue
        handled.append(cluster.name)
        legacy = load_legacy(settings, cluster.name)
        if cluster.sync is None and legacy is not None:
            clusters.append(dataclasses.replace(cluster, sync=legacy))
        else:
            clusters.append(cluster)
    return Inventory(tuple(clusters)), handled


def forget(settings: QSettings, clusters: Iterable[str]) -> None:
    """Remove the QSettings schedule keys of ``clusters``."""
    for cluster in clusters:
        settings.remove(_group(cluster))
    if not saved_clusters(settings):
        settings.remove(PREFIX)
    settings.sync()
