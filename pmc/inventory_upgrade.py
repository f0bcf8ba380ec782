"""Upgrades of the inventory from what older PMC versions kept elsewhere, registered by the
inventory format version that holds it (as Picard's ``config_upgrade`` registers its steps).

Format version 1 holds each cluster's sync schedule (its ``[clusters.sync]`` table, read by
the desktop app, ``pmc sync schedule`` and ``pmc sync daemon`` alike). The desktop app of an
older PMC kept schedules in its own settings instead: ``sync/schedule/<cluster>/every``
(minutes, 0 = off), ``…/on_drift``, ``…/check`` and ``…/engine``.

:func:`upgrade_inventory` runs, in version order, every step the settings have not been
through; the front end saves the inventory it returns, then calls :meth:`Upgrade.finish`,
which removes the settings that were moved and records the version reached
(:data:`VERSION_KEY`). A cluster that already has a ``[clusters.sync]`` table keeps it (the
inventory wins); settings of clusters the inventory does not have stay, and so does the
version: the step runs again when an inventory with those clusters is opened.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pmc.inventory import Inventory, SyncEngine, SyncSchedule
from pmc.inventory_reading import FORMAT_VERSION

VERSION_KEY = "inventory/upgraded_to"
SCHEDULES = "sync/schedule"


class OldSettings(Protocol):
    """The settings of an older PMC, as the front end reads them (the app: its QSettings)."""

    def groups(self, prefix: str) -> list[str]:
        """The names of the groups right below ``prefix``."""
        ...

    def value(self, key: str) -> object:
        """The value at ``key`` (None if there is none)."""
        ...

    def set_value(self, key: str, value: object) -> None: ...

    def remove(self, key: str) -> None:
        """Remove ``key`` and every key below it."""
        ...


@dataclass
class StepResult:
    """What one step made of the inventory; ``found``: the settings held something of its
    kind; ``done``: nothing of it is left there once ``cleanup`` removed what was moved."""

    inventory: Inventory
    found: bool
    done: bool
    cleanup: Callable[[], None]
    note: str = ""


UpgradeStep = Callable[[Inventory, OldSettings], StepResult]
UPGRADES: dict[int, UpgradeStep] = {}


def upgrade_step(version: int) -> Callable[[UpgradeStep], UpgradeStep]:
    """Register the step that brings what older PMC versions kept into format ``version``."""

    def register(step: UpgradeStep) -> UpgradeStep:
        if version in UPGRADES or not 1 <= version <= FORMAT_VERSION:
            raise ValueError(f"no upgrade step can be registered for version {version}")
        UPGRADES[version] = step
        return step

    return register


@dataclass
class Upgrade:
    """The inventory after the steps that ran (equal to the one given: nothing to save)."""

    inventory: Inventory
    notes: list[str] = field(default_factory=list)
    reached: int | None = None
    """The version to record: every step up to it is done, and one found something (settings
    that never held anything of an older PMC get no record)."""
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    settings: OldSettings | None = None

    def finish(self) -> None:
        """After the inventory is saved: remove the moved settings, record the version."""
        for cleanup in self.cleanups:
            cleanup()
        if self.settings is not None and self.reached is not None:
            self.settings.set_value(VERSION_KEY, self.reached)


def upgraded_to(settings: OldSettings) -> int:
    try:
        return int(str(settings.value(VERSION_KEY) or 0))
    except ValueError:
        return 0


def upgrade_inventory(inventory: Inventory, settings: OldSettings) -> Upgrade:
    """Run the steps the settings have not been through, in version order (see the module)."""
    result = Upgrade(inventory, settings=settings)
    complete, found = True, False
    for version in sorted(v for v in UPGRADES if v > upgraded_to(settings)):
        step = UPGRADES[version](result.inventory, settings)
        result.inventory = step.inventory
        result.cleanups.append(step.cleanup)
        if step.note:
            result.notes.append(step.note)
        complete, found = complete and step.done, found or step.found
        if complete and found:
            result.reached = version
    return result


# ---- the steps ------------------------------------------------------------------------------
def _group(cluster: str) -> str:
    return f"{SCHEDULES}/{cluster.replace('/', '_')}"


def _bool(value: object) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def _minutes(value: object, default: float) -> float:
    minutes = float(str(value or default))
    if not math.isfinite(minutes):  # nan, inf, 1e400: settings edited by hand
        raise ValueError(f"{value!r} is not a number of minutes")
    return minutes


def old_schedule(settings: OldSettings, cluster: str) -> SyncSchedule | None:
    """The schedule the settings hold for ``cluster`` (None: none, off, or unreadable)."""
    group = _group(cluster)
    try:
        every = _minutes(settings.value(f"{group}/every"), 0)
        check = _minutes(settings.value(f"{group}/check"), 5)
        engine = SyncEngine(str(settings.value(f"{group}/engine") or SyncEngine.DELTA.value))
    except ValueError:
        return None
    on_drift = _bool(settings.value(f"{group}/on_drift"))
    if every <= 0 and not on_drift:
        return None
    return SyncSchedule(
        every_minutes=every if every > 0 else None,
        on_drift=on_drift,
        check_minutes=max(1.0, check),
        engine=engine,
    )


@upgrade_step(1)
def sync_schedules_into_the_inventory(inventory: Inventory, settings: OldSettings) -> StepResult:
    """Schedules the desktop app kept in its settings become the clusters' ``[clusters.sync]``
    tables (where a cluster has none)."""
    saved = set(settings.groups(SCHEDULES))
    handled: list[str] = []
    clusters = []
    for cluster in inventory.clusters:
        if _group(cluster.name).rsplit("/", 1)[-1] not in saved:
            clusters.append(cluster)
            continue
        handled.append(cluster.name)
        schedule = old_schedule(settings, cluster.name)
        if cluster.sync is None and schedule is not None:
            clusters.append(dataclasses.replace(cluster, sync=schedule))
        else:
            clusters.append(cluster)

    def cleanup() -> None:
        for name in handled:
            settings.remove(_group(name))
        if saved and not settings.groups(SCHEDULES):
            settings.remove(SCHEDULES)

    upgraded = Inventory(tuple(clusters))
    moved = upgraded != inventory
    note = "Sync schedules moved from PMC's settings into the inventory file" if moved else ""
    done = len(handled) == len(saved)
    return StepResult(upgraded, found=bool(saved), done=done, cleanup=cleanup, note=note)
