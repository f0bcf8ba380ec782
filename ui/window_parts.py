"""What every controller of the main window works with (:class:`WindowFlows`): the window
(parent of their dialogs, its status bar), the session, the selection and where dialogs open.
The window builds one :class:`WindowParts` and gives it to each controller it owns."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QMainWindow

from .async_dialog import Dialogs
from .session import Session
from .window_selection import Selection


@dataclass(frozen=True)
class WindowParts:
    window: QMainWindow
    session: Session
    selection: Selection
    dialogs: Dialogs


class WindowFlows:
    """The base of a controller: the parts it shares with the window and the others."""

    def __init__(self, parts: WindowParts) -> None:
        self.window = parts.window
        self.session = parts.session
        self.selection = parts.selection
        self.dialogs = parts.dialogs
