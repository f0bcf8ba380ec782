"""What can go wrong between PMC and a server, in words an operator can act on.

Every error names the server as ``main (127.168.1.105)`` and says what to do next. None of
them ever carries a password or passphrase: they are built from the server, the command and
the remote program's own message only.
"""

from __future__ import annotations

from pmc.errors import RemoteError


class Unreachable(RemoteError):
    """No SSH connection could be made: refused, timed out, no route, or name not known."""


class ConnectionLost(RemoteError):
    """An established connection dropped (network gone, sshd stopped or restarted)."""


class AuthenticationFailed(RemoteError):
    """The server refused the user's password, key or agent keys."""


def login_refused(user: str, method: str, offered: list[str], hint: str) -> tuple[str, str]:
    """What to tell the operator when the server refuses a login: what it offers instead
    (``offered``, from the SSH refusal), and for root by password that the password may be
    right (sshd's PermitRootLogin), instead of only blaming the password."""
    what = f"the server refused the login of {user!r} by {method}"
    what += f" (it offers: {', '.join(offered)})" if offered else ""
    if method != "password":
        return what, hint
    if offered and not {"password", "keyboard-interactive"} & set(offered):
        return (
            f"the server does not accept passwords for {user!r} (it offers: {', '.join(offered)})",
            'Log in with a key (auth = "key" and key_file in the inventory)',
        )
    if user == "root":
        hint = (
            "The password may be right: sshd refuses root's password when its PermitRootLogin"
            " is prohibit-password or no (RHEL's default is prohibit-password; a drop-in in"
            " /etc/ssh/sshd_config.d may set it; sshd -T on the server says which). Log in"
            f" with a key or as a user with sudo rights; otherwise: {hint[0].lower()}{hint[1:]}"
        )
    return what, hint


class UnknownHostKey(RemoteError):
    """The server's host key is not in PMC's known hosts yet; the operator must decide."""

    def __init__(
        self,
        *,
        server: str,
        key_type: str,
        fingerprint: str,
        host_id: str,
        hint: str | None = None,
    ) -> None:
        self.key_type = key_type
        self.fingerprint = fingerprint
        self.host_id = host_id
        super().__init__(
            f"the server's host key is not known yet ({key_type} {fingerprint})",
            server=server,
            hint=hint
            or (
                "Compare the fingerprint with the one on the server's console "
                "(ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and trust it only if they match "
                f"(pmc: --trust-fingerprint {fingerprint})"
            ),
        )


class HostKeyChanged(RemoteError):
    """The server presents a key different from the trusted one — of the same type, or of a
    type PMC holds no key of for it (as for OpenSSH). Nothing was sent to it."""

    def __init__(
        self,
        *,
        server: str,
        key_type: str,
        old_fingerprint: str,
        new_fingerprint: str,
        new_key_type: str | None = None,
    ) -> None:
        self.key_type = key_type
        self.old_fingerprint = old_fingerprint
        self.new_fingerprint = new_fingerprint
        self.new_key_type = new_key_type or key_type
        super().__init__(
            "WARNING: the server's host key has changed — this may be a man-in-the-middle "
            f"attack. Trusted key: {key_type} {old_fingerprint}; the server now presents: "
            f"{self.new_key_type} {new_fingerprint}. PMC refused to log in and sent nothing to it",
            server=server,
            hint=(
                "If the server was reinstalled or its keys were regenerated on purpose, check "
                "the new fingerprint on the server's console, then replace the key (pmc hostkey "
                f"replace SERVER --fingerprint {new_fingerprint}, or Server > Host key > "
                "Replace…)"
            ),
        )


class PermissionDenied(RemoteError):
    """The login user may not read, write or run something."""


class SudoNotAllowed(PermissionDenied):
    """A non-root login needs ``sudo -n`` to work without a password, and it does not."""


class CommandNotFound(RemoteError):
    """The program is not installed on the server (exit status 127)."""


class CommandTimeout(RemoteError):
    """A command or transfer did not finish within its time limit; it was stopped."""


class CommandFailed(RemoteError):
    """A command ended with a non-zero exit status where success was required."""

    def __init__(
        self,
        what: str,
        *,
        server: str,
        exit_status: int,
        stderr: str,
        hint: str | None = None,
        signal: str | None = None,
    ) -> None:
        self.exit_status = exit_status
        self.stderr = stderr
        self.signal = signal  # "TERM"… when the command was killed by a signal
        super().__init__(what, server=server, hint=hint)


class RemoteFileError(RemoteError):
    """A remote file could not be read, written or restored; the file in place is unchanged."""


class ServiceStateUnknown(CommandFailed):
    """systemctl could not say whether a unit exists or runs; the job must not guess."""


class ServiceNotActive(RemoteError):
    """A service restarted but is not active afterwards."""

    def __init__(self, unit: str, state: str, *, server: str) -> None:
        self.unit = unit
        self.state = state
        super().__init__(
            f"{unit} is {state} after restart",
            server=server,
            hint=f"See systemctl status {unit} and its log on the server.",
        )


class ConfigRejected(RemoteError):
    """A daemon's own check refused its new configuration; it was not restarted."""
