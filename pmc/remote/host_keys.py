"""PMC's own known hosts: host keys are always verified, never added without the operator.

PMC keeps its trusted keys in its own ``known_hosts`` file (OpenSSH format, ``[host]:port`` for
ports other than 22), not in the operator's ``~/.ssh/known_hosts``. A host that has no key there
yet is put to a :class:`TrustDecision` — the CLI asks on the terminal or takes
``--trust-fingerprint SHA256:…``, the GUI shows a dialog with the fingerprint.

For a known host PMC is as strict as OpenSSH: it offers the server only the key types it holds
for that host (:func:`host_key_algorithms`), and a key that differs from the trusted one — of
the same type or of another — is a changed key (:class:`~pmc.remote.errors.HostKeyChanged`),
refused before any login. Putting another key in its place is an explicit, audited action
(:mod:`pmc.remote.host_key_replace`).

The file is shared by every PMC process of the operator (the desktop app, ``pmc`` commands,
the sync daemon): each change is made under an exclusive lock on ``known_hosts.lock`` (fcntl,
msvcrt on Windows), to the file as it is on disk then, and written atomically — two processes
adding keys at once keep both. A process sees the others' changes on its next lookup.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import paramiko

from pmc import paths
from pmc.errors import InputError
from pmc.remote.errors import HostKeyChanged, UnknownHostKey

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
# The signature algorithms a server may use with a key of each type (RSA keys sign with SHA-2)
_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256")}


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint of ``key``: ``SHA256:`` + unpadded base64."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def host_id(address: str, port: int) -> str:
    """The name a host is stored under: ``address`` for port 22, ``[address]:port`` otherwise."""
    return address if port == 22 else f"[{address}]:{port}"


def check_fingerprint(text: str, *, where: str) -> str:
    """``text`` stripped if it is a fingerprint as OpenSSH prints it (``SHA256:`` and 43
    characters); else InputError naming ``where`` it came from."""
    value = text.strip()
    if not _FINGERPRINT.match(value):
        raise InputError(
            f"{text!r} is not a host key fingerprint",
            where=where,
            hint="Give it as OpenSSH prints it: SHA256: and 43 characters "
            "(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the server's console)",
        )
    return value


def host_key_algorithms(known: Iterable[str], offered: Iterable[str]) -> tuple[str, ...]:
    """Of the host key algorithms ``offered`` (in their order), those that sign with a key of
    the types ``known`` (``ssh-ed25519``, ``ssh-rsa``…): what PMC lets a known host use."""
    allowed = {alg for kind in known for alg in _ALGORITHMS.get(kind, (kind,))}
    return tuple(alg for alg in offered if alg in allowed)


def default_known_hosts_path() -> Path:
    """PMC's known hosts file (next to the inventory, see :mod:`pmc.paths`)."""
    return paths.known_hosts_path()


class KnownHosts:
    """PMC's known hosts file; safe to share between threads and processes (see the module)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys = paramiko.HostKeys()
        self._seen: tuple[int, int, int] | None = None  # the file's identity when last read
        with self._lock:
            self._reload()

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    def _reload(self) -> None:
        """Read the file again if another process (or instance) changed it."""
        stamp = self._stamp()
        if stamp == self._seen:
            return
        keys = _load(self.path) if stamp is not None else paramiko.HostKeys()
        self._keys, self._seen = keys, stamp

    def keys_for(self, host: str) -> dict[str, paramiko.PKey]:
        """The trusted keys of ``host`` (a :func:`host_id`), by key type."""
        with self._lock:
            self._reload()
            entry = self._keys.lookup(host)
            return {kind: entry[kind] for kind in entry} if entry else {}

    def add(self, host: str, key: paramiko.PKey) -> None:
        """Trust ``key`` for ``host`` (beside its keys of other types)."""
        with self._changing():
            self._keys.add(host, key.get_name(), key)

    def remove(self, host: str) -> bool:
        """Forget every key of ``host``; True if there was one."""
        with self._changing():
            removed = self._drop(host)
        return removed

    def replace(self, host: str, key: paramiko.PKey) -> dict[str, paramiko.PKey]:
        """Trust only ``key`` for ``host`` from now on; returns the keys it had, by type."""
        with self._changing():
            entry = self._keys.lookup(host)
            old = {kind: entry[kind] for kind in entry} if entry else {}
            self._drop(host)
            self._keys.add(host, key.get_name(), key)
        return old

    def _drop(self, host: str) -> bool:
        before = self._entries()
        entries = [e for e in before if host not in e.hostnames]
        self._keys._entries = entries  # type: ignore[attr-defined]
        return len(entries) != len(before)

    def verify(self, *, server: str, host: str, key: paramiko.PKey) -> None:
        """Pass if ``key`` is trusted for ``host``; raise HostKeyChanged or UnknownHostKey.

        A known host presenting a key of a type PMC holds no key of is a *changed* key too
        (as for OpenSSH): only a host with no trusted key at all is asked about."""
        known = self.keys_for(host)
        if not known:
            raise UnknownHostKey(
                server=server, key_type=key.get_name(), fingerprint=fingerprint(key), host_id=host
            )
        trusted = known.get(key.get_name())
        if trusted is not None and trusted.asbytes() == key.asbytes():
            return
        if trusted is None:
            trusted = next(iter(known.values()))
        raise HostKeyChanged(
            server=server,
            key_type=trusted.get_name(),
            old_fingerprint=fingerprint(trusted),
            new_fingerprint=fingerprint(key),
            new_key_type=key.get_name(),
        )

    def _entries(self) -> list[paramiko.hostkeys.HostKeyEntry]:
        entries: list[paramiko.hostkeys.HostKeyEntry] = self._keys._entries  # type: ignore[attr-defined]
        return entries

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        """Change the file as it is on disk now, under the lock of every PMC process."""
        with self._lock, _file_lock(self.path.with_name(self.path.name + ".lock")):
            self._seen = None
            self._reload()
            yield
            self._save()
            self._seen = self._stamp()

    def _save(self) -> None:
        paths.ensure_dir(self.path.parent)
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


def _load(path: Path) -> paramiko.HostKeys:
    """The keys of the file at ``path``, as :meth:`paramiko.HostKeys.load` reads them (a key of
    a type paramiko does not know is passed over, as OpenSSH does); a line that cannot be read
    is an InputError naming it: dropped, it would make its server look new."""
    keys = paramiko.HostKeys()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read PMC's known hosts file: {exc.strerror or exc}",
            where=str(path),
            hint="It should be a file PMC can read and write; move whatever is there aside",
        ) from None
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise _damaged(path, number, "it is not UTF-8 text") from None
        if not line or line.startswith("#"):
            continue
        if len(line.split()) < 3:
            raise _damaged(path, number, "it has no key")
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line, number)
            if entry is not None:
                for name in list(entry.hostnames):
                    if name.startswith("|1|"):  # hashed: its salt must decode
                        paramiko.HostKeys.hash_host("", name)
                    if keys.check(name, entry.key):
                        entry.hostnames.remove(name)
        except (paramiko.hostkeys.InvalidHostKey, paramiko.SSHException, ValueError):
            raise _damaged(path, number, "the key is cut short or damaged") from None
        if entry is not None and entry.hostnames:
            keys._entries.append(entry)  # type: ignore[attr-defined]
    return keys


def _damaged(path: Path, number: int, why: str) -> InputError:
    return InputError(
        f"this line of PMC's known hosts file cannot be read: {why}",
        where=f"{path}:{number}",
        hint="Correct or delete that line; PMC then asks you to confirm that server's host key"
        " again",
    )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes, held while the block runs (blocking)."""
    paths.ensure_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if sys.platform == "win32":
            while True:  # LK_LOCK gives up after 10 s: keep waiting, as flock does
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
            try:
                yield
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


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
