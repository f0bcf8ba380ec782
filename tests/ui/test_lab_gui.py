"""The app against the rehearsal lab, driven like an operator: describe the lab's servers in
the dialogs (passwords into the real Secret Service), trust their host keys, watch a link go
red when the lab blocks its port and back, run the setup wizard for the combined architecture
and find verify passing; a changed host key on backup is refused with the warning."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWizard

from pmc.health_model import State
from pmc.remote.host_keys import KnownHosts
from pmc.remote.pool import ConnectionPool
from tests.ui.helpers import open_window, ssh_keygen_fingerprint, wait_dialog
from tests.ui.lab_session import fresh_lab
from ui.cluster_dialog import ClusterDialog
from ui.host_key_dialog import (
    ChangedHostKeyDialog,
    DialogTrustDecision,
    NewHostKeyDialog,
    ReplaceHostKeyDialog,
)
from ui.server_dialog import ServerDialog

pytestmark = [pytest.mark.lab, pytest.mark.gui, pytest.mark.slow]


@pytest.fixture
def lab_window(qtbot, loop, secret_service, isolated_dirs, tmp_path: Path):
    with fresh_lab() as lab:
        trust = DialogTrustDecision(None)
        pool = ConnectionPool(known_hosts=KnownHosts(tmp_path / "known_hosts"), trust=trust)
        window = open_window(qtbot, tmp_path / "inventory.toml", pool=pool)
        trust.parent = window
        yield window, lab
        closing = window.session.tasks.spawn(pool.close())
        qtbot.waitUntil(closing.done, timeout=30000)


def _add_lab_servers(qtbot, window, lab) -> None:
    task = window.session.tasks.spawn(window.inventory_flows.new_cluster())
    dialog = wait_dialog(qtbot, ClusterDialog)
    qtbot.keyClicks(dialog.name, "lab")
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)  # combined is the default
    qtbot.waitUntil(task.done, timeout=10000)
    for name in ("main", "backup"):
        server = lab.servers[name]
        task = window.session.tasks.spawn(window.inventory_flows.add_server())
        dialog = wait_dialog(qtbot, ServerDialog)
        assert isinstance(dialog, ServerDialog)
        qtbot.keyClicks(dialog.name, name)
        qtbot.keyClicks(dialog.management, server.management_address)
        qtbot.keyClicks(dialog.redundancy, server.redundancy_address)
        qtbot.keyClicks(dialog.secret, server.root_password)
        qtbot.keyClick(dialog.secret, Qt.Key.Key_Return)
        qtbot.waitUntil(task.done, timeout=20000)
        assert task.exception() is None
        window.tree.select("lab")


def _trust_all(qtbot, window, count: int) -> dict[str, str]:
    window.tree.select("lab")
    task = window.session.tasks.spawn(window.inventory_flows.connect())
    for _ in range(count):
        dialog = wait_dialog(qtbot, NewHostKeyDialog, timeout=30000)
        qtbot.mouseClick(dialog.trust_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda d=dialog: not d.isVisible())
    qtbot.waitUntil(task.done, timeout=60000)
    return task.result()


def _refresh(qtbot, window) -> None:
    task = window.poller.refresh()
    assert task is not None
    qtbot.waitUntil(task.done, timeout=60000)
    assert task.exception() is None


def test_lab_cluster_end_to_end(qtbot, lab_window) -> None:
    window, lab = lab_window
    _add_lab_servers(qtbot, window, lab)
    text = window.session.inventory_path.read_text()
    for server in lab.servers.values():
        assert server.root_password not in text
    assert _trust_all(qtbot, window, 2) == {"main": "connected", "backup": "connected"}

    # the topology follows the lab's firewall: block TCP 2001 on backup, then unblock
    scene = window.topology.topology
    _refresh(qtbot, window)
    assert scene.link_state("tcp:main:backup") is State.OK
    assert scene.link_state("http:main:backup") is State.OK
    assert scene.link_state("udp:main:backup") is State.OK
    assert scene.link_state("management:operator:main") is State.OK
    lab.block("backup", 2001, "tcp")
    _refresh(qtbot, window)
    assert scene.link_state("tcp:main:backup") is State.FAILED
    assert "2001" in scene.links["tcp:main:backup"].toolTip()
    lab.unblock("backup", 2001, "tcp")
    _refresh(qtbot, window)
    assert scene.link_state("tcp:main:backup") is State.OK
    api = window.status.cell("main", "Playout API")
    assert api is not None and api.text() == "running"

    # the wizard: combined architecture, plan, apply, verify
    window.commands["setup_redundancy"].trigger()
    wizard = window.setup_flows.wizard
    qtbot.waitExposed(wizard)
    assert wizard.choose.architecture.value == "combined"
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)  # options
    assert wizard.options.hardened.isChecked()
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)  # plan
    qtbot.waitUntil(lambda: wizard.plan_page.plan is not None or bool(wizard.plan_page.error),
                    timeout=120000)  # fmt: skip
    errors: list[str] = []
    window.session.tasks.on_error = lambda what, exc: errors.append(f"{what}: {exc!r}")
    assert wizard.plan_page.error is None, wizard.plan_page.error
    assert wizard.plan_page.tree.topLevelItemCount() >= 2, (wizard.plan_page.state.text(), errors)
    tree = wizard.plan_page.tree
    edits = [
        tree.topLevelItem(i).child(j)
        for i in range(tree.topLevelItemCount())
        for j in range(tree.topLevelItem(i).childCount())
        if "spoolers.json" in tree.topLevelItem(i).child(j).text(0)
    ]
    assert edits, "the plan edits spoolers.json"
    tree.setCurrentItem(edits[0])
    diff = wizard.plan_page.diff.toPlainText()
    assert "+++ " in diff and '"type": "master"' in diff.replace('":"', '": "')
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)  # confirm
    commit = wizard.button(QWizard.WizardButton.CommitButton)
    assert not commit.isEnabled()
    box = wizard.confirm.understood
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert commit.isEnabled()
    qtbot.mouseClick(commit, Qt.MouseButton.LeftButton)  # apply
    page = wizard.apply_page
    qtbot.waitUntil(lambda: page.job is not None and page.job.state.is_final, timeout=300000)
    assert page.succeeded, page.outcome.text() + "\n" + page.log.toPlainText()[-3000:]
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    verify = wizard.verify_page
    qtbot.waitUntil(lambda: verify.report is not None or "could not" in verify.verdict.text(),
                    timeout=180000)  # fmt: skip
    assert verify.passed, "\n".join(str(c) for c in verify.report.checks)
    assert "Verify passed" in verify.verdict.text()
    jobs = [window.jobs.tree.topLevelItem(i).text(2) for i in range(2)]
    assert jobs == ["succeeded", "succeeded"]
    wizard.button(QWizard.WizardButton.FinishButton).click()


def test_changed_host_key_on_lab_backup_connects_nothing(qtbot, lab_window) -> None:
    window, lab = lab_window
    _add_lab_servers(qtbot, window, lab)
    _trust_all(qtbot, window, 2)
    backup = lab.servers["backup"]
    for kind in ("ed25519", "ecdsa", "rsa"):
        key = backup.path(f"/etc/ssh/ssh_host_{kind}_key")
        if key.exists():
            key.unlink()
            key.with_suffix(".pub").unlink()
            subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)], check=True)
    backup.systemctl("restart", "sshd")
    server = window.session.server("lab", "backup")
    window.session.pool.connection(server, "lab").drop()
    log = backup.path("/var/log/sshd.log")
    accepted_before = log.read_text().count("Accepted")
    window.tree.select("lab", "backup")
    task = window.session.tasks.spawn(window.inventory_flows.connect())
    dialog = wait_dialog(qtbot, ChangedHostKeyDialog, timeout=30000)
    assert dialog.old.text() != dialog.new.text()
    assert dialog.new.text().startswith("SHA256:")
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=30000)
    assert task.result() == {"backup": "host key changed"}
    assert log.read_text().count("Accepted") == accepted_before


def test_lab_backup_switched_to_rsa_shows_the_changed_key_warning(qtbot, lab_window) -> None:
    """PMC trusts backup's ed25519 key; backup's sshd now has only its RSA key: the changed-key
    warning with both fingerprints (not a first-contact question), nothing logs in; Replace
    the key with the fingerprint read on backup's console, and it connects."""
    window, lab = lab_window
    _add_lab_servers(qtbot, window, lab)
    _trust_all(qtbot, window, 2)
    backup = lab.servers["backup"]
    old = ssh_keygen_fingerprint(backup.path("/etc/ssh/ssh_host_ed25519_key.pub"))
    new = ssh_keygen_fingerprint(backup.path("/etc/ssh/ssh_host_rsa_key.pub"))
    config = backup.path("/etc/ssh/sshd_config")
    others = ("HostKey /etc/ssh/ssh_host_ed25519", "HostKey /etc/ssh/ssh_host_ecdsa")
    lines = config.read_text().splitlines(keepends=True)
    config.write_text("".join(ln for ln in lines if not ln.startswith(others)))
    window.poller.stop()
    backup.systemctl("restart", "sshd")
    server = window.session.server("lab", "backup")
    window.session.pool.connection(server, "lab").drop()
    log = backup.path("/var/log/sshd.log")
    accepted_before = log.read_text().count("Accepted")
    asked = window.session.pool.trust.asked
    window.tree.select("lab", "backup")
    task = window.session.tasks.spawn(window.inventory_flows.connect())
    dialog = wait_dialog(qtbot, ChangedHostKeyDialog, timeout=30000)
    assert (dialog.old.text(), dialog.new.text(), dialog.new_type.text()) == (old, new, "ssh-rsa")
    assert window.session.pool.trust.asked == asked  # not asked as a first contact
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=30000)
    assert task.result() == {"backup": "host key changed"}
    assert log.read_text().count("Accepted") == accepted_before
    task = window.session.tasks.spawn(window.inventory_flows.replace_host_key())
    replace = wait_dialog(qtbot, ReplaceHostKeyDialog)
    qtbot.keyClicks(replace.fingerprint, new)
    qtbot.mouseClick(replace.replace_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=30000)
    assert task.result() is True
    task = window.session.tasks.spawn(window.inventory_flows.connect())
    qtbot.waitUntil(task.done, timeout=30000)
    assert task.result() == {"backup": "connected"}
