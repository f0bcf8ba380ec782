"""Awaiting a dialog without a nested event loop.

``QDialog.exec()`` inside a coroutine breaks qasync (nested loops, qasync #59): open the
dialog window-modally with ``open()`` and await a future resolved by ``finished``.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog


async def ask(dialog: QDialog) -> int:
    """Show ``dialog`` (modal to its window) and return its result code when it closes."""
    future: asyncio.Future[int] = asyncio.get_event_loop().create_future()

    def finished(code: int) -> None:
        if not future.done():
            future.set_result(code)

    dialog.finished.connect(finished)
    dialog.open()
    try:
        return await future
    except asyncio.CancelledError:
        dialog.reject()
        raise
    finally:
        dialog.finished.disconnect(finished)


class Dialogs:
    """Where a window's flows open their dialogs (window-modal, never a nested loop); the
    dialog opened last is kept in :attr:`last` (tests drive it)."""

    def __init__(self) -> None:
        self.last: QDialog | None = None

    async def ask(self, dialog: QDialog) -> int:
        """Show ``dialog`` and return its result code when it closes."""
        self.last = dialog
        return await ask(dialog)

    def show(self, dialog: QDialog) -> None:
        """Open ``dialog`` and let it go: it is deleted when it closes."""
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last = dialog
        dialog.open()
