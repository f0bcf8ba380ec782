"""PMC's asyncio loop on Qt: qasync's QEventLoop with one fix.

qasync turns every ``call_later`` into ``QObject.startTimer(int(delay * 1000))``, which takes a
C int of milliseconds: a delay of more than ~24.8 days, or ``inf`` (``asyncio.wait_for(…,
math.inf)``, what PMC's transport does for a command without a timeout such as
``copy_config.sh``), raises OverflowError inside the loop and kills the task. Such delays
are clamped to the longest timer Qt can hold; the callback then fires after ~24.8 days
instead of never, which no PMC wait comes near.
"""

from __future__ import annotations

from typing import Any

import qasync
from PySide6 import QtCore  # noqa: F401 (before qasync, which binds to the first Qt it finds)

MAX_DELAY_S = (2**31 - 1) // 1000  # QObject.startTimer: a C int of milliseconds


class PmcEventLoop(qasync.QEventLoop):  # type: ignore[misc]
    def _add_callback(self, handle: Any, delay: float = 0) -> Any:
        return super()._add_callback(handle, min(delay, MAX_DELAY_S))
