"""What the Export… and Import… dialogs share: the server chooser, the bundle file row, the
job's progress with its cancel button, the outcome line and the start/close buttons
(:class:`BundleDialog`), and where bundles were last written or opened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pmc.health_model import State
from pmc.inventory import Cluster, Server
from pmc.jobs import EventKind, Job, JobEvent, JobState

from .health_look import colour_progress
from .icons import icon
from .outcome_view import OutcomeView
from .session import Session
from .translation import tr
from .widgets import button, row, wrapped_label

SUFFIX = ".pmcbundle"
FILTER = "PMC configuration bundle (*.pmcbundle)"


def bundle_folder() -> Path:
    """The folder of the last bundle written or opened (else the home folder)."""
    last = QSettings().value("bundles/folder", "", type=str)
    return Path(last) if isinstance(last, str) and last and Path(last).is_dir() else Path.home()


def remember_folder(path: Path) -> None:
    QSettings().setValue("bundles/folder", str(path.parent))


class JobProgress(QWidget):
    """A job's current step, progress bar (bytes, rate, time left in its text) and a cancel
    button, fed by the session's job signals; :attr:`on_final` runs once the job has ended."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job: Job[object] | None = None
        self.current = wrapped_label("jobCurrent")
        self.bar = QProgressBar()
        self.bar.setObjectName("jobProgress")
        self.bar.setTextVisible(True)
        self.detail = QLabel()
        self.detail.setObjectName("jobDetail")
        self.cancel_button = button(
            "cancel",
            tr("Cancel"),
            name="cancelBundleJob",
            tip=tr("Stop safely; nothing half-written is left behind"),
            clicked=self.cancel,
        )
        bar_row = row(self.bar, self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.current)
        layout.addLayout(bar_row)
        layout.addWidget(self.detail)
        session.signals.event.connect(self._on_event)
        self.on_final: Callable[[], None] | None = None
        self.setVisible(False)

    def follow(self, job: Job[object]) -> None:
        self.job = job
        self.bar.setRange(0, 0)
        colour_progress(self.bar, None)
        self.current.setText(tr("Starting…"))
        self.cancel_button.setEnabled(True)
        self.setVisible(True)

    def _on_event(self, event: JobEvent) -> None:
        job = self.job
        if job is None or event.job_id != job.id:
            return
        if event.kind is EventKind.STEP_STARTED:
            self.current.setText(event.message)
        elif event.kind is EventKind.PROGRESS:
            if event.fraction is not None:
                self.bar.setRange(0, 1000)
                self.bar.setValue(int(event.fraction * 1000))
            self.detail.setText(event.message)
        elif event.kind in (EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED):
            self.cancel_button.setEnabled(False)
            self.bar.setRange(0, 1000)
            # the outcome below says how it went (one figure of size and speed, not three)
            self.detail.setText("")
            if job.state is JobState.SUCCEEDED:
                self.bar.setValue(1000)
                colour_progress(self.bar, State.OK)
                self.current.setText(tr("Finished."))
            else:
                cancelled = job.state is JobState.CANCELLED
                colour_progress(self.bar, State.WARNING if cancelled else State.FAILED)
                self.current.setText(tr("Cancelled.") if cancelled else tr("Failed."))
            if self.on_final is not None:
                self.on_final()

    def cancel(self) -> None:
        if self.job is not None and not self.job.state.is_final:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.current.setText(tr("Stopping at the next safe point…"))


class BundleDialog(QDialog):
    """The frame of the Export… and Import… dialogs (``kind``): the server chooser
    (``cluster``/``server`` preselected), the bundle file row, the job's progress, the
    outcome line and the buttons. A dialog names its :attr:`kind` and defines :meth:`build`
    (its own widgets, laid out with the frame's), :meth:`start` (its Export or Import button)
    and :meth:`finished_job` (its job has ended)."""

    kind: Literal["export", "import"]

    def __init__(
        self,
        session: Session,
        cluster: str | None,
        server: str | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        kind = self.kind
        title = tr(kind.capitalize())
        self.setObjectName(f"{kind}Dialog")
        self.setWindowTitle(tr("Export configuration") if kind == "export"
                            else tr("Import configuration"))  # fmt: skip
        self.setWindowIcon(icon(kind))
        self.server = QComboBox()
        self.server.setObjectName(f"{kind}Server")
        self._servers = [(c, s) for c in session.inventory.clusters for s in c.servers]
        for one_cluster, one_server in self._servers:
            self.server.addItem(
                f"{one_cluster.name} / {one_server.name}  ({one_server.management_address})"
            )
            if (one_cluster.name, one_server.name) == (cluster, server):
                self.server.setCurrentIndex(self.server.count() - 1)
        self.path = QLineEdit()
        self.path.setObjectName(f"{kind}Path")
        self.path.setAccessibleName(tr("Bundle file"))
        self.browse_button = QPushButton(tr("Browse…"))
        self.browse_button.setObjectName(f"{kind}Browse")
        self.file_row = QHBoxLayout()
        self.file_row.addWidget(self.path, 1)
        self.file_row.addWidget(self.browse_button)
        self.progress = JobProgress(session)
        self.progress.on_final = self.finished_job
        self.outcome = OutcomeView(f"{kind}Outcome")
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton(title, QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName(f"start{kind.capitalize()}")
        self.start_button.setIcon(icon(kind))
        self.start_button.clicked.connect(self.start)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.clicked.connect(self.reject)
        self.build()

    def build(self) -> None:
        raise NotImplementedError

    def run(self, job: Job[object]) -> None:
        """Start ``job`` through the session: its progress here, its outcome once it ends."""
        self.outcome.setVisible(False)
        self.progress.follow(job)
        self.session.run_job(job)

    def chosen(self) -> tuple[Cluster, Server] | None:
        index = self.server.currentIndex()
        return self._servers[index] if 0 <= index < len(self._servers) else None

    def start(self) -> None:
        raise NotImplementedError

    def finished_job(self) -> None:
        raise NotImplementedError
