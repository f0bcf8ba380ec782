"""Sync schedules per cluster, kept in QSettings (the runner itself does not persist them).

Keys: ``sync/schedule/<cluster>/every`` (minutes, 0 = off), ``…/on_drift`` (bool),
``…/check`` (minutes between drift checks) and ``…/engine``.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QSettings

from pmc.sync.runner import Engine, Schedule, SyncRunner

PREFIX = "sync/schedule"


def _key(cluster: str, name: str) -> str:
    return f"{PREFIX}/{cluster.replace('/', '_')}/{name}"


def _bool(value: object) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def load_schedule(settings: QSettings, cluster: str) -> Schedule | None:
    """The schedule saved for ``cluster`` (None: none, or switched off)."""
    try:
        every = float(settings.value(_key(cluster, "every"), 0) or 0)  # type: ignore[arg-type]
        check = float(settings.value(_key(cluster, "check"), 5) or 5)  # type: ignore[arg-type]
        engine = Engine(str(settings.value(_key(cluster, "engine"), Engine.DELTA.value)))
    except ValueError:
        return None
    on_drift = _bool(settings.value(_key(cluster, "on_drift"), False))
    if every <= 0 and not on_drift:
        return None
    return Schedule(
        cluster,
        every_minutes=every if every > 0 else None,
        on_drift=on_drift,
        check_minutes=max(1.0, check),
        engine=engine,
    )


def save_schedule(settings: QSettings, cluster: str, schedule: Schedule | None) -> None:
    settings.setValue(_key(cluster, "every"), (schedule.every_minutes or 0) if schedule else 0)
    settings.setValue(_key(cluster, "on_drift"), bool(schedule and schedule.on_drift))
    if schedule is not None:
        settings.setValue(_key(cluster, "check"), schedule.check_minutes)
        settings.setValue(_key(cluster, "engine"), schedule.engine.value)
    settings.sync()


def apply_saved(settings: QSettings, runner: SyncRunner, clusters: Iterable[str]) -> int:
    """Start the saved schedules of ``clusters`` on ``runner`` (needs a running loop)."""
    started = 0
    for cluster in clusters:
        schedule = load_schedule(settings, cluster)
        if schedule is None:
            runner.remove_schedule(cluster)
            continue
        runner.set_schedule(schedule)
        started += 1
    return started
