"""Python's cyclic garbage collection, on the GUI thread only.

The collector normally runs in whichever thread happens to allocate when a generation's
threshold is crossed — in PMC often a worker thread (the keyring, the SSH pool, an executor).
A Qt object that sits in a reference cycle (a window and a lambda connected to one of its
signals, a dialog and a closure that captured it) is then destroyed in that worker thread:
Qt warns "QObject::~QObject: Timers cannot be stopped from another thread" (seen in the GUI
tests, which then fail on the warning), and deleting widgets off the GUI thread is undefined
behaviour. So while the app runs, automatic collection is off and a timer on the GUI thread
collects instead (the usual recipe of PyQt/PySide applications).

The abort at exit ("bool_dealloc: deallocating True or False") is a different bug, of PySide
6.12.0, which pyproject.toml keeps out (tests/ui/test_signals.py guards it).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> int:
        """Collect the generations whose thresholds were crossed (like the automatic GC)."""
        count0, count1, count2 = gc.get_count()
        collected = 0
        if count0 > self.threshold[0]:
            collected += gc.collect(0)
            if count1 > self.threshold[1]:
                collected += gc.collect(1)
                if count2 > self.threshold[2]:
                    collected += gc.collect(2)
        return collected

    def stop(self) -> None:
        """Collect everything now (on this thread) and give collection back to Python."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
