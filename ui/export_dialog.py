"""Server ▸ Settings ▸ Export…: the server (preselected from the tree), what to include, where
to write the bundle; the export runs as a Job (the jobs panel shows it too) with progress in
bytes, rate and time left, and a cancel that leaves no partial bundle behind.

Glue only: the export is :func:`pmc.bundle.export.export_bundle`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pmc.bundle.export import ExportOptions, ExportResult, export_bundle
from pmc.inventory import Cluster, Server
from pmc.jobs import EventKind, Job, JobContext, JobEvent, JobState

from .icons import icon

if TYPE_CHECKING:
    from .session import Session

SUFFIX = ".pmcbundle"
FILTER = "PMC configuration bundle (*.pmcbundle)"


def default_name(server: str, now: dt.datetime | None = None) -> str:
    """``<server>-<UTC time>.pmcbundle``."""
    when = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{server}-{when}{SUFFIX}"


def bundle_folder() -> Path:
    """The folder of the last bundle written or opened (else the home folder)."""
    last = QSettings().value("bundles/folder", "", type=str)
    return Path(last) if isinstance(last, str) and last and Path(last).is_dir() else Path.home()


def remember_folder(path: Path) -> None:
    QSettings().setValue("bundles/folder", str(path.parent))


def export_job(
    session: Session, cluster: Cluster, server: Server, path: Path, options: ExportOptions
) -> Job[ExportResult]:
    if session.pool is None:
        raise RuntimeError("PMC has no SSH transport in this session")
    connection = session.pool.connection(server, cluster.name)

    async def body(ctx: JobContext) -> ExportResult:
        with ctx.step(f"Export {server.name} to {path.name}", server=server.name):
            result = await export_bundle(connection, path, options, ctx)
        ctx.log(str(result), server=server.name)
        return result

    return Job(
        "export", f"Export {server.name} to {path.name}", body,
        cluster=cluster.name, store=session.store,
    )  # fmt: skip


class JobProgress(QWidget):
    """A job's current step, progress bar (bytes, rate, time left in its text) and a cancel
    button, fed by the session's job signals."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job: Job[object] | None = None
        self.current = QLabel()
        self.current.setObjectName("jobCurrent")
        self.current.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setObjectName("jobProgress")
        self.bar.setTextVisible(True)
        self.detail = QLabel()
        self.detail.setObjectName("jobDetail")
        self.cancel_button = QPushButton(icon("cancel"), "Cancel")
        self.cancel_button.setObjectName("cancelBundleJob")
        self.cancel_button.setToolTip("Stop safely; nothing half-written is left behind")
        self.cancel_button.clicked.connect(self.cancel)
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.current)
        layout.addLayout(row)
        layout.addWidget(self.detail)
        session.signals.event.connect(self._on_event)
        self.on_final: Callable[[], None] | None = None  # the job has ended
        self.setVisible(False)

    def follow(self, job: Job[object]) -> None:
        self.job = job
        self.bar.setRange(0, 0)
        self.current.setText("Starting…")
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
            if job.state is JobState.SUCCEEDED:
                self.bar.setValue(1000)
                self.current.setText("Finished.")
                self.detail.setText(_final_detail(job))
            else:
                word = "Cancelled" if job.state is JobState.CANCELLED else "Failed"
                self.current.setText(f"{word}.")
            if self.on_final is not None:
                self.on_final()

    def cancel(self) -> None:
        if self.job is not None and not self.job.state.is_final:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.current.setText("Stopping at the next safe point…")


def _final_detail(job: Job[object]) -> str:
    """The last progress line without its time left (it is over)."""
    last = job.last_progress
    return last.message.split(", about")[0] if last is not None else ""


def servers_of(session: Session) -> list[tuple[Cluster, Server]]:
    return [(c, s) for c in session.inventory.clusters for s in c.servers]


class ExportDialog(QDialog):
    def __init__(
        self,
        session: Session,
        cluster: str | None,
        server: str | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.job: Job[ExportResult] | None = None
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export configuration")
        self.setWindowIcon(icon("export"))
        self.setMinimumWidth(560)

        self.server = QComboBox()
        self.server.setObjectName("exportServer")
        self._choices = servers_of(session)
        for c, s in self._choices:
            self.server.addItem(f"{c.name} / {s.name}  ({s.management_address})")
            if c.name == cluster and s.name == server:
                self.server.setCurrentIndex(self.server.count() - 1)
        self.server.currentIndexChanged.connect(self._server_changed)

        self.with_epg = QCheckBox("With EPG (eit_event tables)")
        self.with_epg.setObjectName("withEpg")
        self.with_epg.setToolTip("Off by default, as in the legacy PMC: the EPG can be large")
        self.no_data = QCheckBox("Without data folders (carousel, av, ts files)")
        self.no_data.setObjectName("noData")
        self.no_config = QCheckBox("Without API config (spoolers.json, replicate.conf)")
        self.no_config.setObjectName("noConfig")
        options = QGroupBox("Include")
        box = QVBoxLayout(options)
        box.addWidget(QLabel("The configuration database is always included."))
        for widget in (self.with_epg, self.no_data, self.no_config):
            box.addWidget(widget)

        self.path = QLineEdit()
        self.path.setObjectName("exportPath")
        browse = QPushButton("Browse…")
        browse.setObjectName("exportBrowse")
        browse.clicked.connect(self.browse)
        self.browse_button = browse
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(browse)
        self._named_by_operator = False
        self.path.textEdited.connect(lambda _t: setattr(self, "_named_by_operator", True))

        self.progress = JobProgress(session)
        self.progress.on_final = self._finished
        self.outcome = QLabel()
        self.outcome.setObjectName("exportOutcome")
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outcome.setVisible(False)

        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton(
            "Export", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.export_button.setObjectName("startExport")
        self.export_button.setIcon(icon("export"))
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self.reject)

        intro = QLabel(
            "Export writes the server's Playout configuration to one bundle file: a manifest "
            "and the SHA-256 of every member, streamed over SSH whatever its size."
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Server:", self.server)
        form.addRow("Bundle file:", file_row)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(options)
        layout.addWidget(self.progress)
        layout.addWidget(self.outcome)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._server_changed()

    # choices ---------------------------------------------------------------------------
    def chosen(self) -> tuple[Cluster, Server] | None:
        index = self.server.currentIndex()
        return self._choices[index] if 0 <= index < len(self._choices) else None

    def options(self) -> ExportOptions:
        return ExportOptions(
            epg=self.with_epg.isChecked(),
            data=not self.no_data.isChecked(),
            config=not self.no_config.isChecked(),
        )

    def _server_changed(self) -> None:
        found = self.chosen()
        if found and not self._named_by_operator:
            self.path.setText(str(bundle_folder() / default_name(found[1].name)))
        self.export_button.setEnabled(found is not None and self.session.pool is not None)

    def browse(self) -> None:
        dialog = QFileDialog(self, "Export to a bundle file")
        dialog.setObjectName("exportFileChooser")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters([FILTER])
        dialog.setDefaultSuffix(SUFFIX[1:])
        current = Path(self.path.text()) if self.path.text() else bundle_folder()
        dialog.setDirectory(str(current.parent))
        dialog.selectFile(current.name)
        dialog.fileSelected.connect(self.set_path)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.chooser = dialog
        dialog.open()

    def set_path(self, path: str) -> None:
        if path and not path.endswith(SUFFIX):
            path += SUFFIX
        self.path.setText(path)
        self._named_by_operator = True

    def _inputs(self) -> tuple[QWidget, ...]:
        return (self.server, self.with_epg, self.no_data, self.no_config, self.path,
                self.browse_button)  # fmt: skip

    # the job -------------------------------------------------------------------------
    def start(self) -> None:
        found = self.chosen()
        text = self.path.text().strip()
        if found is None or not text or self.session.pool is None:
            return
        path = Path(text).expanduser()
        if not path.parent.is_dir():
            self._show_outcome(f"✖ The folder {path.parent} does not exist.", ok=False)
            return
        cluster, server = found
        remember_folder(path)
        self.job = export_job(self.session, cluster, server, path, self.options())
        for widget in self._inputs():
            widget.setEnabled(False)
        self.export_button.setEnabled(False)
        self.outcome.setVisible(False)
        self.progress.follow(self.job)
        self.adjustSize()
        self.session.run_job(self.job)

    def _finished(self) -> None:
        job = self.job
        assert job is not None
        if job.state is JobState.SUCCEEDED and job.result is not None:
            result = job.result
            text = f"✔ {result}"
            if result.skipped:
                text += "<br>Skipped: " + "; ".join(result.skipped)
            self._show_outcome(text, ok=True)
            self.close_button.setText("Close")
            return
        word = "cancelled" if job.state is JobState.CANCELLED else "failed"
        self._show_outcome(
            f"✖ The export {word}: {job.error}<br>No partial bundle was left behind.", ok=False
        )
        for widget in self._inputs():
            widget.setEnabled(True)
        self.export_button.setEnabled(True)

    def _show_outcome(self, text: str, *, ok: bool) -> None:
        self.outcome.setText(text)
        self.outcome.setStyleSheet("color: #2e9e4f; font-weight: 600;" if ok else "color: #d62d20;")
        self.outcome.setVisible(True)
        self.adjustSize()

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.state.is_final
