"""A read-only text view that colours unified diffs (added green, removed red, hunks blue)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument
from PySide6.QtWidgets import QPlainTextEdit, QWidget


class DiffHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.formats: dict[str, QTextCharFormat] = {}
        for prefix, colour in (
            ("+", "#2e9e4f"),
            ("-", "#d62d20"),
            ("@", "#2b7bd6"),
            ("#", "#8a96a3"),
        ):
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            self.formats[prefix] = fmt
        bold = QTextCharFormat()
        bold.setFontWeight(QFont.Weight.Bold)
        self.header = bold

    def highlightBlock(self, text: str) -> None:
        if text.startswith(("+++", "---")):
            self.setFormat(0, len(text), self.header)
        elif text[:1] in self.formats:
            self.setFormat(0, len(text), self.formats[text[:1]])


class DiffView(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setProperty("role", "log")
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.highlighter = DiffHighlighter(self.document())
