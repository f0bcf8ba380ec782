"""Server ▸ Settings ▸ Export…: the server (preselected from the tree), what to include, where
to write the bundle; the export runs as a Job (the jobs panel shows it too) with progress in
bytes, rate and time left, and a cancel that leaves no partial bundle behind.

Glue only: the export is :func:`pmc.bundle.jobs.export_job`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from pmc.bundle import jobs as bundle_jobs
from pmc.bundle.export import ExportOptions, ExportResult
from pmc.jobs import Job, JobState
from pmc.outcome import Outcome

from .bundle_dialog import FILTER, SUFFIX, BundleDialog, bundle_folder, remember_folder
from .translation import tr
from .widgets import wrapped_label


def default_name(server: str, now: dt.datetime | None = None) -> str:
    """``<server>-<UTC time>.pmcbundle``."""
    when = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{server}-{when}{SUFFIX}"


class ExportDialog(BundleDialog):
    kind = "export"

    def build(self) -> None:
        self.job: Job[ExportResult] | None = None
        self.setMinimumWidth(560)
        self.export_button = self.start_button
        self.server.currentIndexChanged.connect(self._server_changed)
        self.browse_button.clicked.connect(self.browse)

        self.with_epg = QCheckBox(tr("With EPG (eit_event tables)"))
        self.with_epg.setObjectName("withEpg")
        self.with_epg.setToolTip(tr("Off by default, as in the legacy PMC: the EPG can be large"))
        self.no_data = QCheckBox(tr("Without data folders (carousel, av, ts files)"))
        self.no_data.setObjectName("noData")
        self.no_config = QCheckBox(tr("Without API config (spoolers.json, replicate.conf)"))
        self.no_config.setObjectName("noConfig")
        options = QGroupBox(tr("Include"))
        box = QVBoxLayout(options)
        box.addWidget(QLabel(tr("The configuration database is always included.")))
        for widget in (self.with_epg, self.no_data, self.no_config):
            box.addWidget(widget)

        self._named_by_operator = False
        self.path.textEdited.connect(lambda _t: setattr(self, "_named_by_operator", True))

        intro = wrapped_label(
            "exportIntro",
            tr("Export writes the server's Playout configuration to one bundle file: a "
               "manifest and the SHA-256 of every member, streamed over SSH whatever its size."),
        )  # fmt: skip
        form = QFormLayout()
        server_label = QLabel(tr("&Server:"))
        server_label.setBuddy(self.server)
        file_label = QLabel(tr("Bundle &file:"))
        file_label.setBuddy(self.path)
        form.addRow(server_label, self.server)
        form.addRow(file_label, self.file_row)
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
        self.export_button.setEnabled(found is not None and self.session.workspace.connects)

    def browse(self) -> None:
        dialog = QFileDialog(self, tr("Export to a bundle file"))
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
        if found is None or not text or not self.session.workspace.connects:
            return
        path = Path(text).expanduser()
        if not path.parent.is_dir():
            self._show_outcome(
                Outcome(False, tr("Nothing was exported."),
                        tr("The folder {folder} does not exist.").format(folder=path.parent))
            )  # fmt: skip
            return
        cluster, server = found
        remember_folder(path)
        self.job = bundle_jobs.export_job(
            self.session.workspace, cluster, server, path, self.options()
        )
        for widget in self._inputs():
            widget.setEnabled(False)
        self.export_button.setEnabled(False)
        self.run(self.job)
        self.adjustSize()

    def finished_job(self) -> None:
        job = self.job
        assert job is not None
        if job.state is JobState.SUCCEEDED and job.result is not None:
            result = job.result
            skipped = "; ".join(result.skipped)
            cause = tr("Skipped: {what}").format(what=skipped) if skipped else ""
            text = str(result)
            self._show_outcome(Outcome(True, text[:1].upper() + text[1:] + ".", cause))
            self.close_button.setText(tr("Close"))
            return
        cancelled = job.state is JobState.CANCELLED
        self._show_outcome(
            Outcome(
                False,
                tr("Nothing was exported: no partial bundle was left behind."),
                tr("The export was cancelled.") if cancelled else str(job.error),
            )
        )
        for widget in self._inputs():
            widget.setEnabled(True)
        self.export_button.setEnabled(True)

    def _show_outcome(self, outcome: Outcome) -> None:
        self.outcome.show_outcome(outcome)
        self.adjustSize()

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.state.is_final
