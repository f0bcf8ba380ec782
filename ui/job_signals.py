"""The one adapter between :mod:`pmc.jobs` and Qt: job events become Qt signals.

A job may emit from a worker thread; the signal is queued to the GUI thread because the
adapter lives there. Widgets connect to :attr:`JobSignals.event` and never subscribe to a job
themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from pmc.jobs import Job, JobEvent


class JobSignals(QObject):
    """Re-emits every event of the jobs it is attached to as :attr:`event` (a JobEvent)."""

    event = Signal(object)  # type: ignore[assignment]  # the API name; shadows QObject.event
    attached = Signal(object)  # a Job

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe: dict[str, Callable[[], None]] = {}

    def attach(self, job: Job[object]) -> None:
        if job.id in self._unsubscribe:
            return
        self.attached.emit(job)
        self._unsubscribe[job.id] = job.subscribe(self._forward, replay=True)

    def _forward(self, event: JobEvent) -> None:
        self.event.emit(event)
