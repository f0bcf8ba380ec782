"""Awaiting a dialog without a nested event loop.

``QDialog.exec()`` inside a coroutine breaks qasync (nested loops, qasync #59): open the
dialog window-modally with ``open()`` and await a future resolved by ``finished``.
"""

from __future__ import annotations

import asyncio

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
