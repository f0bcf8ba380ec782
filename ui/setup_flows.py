"""The main window's setup flows: Cluster ▸ Setup redundancy… (the wizard) and Verify (a job
in the jobs panel)."""

from __future__ import annotations

from .error_dialog import show_error
from .window_parts import WindowFlows
from .wizard.setup_wizard import SetupWizard


class SetupFlows(WindowFlows):
    wizard: SetupWizard | None = None  # the one opened last (tests drive it)

    def open_wizard(self) -> None:
        cluster = self.selection.current_cluster()
        if cluster is None:
            return
        wizard = SetupWizard(self.session, cluster, parent=self.window)
        # gone once closed: a hidden wizard would follow every job's events for ever
        wizard.finished.connect(wizard.deleteLater)
        self.wizard = wizard
        wizard.open()

    async def verify(self) -> None:
        cluster = self.selection.current_cluster()
        if cluster is None:
            return
        job = self.session.verify_job(cluster)
        if job is None:
            show_error(self.window, "verifying", RuntimeError("the setup engine is not available"))
            return
        self.session.run_job(job)
