"""The jobs panel: every running and past job with its progress, live log, duration and
result; history from PMC's SQLite store. Events arrive through the session's JobSignals."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pmc.health_model import State
from pmc.jobs import EventKind, Job, JobEvent, JobState
from pmc.store import JobRecord, LogRecord

from .health_look import colour_progress
from .icons import icon
from .session import Session
from .translation import count, day_or_time, tr
from .widgets import log_view

COLUMNS = ("Job", "Cluster", "State", "Progress", "Started", "Duration", "Result")
JOB_COLUMN_MAX = 420  # the Job column grows with its titles up to this many pixels
ID_ROLE = Qt.ItemDataRole.UserRole


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s"


def time_left(elapsed: float, fraction: float) -> str:
    """ "about N min left" from the time spent and the fraction done ("" while too early to
    tell: under 5 % or 3 s)."""
    if fraction <= 0.05 or fraction >= 1.0 or elapsed < 3.0:
        return ""
    left = elapsed * (1.0 - fraction) / fraction
    if left < 60:
        return tr("about {seconds} s left").format(seconds=max(5, round(left / 5.0) * 5))
    return tr("about {minutes} min left").format(minutes=round(left / 60.0))


def format_event(event: JobEvent | LogRecord) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
    kind = event.kind.value if isinstance(event, JobEvent) else event.kind
    server = f"[{event.server}] " if event.server else ""
    marks = {
        "step-started": "▶ ",
        "step-finished": "✔ ",
        "step-failed": "✖ ",
        "failed": "✖ ",
        "finished": "✔ ",
        "cancelled": "■ ",
    }
    return f"{stamp}  {marks.get(kind, '')}{server}{event.message}"


class JobsPanel(QWidget):
    jobSelected = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobsPanel")
        self.session = session
        self.tree = QTreeWidget()
        self.tree.setObjectName("jobsTree")
        self.tree.setHeaderLabels([tr(c) for c in COLUMNS])
        self.tree.setAccessibleName(tr("Jobs"))
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.itemSelectionChanged.connect(self._selected)
        self.log = log_view("jobLog")
        self.log.setMaximumBlockCount(20000)
        self.log.setPlaceholderText(tr("Select a job to see its log."))
        self.log.setAccessibleName(tr("Job log"))
        self.cancel_button = QPushButton(icon("cancel"), tr("Cancel job"))
        self.cancel_button.setObjectName("cancelJob")
        self.cancel_button.setToolTip(
            tr("Ask the selected job to stop at its next safe point; no server is left "
               "half-changed")
        )  # fmt: skip
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_selected)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.log)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        right_layout.addLayout(buttons)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tree)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._bars: dict[str, QProgressBar] = {}
        self._jobs: dict[str, Job[object]] = {}
        self._history: dict[str, JobRecord] = {}
        self._shown: str | None = None
        session.jobStarted.connect(self.add_job)
        session.signals.event.connect(self.on_event)
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        self._ticker.start()

    # history -------------------------------------------------------------------------------
    async def load_history(self) -> None:
        store = self.session.store
        if store is None:
            return
        records = await self.session.tasks.in_thread(store.jobs)
        for record in reversed(records):
            if record.id in self._items:
                continue
            self._history[record.id] = record
            item = self._new_item(record.id)
            item.setText(0, record.title)
            item.setText(1, record.cluster or "")
            self._set_state(item, record.state)
            item.setText(4, day_or_time(record.started))
            item.setText(5, format_duration(record.duration))
            item.setText(6, _first_line(record.summary))
            item.setToolTip(6, record.summary)
            self._bars[record.id].setValue(100 if record.state == "succeeded" else 0)
            colour_progress(self._bars[record.id], _final_state(record.state))
        self._fit_job_column()

    # live jobs -----------------------------------------------------------------------------
    def add_job(self, job: Job[object]) -> None:
        self._jobs[job.id] = job
        item = self._new_item(job.id, top=True)
        item.setText(0, job.title)
        item.setText(1, job.cluster or "")
        self._set_state(item, job.state.value)
        item.setText(4, day_or_time(job.started or time.time()))
        item.setToolTip(0, job.title)
        self.tree.setCurrentItem(item)
        self._fit_job_column()

    def on_event(self, event: JobEvent) -> None:
        item = self._items.get(event.job_id)
        job = self._jobs.get(event.job_id)
        if item is None or job is None:
            return
        bar = self._bars[event.job_id]
        if event.kind is EventKind.PROGRESS and event.fraction is not None:
            bar.setRange(0, 100)
            bar.setValue(int(event.fraction * 100))
        elif event.kind is EventKind.STARTED:
            bar.setRange(0, 0)  # busy until the first progress event
        elif event.kind in (EventKind.FINISHED, EventKind.FAILED, EventKind.CANCELLED):
            bar.setRange(0, 100)
            bar.setValue(100 if event.kind is EventKind.FINISHED else bar.value())
            colour_progress(bar, _final_state(job.state.value))
            item.setText(6, _first_line(event.message))  # one row per job; all in the tip
            item.setToolTip(6, event.message)
            item.setText(5, format_duration(job.duration))
        self._set_state(item, job.state.value)
        if self._shown == event.job_id and event.kind is not EventKind.PROGRESS:
            self.log.appendPlainText(format_event(event))
        self._update_cancel()

    def cancel_selected(self) -> None:
        job = self._jobs.get(self._shown or "")
        if job is not None:
            job.cancel()

    def selected_job(self) -> Job[object] | None:
        return self._jobs.get(self._shown or "")

    # internals -----------------------------------------------------------------------------
    def _new_item(self, job_id: str, *, top: bool = False) -> QTreeWidgetItem:
        item = QTreeWidgetItem()
        item.setData(0, ID_ROLE, job_id)
        item.setIcon(0, icon("jobs"))
        if top:
            self.tree.insertTopLevelItem(0, item)
        else:
            self.tree.addTopLevelItem(item)
        bar = QProgressBar()
        bar.setRange(0, 100)
        bar.setValue(0)
        bar.setTextVisible(True)
        bar.setMaximumHeight(16)
        self.tree.setItemWidget(item, 3, bar)
        self._items[job_id] = item
        self._bars[job_id] = bar
        return item

    def _set_state(self, item: QTreeWidgetItem, state: str) -> None:
        words = {
            "pending": "waiting",
            "running": "running",
            "succeeded": "succeeded",
            "failed": "failed",
            "cancelled": "cancelled",
        }
        item.setText(2, tr(words.get(state, state)))
        icons = {"succeeded": "verify", "failed": "failed", "cancelled": "cancel"}
        item.setIcon(2, icon(icons[state]) if state in icons else icon("refresh"))

    def _selected(self) -> None:
        item = self.tree.currentItem()
        job_id = item.data(0, ID_ROLE) if item is not None else None
        self._shown = job_id
        self.log.clear()
        if job_id is None:
            self._update_cancel()
            return
        job = self._jobs.get(job_id)
        if job is not None:
            lines = [format_event(e) for e in list(job.events) if e.kind is not EventKind.PROGRESS]
            self.log.setPlainText("\n".join(lines))
        elif job_id in self._history and self.session.store is not None:
            self.session.tasks.spawn(self._show_history_log(job_id), what="job log")
        self._update_cancel()
        self.jobSelected.emit(job_id)

    async def _show_history_log(self, job_id: str) -> None:
        store = self.session.store
        assert store is not None
        records = await self.session.tasks.in_thread(store.job_log_of, job_id)
        if self._shown == job_id:
            self.log.setPlainText("\n".join(format_event(r) for r in records))

    def _update_cancel(self) -> None:
        job = self.selected_job()
        self.cancel_button.setEnabled(
            job is not None and job.state is JobState.RUNNING and not job.cancel_requested
        )

    def _fit_job_column(self) -> None:
        self.tree.resizeColumnToContents(0)
        self.tree.setColumnWidth(0, min(JOB_COLUMN_MAX, self.tree.columnWidth(0)))

    def _tick(self) -> None:
        for job_id, job in self._jobs.items():
            if job.state is JobState.RUNNING:
                self._items[job_id].setText(5, format_duration(job.duration))


def _final_state(state: str) -> State | None:
    """The colour a finished job's bar takes (None: running, the palette's own)."""
    return {"succeeded": State.OK, "failed": State.FAILED, "cancelled": State.WARNING}.get(state)


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    if len(lines) <= 1:
        return text.strip()
    more = count(len(lines) - 1, "more line")
    return f"{lines[0]} (+{more})"
