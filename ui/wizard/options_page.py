"""Wizard page 2: options — PermitRootLogin hardened or the seed's ``yes``, listen_addresses,
and for web redundancy whether it works both ways."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QVBoxLayout,
    QWizardPage,
)

from pmc.inventory import Architecture
from pmc.setup import SetupOptions

from ..translation import tr
from ..widgets import two_choices, wrapped_label


class OptionsPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("optionsPage")
        self.setTitle(tr("Options"))
        self.setSubTitle(
            tr("PMC's defaults are the safer choice; the manual's settings stay available.")
        )
        ssh = QGroupBox(tr("Root login over SSH (sshd_config PermitRootLogin)"))
        self.hardened, self.seed_yes = two_choices(
            self,
            ("hardenedRootLogin", "prohibit-password — keys only (recommended)"),
            ("seedRootLogin", "yes — also with a password, as the manual does"),
        )
        ssh_text = wrapped_label(
            "rootLoginNote",
            tr(
                "Copy config needs root to log in from one server to the other with a key. "
                "PMC moves the keys itself, so password logins for root are not needed."
            ),
        )
        box = QVBoxLayout(ssh)
        box.addWidget(self.hardened)
        box.addWidget(self.seed_yes)
        box.addWidget(ssh_text)
        pg = QGroupBox(tr("PostgreSQL listen_addresses"))
        self.listen_all = QCheckBox(tr("listen on every address ('*'), as the manual does"))
        self.listen_all.setObjectName("listenAll")
        pg_text = wrapped_label(
            "listenNote", tr("Unchecked, PMC lists only localhost and the server's eth2 address.")
        )
        pg_box = QVBoxLayout(pg)
        pg_box.addWidget(self.listen_all)
        pg_box.addWidget(pg_text)
        web = QGroupBox(tr("Web redundancy"))
        self.symmetric = QCheckBox(
            tr("symmetric: changes made on backup reach main too (each server is a master)")
        )
        self.symmetric.setObjectName("symmetric")
        self.symmetric.setChecked(True)
        web_box = QVBoxLayout(web)
        web_box.addWidget(self.symmetric)
        self.web_group = web
        self.db_groups = (ssh, pg)
        layout = QVBoxLayout(self)
        layout.addWidget(web)
        layout.addWidget(ssh)
        layout.addWidget(pg)
        layout.addStretch(1)

    def show_for(self, architecture: Architecture) -> None:
        web = architecture in (Architecture.WEB_ONE_WAY, Architecture.WEB_SYMMETRIC)
        db = architecture in (Architecture.DATABASE, Architecture.COMBINED)
        self.web_group.setVisible(web or architecture is Architecture.COMBINED)
        self.symmetric.setEnabled(web)
        if web:
            self.symmetric.setChecked(architecture is Architecture.WEB_SYMMETRIC)
        elif architecture is Architecture.COMBINED:
            self.symmetric.setChecked(True)
            self.symmetric.setToolTip(tr("The combined architecture is always symmetric"))
        for group in self.db_groups:
            group.setVisible(db)

    def options(self) -> SetupOptions:
        return SetupOptions(
            permit_root_login="yes" if self.seed_yes.isChecked() else "prohibit-password",
            listen_all=self.listen_all.isChecked(),
        )

    def architecture(self, chosen: Architecture) -> Architecture:
        if chosen in (Architecture.WEB_ONE_WAY, Architecture.WEB_SYMMETRIC):
            return (
                Architecture.WEB_SYMMETRIC
                if self.symmetric.isChecked()
                else Architecture.WEB_ONE_WAY
            )
        return chosen
