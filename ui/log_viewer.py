"""Help ▸ Show log: PMC's log file (``pmc.log``), read only, newest last, with a filter on
the text and on the level, Copy and Reload. The file is read off the GUI thread; a record's
continuation lines (a traceback) stay with their record when filtering."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pmc.log import log_file_path

from .icons import icon
from .tasks import Tasks
from .translation import count, tr
from .widgets import log_view

LAST_BYTES = 2 * 1024 * 1024  # the log's tail that is shown (it rotates at 5 MB)
_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (\w+)\s")
LEVELS = (
    ("All messages", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    ("Warnings and errors", ("WARNING", "ERROR", "CRITICAL")),
    ("Errors only", ("ERROR", "CRITICAL")),
)


def records(text: str) -> list[tuple[str, str]]:
    """The log's records as (level, text with its continuation lines)."""
    found: list[tuple[str, str]] = []
    for line in text.splitlines():
        match = _RECORD.match(line)
        if match or not found:
            found.append((match.group(1) if match else "INFO", line))
        else:
            level, previous = found[-1]
            found[-1] = (level, f"{previous}\n{line}")
    return found


def read_tail(path: Path) -> str:
    """The last :data:`LAST_BYTES` of ``path`` (from a whole line), or "" if there is none."""
    try:
        with path.open("rb") as file:
            size = file.seek(0, 2)
            file.seek(max(0, size - LAST_BYTES))
            data = file.read()
    except FileNotFoundError:
        return ""
    if len(data) == LAST_BYTES:
        data = data.split(b"\n", 1)[-1]
    return data.decode("utf-8", errors="replace")


class LogViewer(QDialog):
    def __init__(self, tasks: Tasks, parent: QWidget | None = None, path: Path | None = None):
        super().__init__(parent)
        self.setObjectName("logViewer")
        self.setWindowTitle(tr("PMC log"))
        self.setWindowIcon(icon("log"))
        self.tasks = tasks
        self.path = path or log_file_path()
        self.all: list[tuple[str, str]] = []
        self.where = QLabel(tr("Log file: {path}").format(path=self.path))
        self.where.setProperty("role", "hint")
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.filter = QLineEdit()
        self.filter.setObjectName("logFilter")
        self.filter.setPlaceholderText(tr("Filter: server, job, words…"))
        self.filter.setClearButtonEnabled(True)
        self.filter.setAccessibleName(tr("Filter the log"))
        self.level = QComboBox()
        self.level.setObjectName("logLevel")
        self.level.setAccessibleName(tr("Level"))
        for title, _levels in LEVELS:
            self.level.addItem(tr(title))
        self.text = log_view("logText")
        self.text.setAccessibleName(tr("Log records"))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.text.setFont(font)
        self.shown_count = QLabel()
        self.shown_count.setProperty("role", "hint")
        reload_button = QPushButton(icon("refresh"), tr("&Reload"))
        reload_button.clicked.connect(self.reload)
        copy_button = QPushButton(icon("copy"), tr("&Copy"))
        copy_button.setObjectName("copyLog")
        copy_button.setToolTip(tr("Copy the lines shown to the clipboard"))
        copy_button.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.text.toPlainText())
        )
        self.filter.textChanged.connect(self.show_records)
        self.level.currentIndexChanged.connect(self.show_records)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.level)
        top.addWidget(reload_button)
        top.addWidget(copy_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addLayout(top)
        layout.addWidget(self.text, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.shown_count, 1)
        bottom.addWidget(buttons)
        layout.addLayout(bottom)
        self.resize(980, 600)

    def reload(self) -> None:
        self.text.setPlainText(tr("Reading the log…"))
        self.tasks.spawn(self._read(), what="reading the log")

    async def _read(self) -> None:
        text = await self.tasks.in_thread(read_tail, self.path)
        self.all = records(text)
        self.show_records()

    def show_records(self, *_: object) -> None:
        words = self.filter.text().lower().split()
        levels = LEVELS[max(0, self.level.currentIndex())][1]
        shown = [
            body
            for level, body in self.all
            if level in levels and all(w in body.lower() for w in words)
        ]
        if not self.all:
            self.text.setPlainText(tr("The log is empty."))
        else:
            self.text.setPlainText("\n".join(shown))
            self.text.verticalScrollBar().setValue(self.text.verticalScrollBar().maximum())
        self.shown_count.setText(
            tr("{shown} of {total}").format(shown=len(shown), total=count(len(self.all), "record"))
        )
