"""Host-key trust: the first contact with a server asks the operator (SHA256 fingerprint and
key type); a changed key — of the same type or another — is a blocking warning with both
fingerprints, and nothing connects until the operator replaces the key (Server > Host key >
Replace…, :class:`ReplaceHostKeyDialog`, audited). Fingerprints show whole, in a monospace,
selectable field that wraps (:class:`MonoText`). :class:`DialogTrustDecision` is the GUI's
:class:`pmc.remote.host_keys.TrustDecision`."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QResizeEvent, QTextOption
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from pmc.errors import InputError
from pmc.remote.errors import HostKeyChanged, UnknownHostKey
from pmc.remote.host_keys import check_fingerprint

from .async_dialog import ask
from .icons import icon
from .translation import tr
from .widgets import wrapped_label

WRAP_WIDTH = 420  # pixels: a field wider than this wraps its text instead of growing


class MonoText(QPlainTextEdit):
    """A fingerprint or key type as the operator compares it: monospace, selectable, never
    cut — a long fingerprint wraps (anywhere: it has no spaces) and the field grows to show
    every line."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)
        self.setReadOnly(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAnywhere)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.viewport().setAutoFillBackground(False)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # the dialog's buttons keep the focus
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().setDocumentMargin(1)
        # one line when it fits in WRAP_WIDTH (a fingerprint at usual font sizes), else it wraps
        self.setMinimumWidth(min(self._one_line(), WRAP_WIDTH))
        self._fit()

    def text(self) -> str:
        return self.toPlainText()

    def lines(self) -> int:
        """How many lines the text takes at the field's width."""
        return max(1, int(self.document().size().height()))

    def _fit(self) -> None:
        metrics = self.fontMetrics()
        margins = self.contentsMargins()
        height = self.lines() * metrics.lineSpacing() + 2 * int(self.document().documentMargin())
        self.setFixedHeight(height + margins.top() + margins.bottom() + 2)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _one_line(self) -> int:
        return self.fontMetrics().horizontalAdvance(self.toPlainText()) + 12

    def sizeHint(self) -> QSize:
        return QSize(min(self._one_line(), 520), self.height())


def _mono(text: str, name: str) -> MonoText:
    field = MonoText(text)
    field.setAccessibleName(name)
    return field


def _lay_out(
    dialog: QDialog,
    icon_name: str,
    *,
    title: QLabel,
    grid: QGridLayout,
    note: QLabel,
    buttons: QDialogButtonBox,
) -> None:
    """A host key dialog: its icon beside the title, the key's fields and a note (the labels
    wrap, the dialog grows with them); the buttons below."""
    picture = QLabel()
    picture.setPixmap(icon(icon_name).pixmap(48, 48))
    picture.setAlignment(Qt.AlignmentFlag.AlignTop)
    title.setWordWrap(True)
    note.setWordWrap(True)
    text = QVBoxLayout()
    text.addWidget(title)
    text.addLayout(grid)
    text.addWidget(note)
    row = QHBoxLayout()
    row.addWidget(picture)
    row.addLayout(text, 1)
    layout = QVBoxLayout(dialog)
    layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
    layout.addLayout(row)
    layout.addWidget(buttons)


class NewHostKeyDialog(QDialog):
    """First contact: trust this key? Default is not to trust."""

    def __init__(self, question: UnknownHostKey, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newHostKeyDialog")
        self.setWindowTitle(tr("Unknown host key"))
        self.question = question
        title = QLabel(
            tr("PMC has not connected to <b>{server}</b> before.").format(server=question.where)
        )
        explain = QLabel(
            tr("Compare this fingerprint with the one shown on the server's own console "
               "(<tt>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</tt>). Trust the key only "
               "if they match: PMC will then remember it and refuse any other key for this "
               "server.")
        )  # fmt: skip
        grid = QGridLayout()
        grid.addWidget(QLabel(tr("Key type:")), 0, 0)
        grid.addWidget(_mono(question.key_type, tr("Key type")), 0, 1)
        grid.addWidget(QLabel(tr("Fingerprint:")), 1, 0)
        self.fingerprint = _mono(question.fingerprint, tr("Fingerprint"))
        self.fingerprint.setObjectName("fingerprint")
        grid.addWidget(self.fingerprint, 1, 1)
        grid.addWidget(QLabel(tr("Stored as:")), 2, 0)
        grid.addWidget(_mono(question.host_id, tr("Stored as")), 2, 1)
        self.buttons = QDialogButtonBox()
        self.trust_button = QPushButton(icon("key"), tr("&Trust and connect"))
        self.trust_button.setObjectName("trustButton")
        self.refuse_button = QPushButton(tr("&Do not trust"))
        self.refuse_button.setObjectName("refuseButton")
        self.buttons.addButton(self.trust_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.refuse_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.refuse_button.setDefault(True)
        self.refuse_button.setAutoDefault(True)
        self.trust_button.setAutoDefault(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        _lay_out(self, "key", title=title, grid=grid, note=explain, buttons=self.buttons)


class ChangedHostKeyDialog(QDialog):
    """A changed key: a warning that blocks. PMC sent nothing to the server."""

    def __init__(self, error: HostKeyChanged, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("changedHostKeyDialog")
        self.setWindowTitle(tr("WARNING: host key changed"))
        self.error = error
        self.replace_requested = False
        title = QLabel(
            tr("<b>The host key of {server} has changed.</b><br>Someone may be intercepting the "
               "connection (a man-in-the-middle attack), or the server was reinstalled or its "
               "keys were regenerated.").format(server=error.where)
        )  # fmt: skip
        grid = QGridLayout()
        grid.addWidget(QLabel(tr("Trusted key:")), 0, 0)
        grid.addWidget(_mono(error.key_type, tr("Trusted key type")), 0, 1)
        self.old = _mono(error.old_fingerprint, tr("Trusted fingerprint"))
        self.old.setObjectName("oldFingerprint")
        grid.addWidget(self.old, 0, 2)
        grid.addWidget(QLabel(tr("Key now presented:")), 1, 0)
        self.new_type = _mono(error.new_key_type, tr("Type of the key now presented"))
        grid.addWidget(self.new_type, 1, 1)
        self.new = _mono(error.new_fingerprint, tr("Fingerprint now presented"))
        self.new.setObjectName("newFingerprint")
        grid.addWidget(self.new, 1, 2)
        grid.setColumnStretch(2, 1)  # the fingerprints take the room (and wrap if they must)
        outcome = QLabel(
            tr("PMC refused to log in and sent nothing to this server. It will keep refusing "
               "until you act. If the change is expected, read the new key's fingerprint on the "
               "server's console and replace the key with it.")
        )  # fmt: skip
        self.buttons = QDialogButtonBox()
        self.close_button = QPushButton(tr("&Close"))
        self.close_button.setObjectName("closeButton")
        self.replace_button = QPushButton(icon("key"), tr("&Replace the key…"))
        self.replace_button.setObjectName("replaceKeyButton")
        self.buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.addButton(self.replace_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        self.close_button.setDefault(True)
        self.buttons.rejected.connect(self.reject)
        self.replace_button.clicked.connect(self._replace)
        _lay_out(self, "warning", title=title, grid=grid, note=outcome, buttons=self.buttons)

    def _replace(self) -> None:
        self.replace_requested = True
        self.accept()


class ReplaceHostKeyDialog(QDialog):
    """Server > Host key > Replace…: the fingerprint read on the server's console. PMC then
    trusts the key the server presents only if its fingerprint is this one."""

    def __init__(self, server: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replaceHostKeyDialog")
        self.setWindowTitle(tr("Replace host key"))
        title = wrapped_label(
            "replaceKeyTitle",
            tr("Replace the trusted host key of <b>{server}</b>.").format(server=server),
        )
        explain = wrapped_label(
            "replaceKeyExplanation",
            tr("Read the fingerprint of the server's new key on its own console "
               "(<tt>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</tt>) and enter it here. "
               "PMC trusts the key the server presents only if it has this fingerprint, forgets "
               "the old key, and records the change in the audit log."),
        )  # fmt: skip
        self.fingerprint = QLineEdit()
        self.fingerprint.setObjectName("fingerprintEdit")
        self.fingerprint.setPlaceholderText(tr("SHA256:…"))
        self.fingerprint.setAccessibleName(tr("Fingerprint of the new key"))
        self.problem = QLabel()
        self.problem.setObjectName("fingerprintProblem")
        self.buttons = QDialogButtonBox()
        self.replace_button = QPushButton(icon("key"), tr("&Replace"))
        self.replace_button.setObjectName("replaceButton")
        self.replace_button.setEnabled(False)
        self.buttons.addButton(self.replace_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.fingerprint.textChanged.connect(self._check)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(explain)
        layout.addWidget(self.fingerprint)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)

    def _check(self, text: str) -> None:
        try:
            check_fingerprint(text, where="fingerprint")
        except InputError:
            self.problem.setText(tr("SHA256: and 43 characters, as ssh-keygen prints it"))
            self.replace_button.setEnabled(False)
        else:
            self.problem.setText("")
            self.replace_button.setEnabled(True)

    @property
    def value(self) -> str:
        return self.fingerprint.text().strip()


class DialogTrustDecision:
    """The GUI's trust decision: one dialog at a time, opened with ``open()`` (never exec)."""

    def __init__(self, parent: QWidget | None) -> None:
        self.parent = parent
        self._lock = asyncio.Lock()
        self._refused: set[str] = set()
        self.last_dialog: NewHostKeyDialog | None = None
        self.asked = 0

    def forget_refusals(self) -> None:
        self._refused.clear()

    async def decide(self, question: UnknownHostKey) -> bool:
        """Ask once per key: a key the operator refused is refused again without a dialog
        (background refreshes do not nag) until the operator chooses Server ▸ Connect."""
        async with self._lock:
            if question.fingerprint in self._refused:
                return False
            dialog = NewHostKeyDialog(question, self.parent)
            self.last_dialog = dialog
            self.asked += 1
            try:
                trusted = await ask(dialog) == QDialog.DialogCode.Accepted
            finally:
                dialog.deleteLater()
            if not trusted:
                self._refused.add(question.fingerprint)
            return trusted


async def warn_changed_key(error: HostKeyChanged, parent: QWidget | None) -> bool:
    """Show the changed-key warning; True if the operator chose to replace the key."""
    dialog = ChangedHostKeyDialog(error, parent)
    try:
        await ask(dialog)
        return dialog.replace_requested
    finally:
        dialog.deleteLater()


async def ask_fingerprint(server: str, parent: QWidget | None) -> str | None:
    """The new key's fingerprint the operator enters, or None if he cancels."""
    dialog = ReplaceHostKeyDialog(server, parent)
    try:
        if await ask(dialog) != QDialog.DialogCode.Accepted:
            return None
        return dialog.value
    finally:
        dialog.deleteLater()
