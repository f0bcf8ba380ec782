"""Where the SSH transport gets passwords and key passphrases: the OS keyring, via pmc.secrets.

The transport asks a :class:`CredentialSource` from a worker thread (the keyring may block or
pop up an unlock prompt), only when the server's auth method needs it, and never keeps,
logs or puts the answer into an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from pmc import secrets


@runtime_checkable
class CredentialSource(Protocol):
    """Secrets for SSH logins, by cluster and server name; None when none is stored."""

    def ssh_password(self, cluster: str, server: str) -> str | None: ...

    def key_passphrase(self, cluster: str, server: str) -> str | None: ...


class KeyringCredentials:
    """The OS keyring through :mod:`pmc.secrets` (the only module that touches the keyring)."""

    def ssh_password(self, cluster: str, server: str) -> str | None:
        return secrets.get_password(cluster, server)

    def key_passphrase(self, cluster: str, server: str) -> str | None:
        return secrets.get_passphrase(cluster, server)


class NoCredentials:
    """Key files without passphrase and ssh-agent only."""

    def ssh_password(self, cluster: str, server: str) -> str | None:
        return None

    def key_passphrase(self, cluster: str, server: str) -> str | None:
        return None


class GivenCredentials:
    """Secrets held in memory for one run (tests, the lab's own root passwords)."""

    def __init__(
        self,
        passwords: Mapping[str, str] | None = None,
        passphrases: Mapping[str, str] | None = None,
    ) -> None:
        self._passwords = dict(passwords or {})
        self._passphrases = dict(passphrases or {})

    def ssh_password(self, cluster: str, server: str) -> str | None:
        return self._passwords.get(f"{cluster}/{server}", self._passwords.get(server))

    def key_passphrase(self, cluster: str, server: str) -> str | None:
        return self._passphrases.get(f"{cluster}/{server}", self._passphrases.get(server))

    def __repr__(self) -> str:  # never show the secrets themselves
        return f"GivenCredentials({len(self._passwords)} passwords, hidden)"
