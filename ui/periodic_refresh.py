"""What the status poller and the fleet poller share: a refresh every "Refresh every" seconds
(one at a time: a tick while one runs is skipped), SNMP answers that come behind a refresh
republished together (:mod:`pmc.background_probes`), and a stop that ends it all."""

from __future__ import annotations

import asyncio

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

from pmc.background_probes import BackgroundProbes
from pmc.status import Check

from .session import Session

DEFAULT_INTERVAL_S = 15


class PeriodicRefresh(QObject):
    refreshing = Signal(bool)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.background = BackgroundProbes(on_answer=self._answered)
        self._timer = QTimer(self)
        self._republish = QTimer(self)  # background answers arriving together: one publish
        self._republish.setSingleShot(True)
        self._republish.setInterval(200)
        self._republish.timeout.connect(self._publish_answers)
        self._task: asyncio.Task[None] | None = None
        self.set_interval(DEFAULT_INTERVAL_S)

    def set_interval(self, seconds: int) -> None:
        self._timer.setInterval(max(2, seconds) * 1000)

    def start(self) -> None:
        """Refresh now and every interval from now on."""
        if not self._timer.isActive():
            self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()
        if self._task is not None:
            self._task.cancel()
        self.background.close()

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def refresh(self) -> asyncio.Task[None] | None:
        raise NotImplementedError

    def _publish_answers(self) -> None:
        """Show the last result again with the background answers come since."""
        raise NotImplementedError

    def _answered(self, _key: str, _check: Check) -> None:
        if shiboken6.isValid(self) and not self.busy:
            self._republish.start()
