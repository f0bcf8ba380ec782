"""The sync panel: "Synchronize all servers" for the selected cluster, its live progress and
log, the drift report, the remediation prompts, the cluster's schedule and the sync history.

The work is :class:`pmc.sync.runner.SyncRunner`'s; this panel only starts requests, renders
the job events it receives through the session's JobSignals, and answers the runner's
remediation questions with a prompt inside the panel (:meth:`SyncPanel.confirm`; never a
nested event loop). Schedules are edited here and kept in the inventory (the cluster's
``[clusters.sync]`` table, saved through :meth:`ui.session.Session.replace_cluster`); the main
window gives the runner the inventory's schedules whenever the inventory is (re)read."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pmc.health_model import State
from pmc.inventory import Cluster, SyncSchedule
from pmc.jobs import EventKind, Job, JobEvent
from pmc.sync.copy_config import Remediation
from pmc.sync.drift import DriftReport
from pmc.sync.newer_changes import NewerChanges
from pmc.sync.runner import Engine, Schedule, SyncRequest, SyncRunner

from .form_field import WrappedLabel
from .health_look import colour_progress, state_colour
from .icons import icon
from .jobs_panel import format_event, time_left
from .outcome_view import OutcomeView
from .remediation_prompt import RemediationPrompt
from .session import Session
from .sync_direction import SyncDirection
from .sync_refusal import SyncRefusal
from .sync_runner import failure_outcome, schedule_words, sync_outcome
from .translation import tr, when
from .widgets import log_view

FINAL = (EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED)
SAVE_DELAY_MS = 400  # schedule edits are saved to the inventory this long after the last one


class SyncPanel(QWidget):
    """See the module docs. Signals: :attr:`promptShown` (a fix waits for the operator),
    :attr:`driftChecked` (a report fetched here), :attr:`scheduleChanged` (a schedule saved)."""

    promptShown = Signal(object)  # Remediation
    driftChecked = Signal(object)  # DriftReport
    scheduleChanged = Signal(str)

    def __init__(
        self,
        session: Session,
        runner: SyncRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("syncPanel")
        self.session = session
        self.runner = runner
        self.cluster: str | None = None
        self.job: Job[object] | None = None
        self.title = QLabel(tr("No cluster selected"))
        self.title.setProperty("role", "title")
        self.result = WrappedLabel("")  # a long failure wraps: it never widens the window
        self.result.setObjectName("syncResult")
        self.engine = QComboBox()
        self.engine.setObjectName("syncEngine")
        self.engine.setAccessibleName(tr("Sync engine"))
        self.engine.addItem(tr("Delta (only what differs)"), Engine.DELTA.value)
        self.engine.addItem(tr("Playout copy config (everything)"), Engine.PLAYOUT.value)
        self.engine.setToolTip(
            tr(
                "Delta compares tables and files and copies only what differs, in one "
                "transaction. Copy config runs Playout's copy_config.sh on the active server."
            )
        )
        self.direction = SyncDirection()
        self.dry_run = QCheckBox(tr("Dry run"))
        self.dry_run.setToolTip(tr("List what would be copied; change nothing"))
        self.sync_button = QPushButton(icon("sync"), tr("Synchronize all servers"))
        self.sync_button.setObjectName("syncNow")
        self.drift_button = QPushButton(icon("verify"), tr("Check drift"))
        self.drift_button.setObjectName("checkDrift")
        self.drift_button.setToolTip(tr("Compare main and backup now (read only)"))
        self.cancel_button = QPushButton(icon("cancel"), tr("Cancel"))
        self.cancel_button.setObjectName("cancelSync")
        self.cancel_button.setToolTip(
            tr("Stop at the next safe point; the delta engine commits nothing")
        )
        self.cancel_button.setEnabled(False)
        self.every = QCheckBox(tr("Every"))
        self.every.setObjectName("scheduleEvery")
        self.every_minutes = QSpinBox()
        self.every_minutes.setObjectName("scheduleMinutes")
        self.every_minutes.setAccessibleName(tr("Minutes between scheduled syncs"))
        self.every_minutes.setRange(1, 24 * 60)
        self.every_minutes.setValue(60)
        self.every_minutes.setSuffix(" min")
        self.on_drift = QCheckBox(tr("when drift is found"))
        self.on_drift.setObjectName("scheduleOnDrift")
        self.on_drift.setToolTip(tr("Check for drift every 5 minutes and synchronize when found"))
        self.schedule_state = QLabel("")
        self.schedule_state.setProperty("role", "hint")
        self.progress = QProgressBar()
        self.progress.setObjectName("syncProgress")
        self.progress.setVisible(False)  # until a sync of this cluster runs
        self.failure = OutcomeView("syncOutcome")
        self._started = 0.0
        self.log = log_view("syncLog")
        self.log.setAccessibleName(tr("Sync log"))
        self.log.setMaximumBlockCount(20000)
        self.drift = log_view("syncDrift")
        self.drift.setPlaceholderText(tr("Check drift to compare main and backup (read only)."))
        self.history = QTreeWidget()
        self.history.setObjectName("syncHistory")
        self.history.setHeaderLabels(
            [tr("Started"), tr("Cluster"), tr("State"), tr("Sync"), tr("Result")]
        )
        self.history.setRootIsDecorated(False)
        self.servers = QTreeWidget()
        self.servers.setObjectName("syncServers")
        self.servers.setAccessibleName(tr("What each server did last"))
        self.servers.setHeaderLabels([tr("Server"), tr("Last activity")])
        self.servers.setRootIsDecorated(False)
        self.servers.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # whole in its tooltip
        self.servers.setToolTip(tr("What each server of the sync did last"))
        log_split = QSplitter()
        log_split.addWidget(self.log)
        log_split.addWidget(self.servers)
        log_split.setStretchFactor(0, 3)
        log_split.setStretchFactor(1, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(log_split, tr("Log"))
        self.tabs.addTab(self.drift, tr("Drift"))
        self.tabs.addTab(self.history, tr("History"))
        heading = QHBoxLayout()
        heading.addWidget(self.title)
        heading.addWidget(self.result, 1)
        controls = QHBoxLayout()
        for widget in (self.direction, self.engine, self.dry_run, self.sync_button,
                       self.drift_button, self.cancel_button):  # fmt: skip
            controls.addWidget(widget)
        controls.addStretch(1)
        scheduling = QWidget()  # beside the tabs: the row above stays within 1280 pixels
        schedule_row = QHBoxLayout(scheduling)
        schedule_row.setContentsMargins(0, 0, 4, 0)
        for schedule_widget in (QLabel(tr("Schedule:")), self.every, self.every_minutes,
                                self.on_drift, self.schedule_state):  # fmt: skip
            schedule_row.addWidget(schedule_widget)
        self.tabs.setCornerWidget(scheduling)
        self.prompts = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(heading)
        layout.addLayout(controls)
        layout.addWidget(self.progress)
        layout.addWidget(self.failure)
        layout.addLayout(self.prompts)
        layout.addWidget(self.tabs, 1)
        self.sync_button.clicked.connect(self.synchronize)
        self.drift_button.clicked.connect(self.check_drift)
        self.cancel_button.clicked.connect(self.cancel)
        self._save_timer = QTimer(self)  # one save for a burst of edits (spin box steps)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self._save_schedule)
        self._editing: str | None = None  # the cluster whose edit waits to be saved
        self.every.toggled.connect(self._schedule_edited)
        self.every_minutes.valueChanged.connect(self._schedule_edited)
        self.on_drift.toggled.connect(self._schedule_edited)
        session.inventoryChanged.connect(self._inventory_changed)
        session.signals.event.connect(self._event)
        self._requests: dict[str, SyncRequest] = {}
        self.last_refusal: SyncRefusal | None = None  # the newest refusal's prompt
        self._unsubscribe = runner.on_job(self._submitted)
        self._loading = False
        self.set_cluster(None)
        self.refresh_history()

    # cluster and schedule ------------------------------------------------------------------
    def set_cluster(self, name: str | None) -> None:
        if self._save_timer.isActive():  # the shown cluster's edit is saved before switching
            self._save_timer.stop()
            self._save_schedule()
        self.cluster = name
        self.title.setText(
            tr("Cluster {name}").format(name=name) if name else tr("No cluster selected")
        )
        self.direction.show_cluster(self.session.cluster(name) if name else None)
        running = self.runner.running(name) if name else None
        if running is not None and running is not self.job:
            self._follow(running)
        self.sync_button.setEnabled(bool(name))
        self.drift_button.setEnabled(bool(name))
        self.cancel_button.setEnabled(running is not None)
        self._show_schedule()

    def _show_schedule(self) -> None:
        schedule = self.schedule()
        self._loading = True
        try:
            for widget in (self.every, self.every_minutes, self.on_drift):
                widget.setEnabled(bool(self.cluster))
            self.every.setChecked(bool(schedule and schedule.every_minutes))
            if schedule and schedule.every_minutes:
                self.every_minutes.setValue(max(1, round(schedule.every_minutes)))
            self.on_drift.setChecked(bool(schedule and schedule.on_drift))
        finally:
            self._loading = False
        self._schedule_state(schedule)

    def _inventory_changed(self) -> None:
        self.direction.show_cluster(self.session.cluster(self.cluster) if self.cluster else None)
        if self._editing is None:  # an edit waiting to be saved is not overwritten
            self._show_schedule()

    def _saved_sync(self) -> SyncSchedule | None:
        cluster = self.session.cluster(self.cluster) if self.cluster else None
        return cluster.sync if cluster is not None else None

    def schedule(self) -> Schedule | None:
        """The shown cluster's schedule, as the inventory has it (None: no automatic sync)."""
        saved = self._saved_sync()
        if not self.cluster or saved is None or not saved.active:
            return None
        return Schedule.of(self.cluster, saved)

    def edited_schedule(self) -> SyncSchedule | None:
        """The cluster's ``[clusters.sync]`` as the controls now say (its other settings —
        drift check interval, TS outputs — kept); None when that is all default."""
        every = float(self.every_minutes.value()) if self.every.isChecked() else None
        saved = self._saved_sync() or SyncSchedule()
        engine = Engine(self.engine.currentData()) if every or self.on_drift.isChecked() else None
        wanted = dataclasses.replace(
            saved,
            every_minutes=every,
            on_drift=self.on_drift.isChecked(),
            engine=engine or saved.engine,
        )
        return None if wanted == SyncSchedule() else wanted

    def _schedule_edited(self, *_: object) -> None:
        if self._loading or not self.cluster:
            return
        self._editing = self.cluster
        wanted = self.edited_schedule()
        self._schedule_state(Schedule.of(self.cluster, wanted) if wanted else None, saving=True)
        self._save_timer.start()

    def _save_schedule(self) -> None:
        cluster, self._editing = self._editing, None
        if cluster is None or cluster != self.cluster:
            return
        found = self.session.cluster(cluster)
        if found is None:
            return
        wanted = self.edited_schedule()
        if wanted == found.sync:
            self._show_schedule()
            return
        self.session.tasks.spawn(
            self._store(dataclasses.replace(found, sync=wanted)),
            what=f"saving the sync schedule of {cluster} in the inventory",
        )

    async def _store(self, cluster: Cluster) -> None:
        try:
            await self.session.replace_cluster(cluster.name, cluster)
        finally:
            self._show_schedule()  # what the inventory holds now (unchanged if refused)
        self.scheduleChanged.emit(cluster.name)

    def _schedule_state(self, schedule: Schedule | None, *, saving: bool = False) -> None:
        self.schedule_state.setText(schedule_words(schedule, saving=saving))
        self.schedule_state.setToolTip(
            tr("Kept in the inventory file (the cluster's [clusters.sync] table)")
        )

    # work ----------------------------------------------------------------------------------
    def synchronize(self) -> Job[object] | None:
        if not self.cluster:
            return None
        request = SyncRequest(
            self.cluster, Engine(self.engine.currentData()), dry_run=self.dry_run.isChecked(),
            primary=self.direction.chosen(),
        )  # fmt: skip
        return self.submit(request)

    def submit(self, request: SyncRequest) -> Job[object]:
        self.job = self.runner.submit(request)
        self._follow(self.job)
        return self.job

    def _refused(self, job: Job[object], error: NewerChanges) -> None:
        """The target holds newer changes: say so, with the two ways on."""
        asked = self._requests.get(job.id) or SyncRequest(job.cluster or "")
        prompt = SyncRefusal(asked, error.changes)
        prompt.chosen.connect(self.submit)
        self.prompts.addWidget(prompt)
        self.progress.setVisible(False)  # nothing was copied: the prompt takes its room
        self.last_refusal = prompt

    def _submitted(self, job: Job[object], request: SyncRequest) -> None:
        """Any sync of the shown cluster (menu, schedule, drift) is followed here."""
        self._requests[job.id] = request  # what a refusal's prompt asks again (the last few)
        while len(self._requests) > 20:
            del self._requests[next(iter(self._requests))]
        if request.cluster == self.cluster and job is not self.job:
            self._follow(job)

    def _follow(self, job: Job[object]) -> None:
        self.job = job
        self.log.clear()
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        colour_progress(self.progress, None)
        self.failure.setVisible(False)
        self._started = time.monotonic()
        self.result.setText(f"▶ {job.title}…")
        self.result.setStyleSheet("")
        self.cancel_button.setEnabled(not job.state.is_final)
        self.servers.clear()
        self.tabs.setCurrentIndex(0)

    def server_activity(self, server: str, message: str) -> None:
        """The per-server column: the last thing each server did in this sync."""
        found = self.servers.findItems(server, Qt.MatchFlag.MatchExactly, 0)
        item = found[0] if found else QTreeWidgetItem([server, ""])
        if not found:
            self.servers.addTopLevelItem(item)
        item.setText(1, message)
        item.setToolTip(1, message)

    def cancel(self) -> None:
        if self.job is not None:
            self.runner.cancel(self.job)

    async def confirm(self, fix: Remediation) -> bool:
        """The runner's question: shown as a prompt in this panel until answered."""
        prompt = RemediationPrompt(fix, self)
        self.prompts.addWidget(prompt)
        self.last_prompt = prompt
        self.promptShown.emit(fix)
        try:
            return await prompt.answer()
        except asyncio.CancelledError:
            prompt.hide()
            prompt.deleteLater()
            raise

    def check_drift(self) -> None:
        if self.cluster:
            self.drift.setPlainText(tr("Comparing…"))
            self.tabs.setCurrentWidget(self.drift)
            self.session.tasks.spawn(self._drift(self.cluster), what="check drift")

    async def _drift(self, cluster: str) -> None:
        try:
            report = await self.runner.drift(cluster)
        except Exception as exc:
            self.drift.setPlainText(tr("Could not compare: {error}").format(error=exc))
            return
        self.show_drift(report)
        self.driftChecked.emit(report)

    def show_drift(self, report: DriftReport) -> None:
        self.drift.setPlainText("\n".join([*report.lines(), f"({report.seconds:.2f} s)"]))

    def refresh_history(self) -> None:
        self.history.clear()
        if self.session.store is None:
            return
        for rec in self.session.store.jobs(limit=200, kind="sync"):
            row = [when(rec.started), rec.cluster or "", tr(rec.state), rec.title, rec.summary]
            self.history.addTopLevelItem(QTreeWidgetItem(row))
        for column in range(self.history.columnCount() - 1):
            self.history.resizeColumnToContents(column)

    def _event(self, event: JobEvent) -> None:
        if self.job is None or event.job_id != self.job.id:
            return
        if event.kind is EventKind.PROGRESS and event.fraction is not None:
            self.progress.setValue(int(event.fraction * 100))
            left = time_left(time.monotonic() - self._started, event.fraction)
            parts = [p for p in (event.message, left) if p]
            self.progress.setFormat("  ".join(["%p%", *parts]))
        elif event.kind is not EventKind.PROGRESS:
            self.log.appendPlainText(format_event(event))  # as the jobs panel writes it
        if event.server and event.message:
            self.server_activity(event.server, event.message)
        if event.kind in FINAL:
            self.cancel_button.setEnabled(False)
            self.progress.setFormat("%p%")
            job = self.job
            words = f"{job.cluster or self.cluster}: {sync_outcome(event.kind, event.message)}"
            if event.kind is EventKind.FINISHED:
                self.progress.setValue(100)
                colour_progress(self.progress, State.OK)
                self.result.setText(f"✔ {words}")
                self.result.setStyleSheet(
                    f"color: {state_colour(State.OK).name()}; font-weight: 600;"
                )
            elif event.kind is EventKind.FAILED:
                colour_progress(self.progress, State.FAILED)
                self.result.setText(f"✖ {words}")
                self.result.setStyleSheet(
                    f"color: {state_colour(State.FAILED).name()}; font-weight: 600;"
                )
                if isinstance(job.error, NewerChanges):
                    self._refused(job, job.error)  # its prompt says why and the ways on
                else:
                    request = self._requests.get(job.id)
                    outcome = failure_outcome(self.session, job, request, event.message)
                    self.failure.show_outcome(outcome)
            else:
                colour_progress(self.progress, State.WARNING)
                self.result.setText(f"■ {words}")
                self.result.setStyleSheet("")
            self.result.setToolTip(event.message)
            self.session.tasks.spawn(self._refresh_after(job), what="sync history")

    async def _refresh_after(self, job: Job[object]) -> None:
        with contextlib.suppress(BaseException):
            await job.wait()  # the history row is written after the final event
        self.refresh_history()
