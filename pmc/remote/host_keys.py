"""PMC's own known hosts: host keys are always verified, never added without the operator.

PMC keeps its trusted keys in its own ``known_hosts`` file (OpenSSH format, ``[host]:port`` for
ports other than 22), not in the operator's ``~/.ssh/known_hosts``. A key that is not there yet
is put to a :class:`TrustDecision` — the CLI asks on the terminal or takes
``--trust-fingerprint SHA256:…``, the GUI shows a dialog with the fingerprint. A key that differs
from the trusted one is refused (:class:`~pmc.remote.errors.HostKeyChanged`) before any login.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

import paramiko

from pmc import paths
from pmc.remote.errors import HostKeyChanged, UnknownHostKey


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint of ``key``: ``SHA256:`` + unpadded base64."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def host_id(address: str, port: int) -> str:
    """The name a host is stored under: ``address`` for port 22, ``[address]:port`` otherwise."""
    return address if port == 22 else f"[{address}]:{port}"


def default_known_hosts_path() -> Path:
    """PMC's known hosts file (next to the inventory, see :mod:`pmc.paths`)."""
    return paths.known_hosts_path()


class KnownHosts:
    """PMC's known hosts file; safe to share between threads. Saved atomically on each change."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys = paramiko.HostKeys()
        if self.path.exists():
            self._keys.load(str(self.path))

    def keys_for(self, host: str) -> dict[str, paramiko.PKey]:
        """The trusted keys of ``host`` (a :func:`host_id`), by key type."""
        with self._lock:
            entry = self._keys.lookup(host)
            return {kind: entry[kind] for kind in entry} if entry else {}

    def add(self, host: str, key: paramiko.PKey) -> None:
        with self._lock:
            self._keys.add(host, key.get_name(), key)
            self._save()

    def remove(self, host: str) -> bool:
        """Forget every key of ``host``; True if there was one."""
        with self._lock:
            before = list(self._entries())
            entries = [e for e in before if host not in e.hostnames]
            removed = len(entries) != len(before)
            self._keys._entries = entries  # type: ignore[attr-defined]
            if removed:
                self._save()
            return removed

    def verify(self, *, server: str, host: str, key: paramiko.PKey) -> None:
        """Pass if ``key`` is trusted for ``host``; raise HostKeyChanged or UnknownHostKey."""
        known = self.keys_for(host)
        trusted = known.get(key.get_name())
        if trusted is not None:
            if trusted.asbytes() == key.asbytes():
                return
            raise HostKeyChanged(
                server=server,
                key_type=key.get_name(),
                old_fingerprint=fingerprint(trusted),
                new_fingerprint=fingerprint(key),
            )
        raise UnknownHostKey(
            server=server, key_type=key.get_name(), fingerprint=fingerprint(key), host_id=host
        )

    def _entries(self) -> list[paramiko.hostkeys.HostKeyEntry]:
        entries: list[paramiko.hostkeys.HostKeyEntry] = self._keys._entries  # type: ignore[attr-defined]
        return entries

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".known_hosts.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                for entry in self._entries():
                    line = entry.to_line()
                    if line:
                        out.write(line)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class RefuseUnknownHostKeys(paramiko.MissingHostKeyPolicy):
    """For code that uses ``paramiko.SSHClient``: an unknown key raises UnknownHostKey."""

    def __init__(self, server: str, port: int = 22) -> None:
        self.server = server
        self.port = port

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise UnknownHostKey(
            server=self.server,
            key_type=key.get_name(),
            fingerprint=fingerprint(key),
            host_id=hostname,
        )


@runtime_checkable
class TrustDecision(Protocol):
    """Decides whether to trust a server's key that is not known yet (the GUI shows a dialog).

    Return True to trust it: PMC stores it in its known hosts and connects again.
    """

    async def decide(self, question: UnknownHostKey) -> bool: ...


class RefuseUnknown:
    """Trust nothing new (scripts, tests): an unknown key stays an error."""

    async def decide(self, question: UnknownHostKey) -> bool:
        return False


class TrustFingerprints:
    """Trust exactly the fingerprints given (``--trust-fingerprint SHA256:…``)."""

    def __init__(self, fingerprints: Iterable[str]) -> None:
        self.fingerprints = {f.strip() for f in fingerprints}

    async def decide(self, question: UnknownHostKey) -> bool:
        return question.fingerprint in self.fingerprints


class AskOnTerminal:
    """The CLI's question: shows the fingerprint and reads yes/no from the terminal."""

    async def decide(self, question: UnknownHostKey) -> bool:
        if not sys.stdin.isatty():
            return False
        prompt = (
            f"{question.where}: host key not known yet.\n"
            f"  {question.key_type} key fingerprint is {question.fingerprint}\n"
            "Trust this key and connect? Type yes to trust: "
        )
        answer = await asyncio.to_thread(input, prompt)
        return answer.strip().lower() == "yes"
