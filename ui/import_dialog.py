"""Server ▸ Settings ▸ Import…: choose a bundle, see what it holds (checked in a worker
thread, every checksum) or why it is refused, preview what it would change on the target
server (tables before/after, services and networks, files, config diffs), choose the parts
and what happens to the target's own addresses, confirm — naming the server and the automatic
backup — and run the import as a Job. The result names the backup.

Glue only: scan, preview and import are :mod:`pmc.bundle`'s."""

from __future__ import annotations

import asyncio
import html
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from pmc.bundle import jobs as bundle_jobs
from pmc.bundle.import_backup import default_backup_dir, holds
from pmc.bundle.importer import ImportOptions, ImportResult
from pmc.bundle.preview import Preview, Scan, scan_bundle
from pmc.bundle.progress import human_bytes
from pmc.errors import Cancelled, PmcError
from pmc.inventory import Cluster, Server
from pmc.jobs import Job, JobState
from pmc.outcome import Outcome, not_restored, restored_from_backup

from .bundle_dialog import FILTER, BundleDialog, bundle_folder, remember_folder
from .icons import icon
from .import_choices import ImportChoices
from .import_preview import ImportPreview
from .translation import tr
from .widgets import log_view, wrapped_label


class _ScanCounter:
    """Counts the bytes scan_bundle has checked; raising from it stops the scan."""

    def __init__(self) -> None:
        self.done = 0
        self.stop = False

    def __call__(self, n: int) -> None:
        if self.stop:
            raise Cancelled("another bundle was chosen")
        self.done += n


class ImportDialog(BundleDialog):
    kind = "import"

    def build(self) -> None:
        self.scan: Scan | None = None
        self.refusal: str | None = None
        self.preview: Preview | None = None
        self.preview_error: str | None = None
        self.job: Job[ImportResult] | None = None
        self.scan_task: asyncio.Task[None] | None = None
        self.preview_task: asyncio.Task[None] | None = None
        self.previewing = False
        self._counter: _ScanCounter | None = None
        self._scan_total = 0
        self.resize(900, 760)
        self.import_button = self.start_button
        self.import_button.setEnabled(False)

        # the bundle ----------------------------------------------------------------------
        self.path.setPlaceholderText(tr("Choose a .pmcbundle file"))
        self.path.returnPressed.connect(lambda: self.set_path(self.path.text()))
        self.browse_button.clicked.connect(self.browse)
        self.scan_bar = QProgressBar()
        self.scan_bar.setObjectName("scanProgress")
        self.scan_bar.setVisible(False)
        self.bundle_state = wrapped_label("bundleState", tr("No bundle chosen yet."))
        self.summary = log_view("bundleSummary")
        self.summary.setMinimumHeight(100)
        self.summary.setMaximumHeight(150)
        self.summary.setVisible(False)

        # target and options --------------------------------------------------------------
        self.server.currentIndexChanged.connect(self._options_changed)
        self.choices = ImportChoices()
        self.choices.changed.connect(self._options_changed)
        self.parts, self.restart = self.choices.parts, self.choices.restart
        self.keep, self.adapt = self.choices.keep, self.choices.adapt

        # preview -------------------------------------------------------------------------
        self.preview_button = QPushButton(icon("verify"), tr("Preview changes"))
        self.preview_button.setObjectName("previewImport")
        self.preview_button.setEnabled(False)
        self.preview_button.clicked.connect(self.start_preview)
        self.preview_state = wrapped_label(
            "previewState", tr("The preview compares the bundle with the target server.")
        )
        self.tabs = ImportPreview()
        self.tables, self.rows = self.tabs.tables, self.tabs.rows
        self.files, self.config = self.tabs.files, self.tabs.config

        # confirm and run ----------------------------------------------------------------
        self.confirm = QCheckBox()
        self.confirm.setObjectName("confirmImport")
        self.confirm.setAccessibleName(tr("Replace the chosen parts of the server"))
        self.confirm.setEnabled(False)
        self.confirm.toggled.connect(self._update_buttons)
        self.confirm_text = wrapped_label("confirmText")
        confirm_row = QHBoxLayout()
        confirm_row.addWidget(self.confirm, 0, Qt.AlignmentFlag.AlignTop)
        confirm_row.addWidget(self.confirm_text, 1)

        form = QFormLayout()
        form.addRow(tr("Bundle:"), self.file_row)
        form.addRow(tr("Into server:"), self.server)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(form)
        top_layout.addWidget(self.scan_bar)
        top_layout.addWidget(self.bundle_state)
        top_layout.addWidget(self.summary)
        top_layout.addWidget(self.choices)
        preview_row = QHBoxLayout()
        preview_row.addWidget(self.preview_button)
        preview_row.addWidget(self.preview_state, 1)
        top_layout.addLayout(preview_row)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(confirm_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.outcome)
        layout.addWidget(self.buttons)
        self._timer = QTimer(self)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self._scan_tick)
        self._update_confirm_text()

    # choosing the bundle ----------------------------------------------------------------
    def browse(self) -> None:
        dialog = QFileDialog(self, "Import a bundle file")
        dialog.setObjectName("importFileChooser")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters([FILTER, "All files (*)"])
        dialog.setDirectory(str(bundle_folder()))
        dialog.fileSelected.connect(self.set_path)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.chooser = dialog
        dialog.open()

    def set_path(self, text: str) -> None:
        """Check the bundle at ``text`` in a worker thread (the window stays responsive)."""
        if not text or self.running:
            return
        path = Path(text).expanduser()
        self.path.setText(str(path))
        if self._counter is not None:
            self._counter.stop = True
        self.scan = None
        self.refusal = None
        self._invalidate_preview()
        self.choices.offer(())
        self.summary.clear()
        self.summary.setVisible(False)
        self.bundle_state.setText(
            tr("Checking {name}: every member and checksum…").format(name=path.name)
        )
        self.bundle_state.setStyleSheet("")
        counter = _ScanCounter()
        self._counter = counter
        self._scan_total = path.stat().st_size if path.is_file() else 0
        self.scan_bar.setRange(0, 1000 if self._scan_total else 0)
        self.scan_bar.setValue(0)
        self.scan_bar.setVisible(True)
        self._timer.start()
        self.scan_task = self.session.tasks.spawn(self._scan(path, counter), what="checking")

    async def _scan(self, path: Path, counter: _ScanCounter) -> None:
        loop = asyncio.get_running_loop()
        try:
            scan = await loop.run_in_executor(
                self.session.tasks.transfer,
                # scan_bundle only calls progress(n) (annotated ByteProgress in pmc)
                # the data files' checksums are checked as the import streams them
                lambda: scan_bundle(path, progress=counter, hash_data=False),  # type: ignore[arg-type]
            )
        except Cancelled:
            return
        except PmcError as exc:
            if counter is self._counter:
                self._scanned(None, str(exc))
            return
        except OSError as exc:
            if counter is self._counter:
                self._scanned(None, f"cannot read the bundle: {exc}")
            return
        if counter is self._counter:
            self._scanned(scan, None)

    def _scan_tick(self) -> None:
        if self._counter is not None and self._scan_total:
            self.scan_bar.setValue(int(1000 * self._counter.done / self._scan_total))

    def _scanned(self, scan: Scan | None, refusal: str | None) -> None:
        self._timer.stop()
        self.scan_bar.setVisible(False)
        self.scan = scan
        self.refusal = refusal
        if scan is None:
            reason = refusal or ""
            if "Nothing was changed" not in reason:
                reason += " Nothing was changed on any server."
            self.bundle_state.setText(
                tr("<b>✖ This bundle is refused:</b> {why}").format(why=html.escape(reason))
            )
            self.bundle_state.setStyleSheet("color: #d62d20;")
            self._update_buttons()
            return
        m = scan.manifest
        self.bundle_state.setText(
            tr(
                "<b>✔ A valid bundle</b> of {cluster} / {server}, written {written}, {size}; "
                "every checksum matches."
            ).format(
                cluster=html.escape(m.source.cluster),
                server=html.escape(m.source.server),
                written=html.escape(m.created),
                size=human_bytes(scan.size),
            )
        )
        self.bundle_state.setStyleSheet("color: #2e9e4f;")
        self.summary.setPlainText(scan.summary())
        self.summary.setVisible(True)
        self.choices.offer(m.parts)
        self._options_changed()

    # options and preview ----------------------------------------------------------------
    def options(self) -> ImportOptions:
        return self.choices.options()

    def _options_changed(self, *_: object) -> None:
        self._invalidate_preview()
        self._update_confirm_text()
        self._update_buttons()

    def _invalidate_preview(self) -> None:
        self.preview = None
        self.preview_error = None
        self.confirm.setChecked(False)
        self.tabs.clear_preview()
        if self.scan is not None:
            self.preview_state.setText(tr("Preview the changes before importing."))
            self.preview_state.setStyleSheet("")

    def start_preview(self) -> None:
        found = self.chosen()
        scan = self.scan
        if found is None or scan is None or not self.session.workspace.connects:
            return
        cluster, server = found
        options = self.options()
        if not options.parts:
            self.preview_state.setText(tr("Choose at least one part to import."))
            return
        self._invalidate_preview()
        self.preview_button.setEnabled(False)
        self.preview_state.setText(tr("Reading {name} to compare…").format(name=server.name))
        self.previewing = True
        self.preview_task = self.session.tasks.spawn(
            self._preview(cluster, server, scan, options), what="previewing the import"
        )

    async def _preview(
        self, cluster: Cluster, server: Server, scan: Scan, options: ImportOptions
    ) -> None:
        try:
            preview = await bundle_jobs.preview(
                self.session.workspace, cluster, server, scan, options
            )
        except PmcError as exc:
            self.previewing = False
            if scan is self.scan:
                self.preview_error = str(exc)
                self.preview_state.setText(
                    tr("<b>✖ The import would be refused:</b> {escape}").format(
                        escape=html.escape(str(exc))
                    )
                )
                self.preview_state.setStyleSheet("color: #d62d20;")
            self._update_buttons()
            return
        self.previewing = False
        if scan is not self.scan or options != self.options():
            self._update_buttons()
            return
        self.preview = preview
        self._show_preview(preview)
        self._update_buttons()

    def _show_preview(self, preview: Preview) -> None:
        counts = self.tabs.show_preview(preview)
        notes = "".join(f"<br>{html.escape(n)}" for n in preview.notes)
        self.preview_state.setText(
            tr("<b>Preview</b> — {counts}.{notes}").format(counts="; ".join(counts), notes=notes)
        )
        self.preview_state.setStyleSheet("")

    # confirm and run --------------------------------------------------------------------
    def _update_confirm_text(self) -> None:
        found = self.chosen()
        where = f"{found[0].name} / {found[1].name}" if found else tr("the target server")
        address = f" ({found[1].management_address})" if found else ""
        without = (
            tr(" but the data folders (kept on the server until the import is verified)")
            if self.options().backup_without_data
            else ""
        )
        self.confirm_text.setText(
            tr(
                "Replace the chosen parts of <b>{where}</b>{address} with the bundle's. PMC first "
                "exports an automatic <b>backup</b> of everything it replaces{without} to "
                "{backups} and rolls back to it if the import fails."
            ).format(
                where=html.escape(where),
                address=address,
                without=html.escape(without),
                backups=html.escape(str(default_backup_dir())),
            )
        )

    def _update_buttons(self, *_: object) -> None:
        busy = self.running
        self.preview_button.setEnabled(
            self.scan is not None and not busy and self.session.workspace.connects
            and not self.previewing
        )  # fmt: skip
        self.confirm.setEnabled(self.preview is not None and not busy)
        self.import_button.setEnabled(
            self.preview is not None and self.confirm.isChecked() and not busy
        )

    def start(self) -> None:
        found = self.chosen()
        if found is None or self.scan is None or self.preview is None or self.running:
            return
        if not self.confirm.isChecked():
            return
        cluster, server = found
        remember_folder(self.scan.path)
        self.job = bundle_jobs.import_job(
            self.session.workspace, cluster, server, self.scan, self.options()
        )
        for widget in (self.path, self.browse_button, self.server, self.confirm):
            widget.setEnabled(False)
        self.choices.freeze()
        self.run(self.job)
        self._update_buttons()

    def finished_job(self) -> None:
        job = self.job
        assert job is not None
        found = self.chosen()
        server = found[1].name if found else tr("the server")
        if job.state is JobState.SUCCEEDED and job.result is not None:
            result = job.result
            lines = [f"{n}: {a}" for n, a in result.config_actions.items()] + list(result.notes)
            if result.backup:
                lines.insert(
                    0,
                    tr("Backup of the previous configuration{holds}: {path}").format(
                        holds=holds(result.backup_without_data), path=result.backup
                    ),
                )
            banner = tr("Imported into {target} in {seconds} s ({parts}).").format(
                target=result.target, seconds=f"{result.seconds:.1f}", parts=", ".join(result.parts)
            )
            self.outcome.show_outcome(Outcome(True, banner, "\n".join(lines)))
            return
        self.outcome.show_outcome(import_outcome(job, server))

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.state.is_final


def import_outcome(job: Job[ImportResult], server: str) -> Outcome:
    """The failure screen of an import: restored from the automatic backup, or — when the
    rollback did not finish — what the operator must do."""
    error = job.error
    text = str(error) if error is not None else tr("cancelled")
    if "the rollback did not finish" in text:
        return not_restored(text, getattr(error, "hint", None) or text)
    backup = None
    hint = getattr(error, "hint", None) or ""
    if "the backup stays at " in hint:
        backup = hint.split("the backup stays at ", 1)[1].rstrip(".")
    if job.state is JobState.CANCELLED:
        text = tr("The import was cancelled. {details}").format(details=text)
    return restored_from_backup(text, server, backup)
