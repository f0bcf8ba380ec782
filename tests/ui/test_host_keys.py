"""Host-key trust in the GUI against a real OpenSSH server on 127.0.0.1: first contact shows
the SHA256 fingerprint and key type and asks; a changed key is a blocking warning with both
fingerprints and nothing logs in."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from pmc.inventory import Architecture, AuthMethod, Cluster, Inventory, Role, Server
from pmc.inventory_file import save_inventory
from pmc.remote.credentials import NoCredentials
from pmc.remote.host_keys import KnownHosts, fingerprint
from pmc.remote.pool import ConnectionPool
from tests.ui.helpers import open_window, ssh_keygen_fingerprint, wait_dialog
from ui.host_key_dialog import (
    ChangedHostKeyDialog,
    DialogTrustDecision,
    NewHostKeyDialog,
    ReplaceHostKeyDialog,
)

pytestmark = pytest.mark.gui


@pytest.fixture
def local_window(qtbot, loop, sshd, tmp_path: Path):
    server = Server(
        "local", sshd.address, None, Role.MAIN, ssh_port=sshd.port, auth=AuthMethod.KEY,
        key_file=str(sshd.client_key),
    )  # fmt: skip
    inventory = tmp_path / "inventory.toml"
    save_inventory(Inventory((Cluster("bench", Architecture.MANUAL, (server,)),)), inventory)
    trust = DialogTrustDecision(None)
    pool = ConnectionPool(
        known_hosts=KnownHosts(tmp_path / "known_hosts"), credentials=NoCredentials(), trust=trust
    )
    window = open_window(qtbot, inventory, pool=pool)
    trust.parent = window
    window.poller.stop()  # this test drives connections itself
    window.tree.select("bench", "local")
    yield window, sshd, tmp_path / "known_hosts"
    closing = window.session.tasks.spawn(pool.close())
    qtbot.waitUntil(closing.done, timeout=20000)


def test_first_contact_asks_with_fingerprint_and_trust_connects(qtbot, local_window) -> None:
    window, sshd, known_hosts = local_window
    task = window.session.tasks.spawn(window.inventory_flows.connect())
    dialog = wait_dialog(qtbot, NewHostKeyDialog)
    assert isinstance(dialog, NewHostKeyDialog)
    assert dialog.fingerprint.text() == ssh_keygen_fingerprint(sshd.host_key.with_suffix(".pub"))
    assert dialog.question.key_type == "ssh-ed25519"
    assert dialog.refuse_button.isDefault()  # Enter does not trust by accident
    qtbot.mouseClick(dialog.trust_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=20000)
    assert task.result() == {"local": "connected"}
    assert f"[{sshd.address}]:{sshd.port}" in known_hosts.read_text()


def test_refused_key_connects_nothing_and_is_not_asked_again_in_background(
    qtbot, local_window
) -> None:
    window, sshd, known_hosts = local_window
    task = window.session.tasks.spawn(window.inventory_flows.connect())
    dialog = wait_dialog(qtbot, NewHostKeyDialog)
    qtbot.mouseClick(dialog.refuse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=20000)
    assert task.result()["local"] == "not connected"  # the dialog says why, not the status bar
    assert not known_hosts.exists() or sshd.address not in known_hosts.read_text()
    assert "Accepted" not in sshd.log_text()
    trust = window.session.pool.trust
    assert trust.asked == 1
    refresh = window.poller.refresh()
    assert refresh is not None
    qtbot.waitUntil(refresh.done, timeout=20000)
    assert trust.asked == 1  # a background refresh does not ask again


def _connect_trusting_the_first_key(qtbot, window) -> None:
    """Connect, trust the key on first contact, then stop the poller: Connect refreshes the
    status, and a probe must not meet the next key before the test does."""
    task = window.session.tasks.spawn(window.inventory_flows.connect())
    qtbot.mouseClick(wait_dialog(qtbot, NewHostKeyDialog).trust_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=20000)
    window.poller.stop()


def test_changed_host_key_warns_and_nothing_logs_in(qtbot, local_window) -> None:
    window, sshd, known_hosts = local_window
    old = ssh_keygen_fingerprint(sshd.host_key.with_suffix(".pub"))
    _connect_trusting_the_first_key(qtbot, window)
    sshd.stop()
    sshd.regenerate_host_key()
    new = ssh_keygen_fingerprint(sshd.host_key.with_suffix(".pub"))
    sshd.log.write_text("")
    sshd.start()
    server = window.selection.current_server()
    window.session.pool.connection(server, "bench").drop()
    task = window.session.tasks.spawn(window.inventory_flows.connect())
    dialog = wait_dialog(qtbot, ChangedHostKeyDialog)
    assert isinstance(dialog, ChangedHostKeyDialog)
    assert dialog.old.text() == old
    assert dialog.new.text() == new
    assert dialog.isModal()
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=20000)
    assert task.result() == {"local": "host key changed"}
    log = sshd.log_text()
    assert "Accepted" not in log and "Failed" not in log  # no login was even tried
    trusted = KnownHosts(known_hosts).keys_for(f"[{sshd.address}]:{sshd.port}")
    assert [fingerprint(k) for k in trusted.values()] == [old]  # still the old key only


def _changed_key_met(caplog: pytest.LogCaptureFixture) -> int:
    """How many connection attempts met the changed key (each logs it once)."""
    return sum("host key has changed" in r.getMessage() for r in caplog.records)


def _changed_key_warnings() -> list[QWidget]:
    return [
        w for w in QApplication.topLevelWidgets()
        if isinstance(w, ChangedHostKeyDialog) and w.isVisible()
    ]  # fmt: skip


def test_a_changed_key_met_by_a_refresh_and_a_connect_is_one_warning(
    qtbot, local_window, caplog
) -> None:
    """A status refresh meets the changed key and warns; the operator's Connect meeting it
    while that warning shows opens no second one, and ends when the operator closes it."""
    caplog.set_level(logging.INFO, logger="pmc.remote")
    window, sshd, known_hosts = local_window
    old = ssh_keygen_fingerprint(sshd.host_key.with_suffix(".pub"))
    _connect_trusting_the_first_key(qtbot, window)
    sshd.stop()
    sshd.regenerate_host_key()
    sshd.start()
    window.session.pool.connection(window.selection.current_server(), "bench").drop()
    qtbot.waitUntil(lambda: not window.poller.busy, timeout=20000)  # the stopped one ended
    refresh = window.poller.refresh()
    assert refresh is not None
    warning = wait_dialog(qtbot, ChangedHostKeyDialog, timeout=20000)
    qtbot.waitUntil(refresh.done, timeout=20000)
    met = _changed_key_met(caplog)
    task = window.session.tasks.spawn(window.inventory_flows.connect())
    qtbot.waitUntil(lambda: _changed_key_met(caplog) == met + 1, timeout=20000)
    assert _changed_key_warnings() == [warning]  # the Connect waits for the one on screen
    qtbot.mouseClick(warning.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=20000)
    assert task.result() == {"local": "host key changed"}
    assert _changed_key_warnings() == []
    trusted = KnownHosts(known_hosts).keys_for(f"[{sshd.address}]:{sshd.port}")
    assert [fingerprint(k) for k in trusted.values()] == [old]


def test_a_key_of_another_type_is_a_changed_key_and_is_replaced_through_the_menu(
    qtbot, local_window
) -> None:
    """The server now offers only an RSA key where PMC trusts its ed25519 one: the changed-key
    warning (not a first-contact question), then Replace the key… with the fingerprint read on
    the console; the replacement is audited."""
    window, sshd, known_hosts = local_window
    old = ssh_keygen_fingerprint(sshd.host_key.with_suffix(".pub"))
    _connect_trusting_the_first_key(qtbot, window)
    new = ssh_keygen_fingerprint(sshd.use_only_host_key("rsa"))
    server = window.selection.current_server()
    window.session.pool.connection(server, "bench").drop()
    asked = window.session.pool.trust.asked
    task = window.session.tasks.spawn(window.inventory_flows.connect())
    dialog = wait_dialog(qtbot, ChangedHostKeyDialog)
    assert isinstance(dialog, ChangedHostKeyDialog)
    assert (dialog.old.text(), dialog.new.text()) == (old, new)
    assert dialog.new_type.text() == "ssh-rsa"
    assert window.session.pool.trust.asked == asked  # no first-contact question
    qtbot.mouseClick(dialog.replace_button, Qt.MouseButton.LeftButton)
    replace = wait_dialog(qtbot, ReplaceHostKeyDialog)
    assert isinstance(replace, ReplaceHostKeyDialog)
    assert not replace.replace_button.isEnabled()
    qtbot.keyClicks(replace.fingerprint, old)  # the old one: the server does not present it
    qtbot.mouseClick(replace.replace_button, Qt.MouseButton.LeftButton)
    error = wait_dialog(qtbot, QMessageBox)
    assert "presents no host key with the fingerprint" in error.text() + error.informativeText()
    error.close()
    qtbot.waitUntil(task.done, timeout=20000)
    assert "Accepted" not in sshd.log_text()
    # Server > Host key > Replace…, with the right fingerprint this time
    window.tree.select("bench", "local")
    assert window.commands["replace_host_key"].isEnabled()
    task = window.session.tasks.spawn(window.inventory_flows.replace_host_key())
    replace = wait_dialog(qtbot, ReplaceHostKeyDialog)
    qtbot.keyClicks(replace.fingerprint, new)
    qtbot.mouseClick(replace.replace_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=20000)
    assert task.result() is True
    trusted = KnownHosts(known_hosts).keys_for(f"[{sshd.address}]:{sshd.port}")
    assert [fingerprint(k) for k in trusted.values()] == [new]
    (record,) = window.session.store.audit_log()
    assert record.action == "host key replaced" and new in record.detail and old in record.detail
    task = window.session.tasks.spawn(window.inventory_flows.connect())
    qtbot.waitUntil(task.done, timeout=20000)
    assert task.result() == {"local": "connected"}
