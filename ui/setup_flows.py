"""The main window's setup flows: Cluster ▸ Setup redundancy… (the wizard) and Verify (a job
in the jobs panel)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from .async_dialog import Dialogs
from .error_dialog import show_error
from .session import Session
from .window_selection import Selection
from .wizard.setup_wizard import SetupWizard


class SetupFlows:
    def __init__(
        self, window: QWidget, session: Session, selection: Selection, dialogs: Dialogs
    ) -> None:
        self.window = window
        self.session = session
        self.selection = selection
        self.dialogs = dialogs
        self.wizard: SetupWizard | None = None  # the one opened last (tests drive it)

    def open_wizard(self) -> None:
        cluster = self.selection.current_cluster()
        if cluster is None:
            return
        self.wizard = SetupWizard(self.session, cluster, parent=self.window)
        self.wizard.open()

    async def verify(self) -> None:
        cluster = self.selection.current_cluster()
        if cluster is None:
            return
        job = self.session.verify_job(cluster)
        if job is None:
            show_error(self.window, "verifying", RuntimeError("the setup engine is not available"))
            return
        self.session.run_job(job)
