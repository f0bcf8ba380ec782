"""Recognising sudo's refusals (pure: no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmc.inventory import AuthMethod, Server
from pmc.remote.connection import Connection
from pmc.remote.errors import SudoNotAllowed
from pmc.remote.host_keys import KnownHosts
from pmc.remote.process_group import wrap
from pmc.remote.sudo import check_sudo, sudo_refusal


def connection(user: str, tmp_path: Path) -> Connection:
    server = Server(
        name="backup", management_address="127.168.1.108", auth=AuthMethod.AGENT, ssh_user=user
    )
    return Connection(server, known_hosts=KnownHosts(tmp_path / "known_hosts"))


@pytest.mark.parametrize(
    ("stderr", "said"),
    [
        ("sudo: a password is required\n", "sudo: a password is required"),  # sudo 1.9 -n
        (
            "viewer is not in the sudoers file.  This incident will be reported.\n",
            "viewer is not in the sudoers file.  This incident will be reported.",  # sudo 1.8
        ),
        (
            "sudo: viewer is not in the sudoers file.  This incident will be reported.\n",
            "sudo: viewer is not in the sudoers file.  This incident will be reported.",
        ),
        (
            "Sorry, user viewer is not allowed to execute '/usr/bin/systemctl restart x' "
            "as root on backup.\n",
            "Sorry, user viewer is not allowed to execute '/usr/bin/systemctl restart x' "
            "as root on backup.",
        ),
        (
            "sudo: sorry, you must have a tty to run sudo\n",
            "sudo: sorry, you must have a tty to run sudo",
        ),
        ("bash: line 1: sudo: command not found\n", "sudo is not installed"),
        ("cat: /etc/x: Permission denied\n", None),
        ("", None),
    ],
)
def test_sudo_refusal_is_recognised(stderr: str, said: str | None) -> None:
    assert sudo_refusal(stderr) == said


def test_refusal_names_the_server_and_what_to_configure(tmp_path: Path) -> None:
    viewer = connection("viewer", tmp_path)
    with pytest.raises(SudoNotAllowed) as caught:
        check_sudo(viewer, "sudo: a password is required\n")
    assert str(caught.value) == (
        "backup (127.168.1.108): 'viewer' may not run commands as root without a password: "
        "sudo -n refused (a password is required). Allow passwordless sudo for viewer on the "
        "server (a line 'viewer ALL=(ALL) NOPASSWD: ALL' in /etc/sudoers.d/pmc, made with "
        "visudo -f), or log in as root"
    )
    with pytest.raises(SudoNotAllowed, match="sudo is not installed on the server"):
        check_sudo(viewer, "sh: 1: sudo: not found\n")
    check_sudo(viewer, "ls: cannot access '/x': No such file or directory\n")  # not sudo's
    # a root login never goes through sudo: the same words are the command's own
    check_sudo(connection("root", tmp_path), "sudo: a password is required\n")


def test_root_commands_go_through_sudo_n_for_other_users(tmp_path: Path) -> None:
    line = wrap(connection("operator", tmp_path), ["cat", "/etc/shadow"], root=True)
    assert line.startswith("sudo -n -- setsid -w sh -c ")
    assert line.endswith(" pmc cat /etc/shadow")
    assert not wrap(connection("root", tmp_path), ["true"], root=True).startswith("sudo")
    assert not wrap(connection("operator", tmp_path), ["true"]).startswith("sudo")
