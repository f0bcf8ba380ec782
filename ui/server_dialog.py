"""Server ▸ Add… / Edit…: a server's addresses, SSH access and role, checked as the operator
types (the seed's typos 192.168.1.018 and 192.158.1.105 are caught on the field that holds
them). A password or key passphrase goes to the OS keyring only; the dialog shows whether one
is stored and offers to forget it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from pmc import secrets
from pmc.errors import PmcError
from pmc.inventory import AuthMethod, Cluster, Inventory, Role, Server
from pmc.inventory_rules import check_address
from pmc.validation import check_server

from .form_field import FieldError, WrappedLabel
from .icons import icon
from .tasks import Tasks
from .translation import tr

AUTH_WORDS = {
    AuthMethod.PASSWORD: "Password (kept in the OS keyring)",
    AuthMethod.KEY: "Private key file",
    AuthMethod.AGENT: "SSH agent",
}
FIELD_WIDTH = 340
ROLE_TEXT = {
    Role.MAIN: "main (the Web Console's master)",
    Role.BACKUP: "backup (the Web Console's spooler)",
    Role.ADMIN: "admin",
    Role.PLAYER: "player",
}


@dataclass(frozen=True)
class ServerEdit:
    """What the dialog decided: the server, a new secret (or None to keep), forget the old."""

    server: Server
    secret: str | None
    forget: bool


class ServerDialog(QDialog):
    def __init__(
        self,
        cluster: Cluster,
        inventory: Inventory,
        tasks: Tasks,
        *,
        server: Server | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("serverDialog")
        self.cluster = cluster
        self.inventory = inventory
        self.tasks = tasks
        self.original = server
        self.forget_requested = False
        self._stored = False
        self.setWindowTitle(
            tr("Edit server {name}").format(name=server.name) if server else tr("Add server")
        )
        self.setWindowIcon(icon("server"))
        self.setMinimumWidth(580)  # the form's fields are at least FIELD_WIDTH wide too

        self.name = QLineEdit(server.name if server else "")
        self.name.setMinimumWidth(FIELD_WIDTH)
        self.name.setPlaceholderText(tr("main"))
        self.management = QLineEdit(server.management_address if server else "")
        self.management.setPlaceholderText("192.168.1.105")
        self.management.setProperty(
            "baseToolTip", tr("Management interface (eth3): SSH, Web Console, Playout API")
        )
        self.redundancy = QLineEdit((server.redundancy_address or "") if server else "")
        self.redundancy.setPlaceholderText(tr("172.17.59.128 (eth2, for copy config)"))
        self.redundancy.setProperty(
            "baseToolTip", tr("Redundancy interface (eth2): the direct link used by copy config")
        )
        self.role = QComboBox()
        for role in Role:
            self.role.addItem(tr(ROLE_TEXT[role]), role)
        default_role = server.role if server else _next_role(cluster)
        self.role.setCurrentIndex(list(Role).index(default_role))
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(server.ssh_port if server else 22)
        self.user = QLineEdit(server.ssh_user if server else "root")
        self.auth = QComboBox()
        for method in AuthMethod:
            self.auth.addItem(tr(AUTH_WORDS[method]), method)
        self.auth.setCurrentIndex(
            list(AuthMethod).index(server.auth if server else AuthMethod.PASSWORD)
        )
        self.key_file = QLineEdit((server.key_file or "") if server else "")
        self.key_file.setPlaceholderText(tr("~/.ssh/id_ed25519"))
        browse = QPushButton(tr("Browse…"))
        browse.clicked.connect(self._browse)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_file, 1)
        key_row.addWidget(browse)
        self.key_row = QWidget()
        self.key_row.setLayout(key_row)
        key_row.setContentsMargins(0, 0, 0, 0)
        self.secret = QLineEdit()
        self.secret.setObjectName("secretField")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_state = WrappedLabel(tr("Checking the keyring…"))
        self.secret_state.setObjectName("secretState")
        self.secret_state.setProperty("role", "hint")
        self.secret_state.setWordWrap(True)
        self.forget = QPushButton(icon("remove"), tr("Forget"))
        self.forget.setObjectName("forgetSecret")
        self.forget.setToolTip(tr("Delete the stored secret from the OS keyring"))
        self.forget.setEnabled(False)
        self.forget.clicked.connect(self._forget)
        secret_state_row = QHBoxLayout()
        secret_state_row.addWidget(self.secret_state, 1)
        secret_state_row.addWidget(self.forget)

        self.errors = {
            "name": FieldError(self.name),
            "management_address": FieldError(self.management),
            "redundancy_address": FieldError(self.redundancy),
            "role": FieldError(self.role),
            "ssh_port": FieldError(self.port),
            "ssh_user": FieldError(self.user),
            "key_file": FieldError(self.key_file),
        }
        self.general = WrappedLabel()
        self.general.setProperty("role", "field-error")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self._row(form, tr("&Name:"), self.name, "name")
        self._row(form, tr("&Management address (eth3):"), self.management, "management_address")
        self._row(form, tr("&Redundancy address (eth2):"), self.redundancy, "redundancy_address")
        self._row(form, tr("R&ole:"), self.role, "role")
        self._row(form, tr("SSH &port:"), self.port, "ssh_port")
        self._row(form, tr("SSH &user:"), self.user, "ssh_user")
        form.addRow(tr("&Authentication:"), self.auth)
        self.key_label = QLabel(tr("&Key file:"))
        self.key_label.setBuddy(self.key_file)
        form.addRow(self.key_label, self.key_row)
        form.addRow("", self.errors["key_file"])
        self.secret_label = QLabel(tr("Pass&word:"))
        self.secret_label.setBuddy(self.secret)
        form.addRow(self.secret_label, self.secret)
        form.addRow("", secret_state_row)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        intro = QLabel(
            tr("Cluster <b>{name}</b> — {architecture}").format(
                name=cluster.name, architecture=tr(cluster.architecture.title)
            )
        )
        layout = QVBoxLayout(self)
        # the dialog grows with its messages (a wrapped error is never cut)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.general)
        layout.addWidget(self.buttons)

        for widget in (self.name, self.management, self.redundancy, self.user, self.key_file):
            widget.textChanged.connect(self.revalidate)
        self.user.textChanged.connect(self._placeholder)
        self.port.valueChanged.connect(self.revalidate)
        self.role.currentIndexChanged.connect(self.revalidate)
        self.auth.currentIndexChanged.connect(self._auth_changed)
        self._auth_changed()
        if server is not None:
            self.tasks.spawn(self._look_up_secret(), what="keyring look-up")
        else:
            self._show_secret_state(False)

    def _row(self, form: QFormLayout, label: str, widget: QWidget, key: str) -> None:
        form.addRow(label, widget)
        form.addRow("", self.errors[key])

    # values --------------------------------------------------------------------------------
    @property
    def auth_method(self) -> AuthMethod:
        return AuthMethod(self.auth.currentData())

    def candidate(self) -> Server:
        base = self.original or Server(name="", management_address="")
        return dataclasses.replace(
            base,
            name=self.name.text().strip(),
            management_address=self.management.text().strip(),
            redundancy_address=self.redundancy.text().strip() or None,
            role=Role(self.role.currentData()),
            ssh_port=self.port.value(),
            ssh_user=self.user.text().strip(),
            auth=self.auth_method,
            key_file=(self.key_file.text().strip() or None)
            if self.auth_method is AuthMethod.KEY
            else None,
        )

    def result_edit(self) -> ServerEdit:
        secret = self.secret.text()
        return ServerEdit(
            server=self.candidate(),
            secret=secret if secret and self.auth_method is not AuthMethod.AGENT else None,
            forget=self.forget_requested,
        )

    # validation ----------------------------------------------------------------------------
    def revalidate(self) -> bool:
        """Show every problem on its field; True when there is none."""
        found: dict[str, str] = {}
        general: list[str] = []
        if not self.name.text().strip():
            found["name"] = tr("Give the server a name, e.g. main or backup.")
        renamed = self.original is None or self.original.name != self.name.text().strip()
        if renamed and self.name.text().strip() in {s.name for s in self.cluster.servers}:
            found["name"] = tr("The cluster already has a server called {name!r}.").format(
                name=self.name.text()
            )
        management = self.management.text().strip()
        if not management:
            found["management_address"] = tr("The management address (eth3) is needed.")
        else:
            problem = check_address(management)
            if problem:
                found["management_address"] = problem
        redundancy = self.redundancy.text().strip()
        if redundancy:
            problem = check_address(redundancy)
            if problem:
                found["redundancy_address"] = problem
        if not found:
            cluster = self.cluster
            if self.original is not None and self.original.name != self.candidate().name:
                cluster = dataclasses.replace(
                    cluster,
                    servers=tuple(s for s in cluster.servers if s.name != self.original.name),
                )
            for issue in check_server(cluster, self.candidate(), inventory=self.inventory):
                if issue.server != self.candidate().name:
                    continue  # the cluster's own problems are shown elsewhere
                field = issue.field or ""
                key = field if field in self.errors else ""
                if key:
                    found.setdefault(key, issue.message)
                else:
                    general.append(issue.message)
        for key, label in self.errors.items():
            label.show_error(found.get(key))
        self.general.setText("\n".join(general))
        self.general.setVisible(bool(general))
        ok = not found and not general
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)
        return ok

    def event(self, event: QEvent) -> bool:
        kind = event.type()  # read first: a deferred delete ends the dialog in super().event()
        handled = super().event(event)
        if kind != QEvent.Type.LayoutRequest:
            return handled
        layout = self.layout()
        if self.isVisible() and layout is not None:
            # as tall as the messages need at this width, no taller (they come and go)
            height = layout.heightForWidth(self.width()) if layout.hasHeightForWidth() else -1
            height = max(height, layout.minimumSize().height())
            if height != self.height():
                self.resize(self.width(), height)
        return handled

    def accept(self) -> None:
        if self.revalidate():
            super().accept()

    # secrets -------------------------------------------------------------------------------
    def _secret_kind(self) -> secrets.SecretKind:
        if self.auth_method is AuthMethod.KEY:
            return secrets.SecretKind.KEY_PASSPHRASE
        return secrets.SecretKind.SSH_PASSWORD

    async def _look_up_secret(self) -> None:
        assert self.original is not None
        try:
            stored = await secrets.has_secret_async(
                self._secret_kind(), self.cluster.name, self.original.name
            )
        except PmcError as exc:
            self.secret_state.setText(tr("Keyring not available: {why}").format(why=exc))
            return
        self._show_secret_state(stored)

    def _show_secret_state(self, stored: bool) -> None:
        self._stored = stored
        what = tr(self._secret_kind().label)
        if self.forget_requested:
            self.secret_state.setText(
                tr("The {what} will be deleted from the keyring.").format(what=what)
            )
        elif stored:
            self.secret_state.setText(
                tr("A {what} is stored in the OS keyring. Type a new one to replace it.").format(
                    what=what
                )
            )
        else:
            self.secret_state.setText(
                tr("No {what} stored yet. What you type is kept in the OS keyring only.").format(
                    what=what
                )
            )
        self.forget.setEnabled(stored and not self.forget_requested)
        self._placeholder()

    def _forget(self) -> None:
        self.forget_requested = True
        self.secret.clear()
        self._show_secret_state(self._stored)

    def _auth_changed(self) -> None:
        method = self.auth_method
        is_key = method is AuthMethod.KEY
        self.key_label.setVisible(is_key)
        self.key_row.setVisible(is_key)
        uses_secret = method is not AuthMethod.AGENT
        self.secret_label.setText(tr("Key pass&phrase:") if is_key else tr("Pass&word:"))
        self.secret.setEnabled(uses_secret)
        self._placeholder()
        if self.original is not None:
            self.tasks.spawn(self._look_up_secret(), what="keyring look-up")
        self.revalidate()

    def _placeholder(self) -> None:
        """What the secret field says while empty: only a stored secret can be kept."""
        if self.auth_method is AuthMethod.AGENT:
            text = tr("not used with the SSH agent")
        elif self._stored and not self.forget_requested:
            text = tr("leave empty to keep what is stored")
        elif self.auth_method is AuthMethod.KEY:
            text = tr("the key's passphrase, if it has one")
        else:
            user = self.user.text().strip() or "root"
            text = tr("{user}'s password on this server").format(user=user)
        self.secret.setPlaceholderText(text)

    def _browse(self) -> None:
        dialog = QFileDialog(self, tr("Choose the private key file"))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.key_file.setText)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()


def _next_role(cluster: Cluster) -> Role:
    roles = {s.role for s in cluster.servers}
    if cluster.architecture.value == "admin-player":
        return Role.ADMIN if Role.ADMIN not in roles else Role.PLAYER
    if Role.MAIN not in roles:
        return Role.MAIN
    if Role.BACKUP not in roles:
        return Role.BACKUP
    return Role.PLAYER
