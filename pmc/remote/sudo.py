"""sudo for a non-root login: what ``sudo -n`` says when it refuses (or is missing), and the
operator's error naming the server and what to configure."""

from __future__ import annotations

from pmc.remote.connection import Connection
from pmc.remote.errors import SudoNotAllowed

# What sudo -n says when it will not run a command for this user without a password (sudo
# 1.8 on Rocky 8, 1.9 on newer systems), and when sudo itself is missing.
SUDO_REFUSALS = (
    "a password is required",  # -n and no NOPASSWD rule (also: user not in sudoers at all)
    "is not in the sudoers file",
    "is not allowed to execute",  # a rule exists, but not for this command
    "may not run sudo",
    "you must have a tty",  # Defaults requiretty
    "a terminal is required",
)
SUDO_MISSING = ("sudo: command not found", "sudo: not found", "sudo: No such file")


def sudo_refusal(stderr: str) -> str | None:
    """sudo's own line when ``stderr`` shows that sudo refused or is missing, else None."""
    for line in stderr.splitlines():
        text = line.strip()
        if any(m in text for m in SUDO_MISSING):
            return "sudo is not installed"
        if ("sudo" in text or text.startswith("Sorry, user")) and any(
            r in text for r in SUDO_REFUSALS
        ):
            return text
    return None


def check_sudo(connection: Connection, stderr: str) -> None:
    """Raise SudoNotAllowed, naming the server and what to configure, when a command run
    through ``sudo -n`` for a non-root login was refused by sudo."""
    if not connection.needs_sudo:
        return
    said = sudo_refusal(stderr)
    if said is None:
        return
    user = connection.server.ssh_user
    if said == "sudo is not installed":
        raise SudoNotAllowed(
            f"PMC logs in as {user!r} and needs sudo to act as root, but sudo is not "
            "installed on the server",
            server=connection.label,
            hint=f"Install sudo (dnf install sudo) and allow passwordless sudo for {user}, "
            "or log in as root",
        )
    raise SudoNotAllowed(
        f"{user!r} may not run commands as root without a password: sudo -n refused "
        f"({said.removeprefix('sudo: ')})",
        server=connection.label,
        hint=f"Allow passwordless sudo for {user} on the server (a line '{user} ALL=(ALL) "
        f"NOPASSWD: ALL' in /etc/sudoers.d/pmc, made with visudo -f), or log in as root",
    )
