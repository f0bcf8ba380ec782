"""The system's OpenSSH client (``ssh``) for bulk data, logged in as strictly as PMC's own.

PMC's SSH (paramiko) encrypts in the Python process: a single stream of it is bound by one
core shared with everything else PMC does, and measured on the lab it was 0.6–0.75× of one
OpenSSH stream on the same cipher (``bench/bench_transport.py``). For the big streams of a
bundle (the data folders' ``tar`` and the big files' parts) PMC can run ``ssh`` itself:
its cipher runs in C in a process of its own, and PMC only moves bytes through a pipe.

Nothing is looser than PMC's own connection:

- the host key: ``ssh`` gets a known-hosts file of its own (in a private folder, mode 0700)
  holding only the keys PMC trusts for this server, under an alias, with
  ``StrictHostKeyChecking=yes``: a key PMC does not trust ends the login before anything is
  sent, and ``ssh`` never adds one;
- the login: the server's own method (key file, ssh-agent, password); a password or a key's
  passphrase goes from the keyring to ``ssh`` through ``SSH_ASKPASS``, a two-line script that
  reads a named pipe in the private folder, written once by PMC: the secret never lies in a
  file, an argument or the environment;
- no configuration of the desktop's own (``-F /dev/null``), no forwarding, no terminal, no
  connection sharing, no escape character.

It is used only where it is there and new enough (OpenSSH 8.4, for ``SSH_ASKPASS_REQUIRE``)
and not on Windows (no named pipes there); ``PMC_BULK_SSH=paramiko`` turns it off (and
``openssh`` asks for it; both for comparing the two, see ``bench/bench_bundle.py``).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pmc import redact
from pmc.inventory import AuthMethod
from pmc.remote.connection import Connection
from pmc.remote.host_keys import host_id

MIN_VERSION = (8, 4)
ALIAS = "pmc-server"  # the name the private known-hosts file holds the keys under
CIPHERS = "^aes128-gcm@openssh.com,aes256-gcm@openssh.com"  # as PMC's own: AES-GCM first
# OpenSSH's host key algorithms for each type of key PMC keeps (an RSA key is used with SHA-2)
_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256")}
_VERSION = re.compile(rb"OpenSSH_(\d+)\.(\d+)")


if sys.platform == "win32":  # client() gives none there: no named pipes

    def _make_fifo(path: Path) -> None:
        raise OSError(errno.ENOSYS, "no named pipes on Windows")

    def _write_once(path: Path, data: bytes) -> bool:
        raise OSError(errno.ENOSYS, "no named pipes on Windows")

else:

    def _make_fifo(path: Path) -> None:
        os.mkfifo(path, 0o600)

    def _write_once(path: Path, data: bytes) -> bool:
        """``data`` written to the named pipe ``path`` if a reader has it open (else False:
        nobody reads it yet), without waiting for one."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                return False
            raise
        try:
            os.set_blocking(fd, True)
            os.write(fd, data)
        finally:
            os.close(fd)
        return True


def chosen() -> str:
    """``PMC_BULK_SSH``: "openssh", "paramiko", or "auto" (the default)."""
    value = os.environ.get("PMC_BULK_SSH", "auto").strip().lower()
    return value if value in {"openssh", "paramiko"} else "auto"


@functools.cache
def _version(path: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([path, "-V"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out.stderr + out.stdout)
    return (int(match[1]), int(match[2])) if match else None


def client() -> str | None:
    """The path of an OpenSSH client PMC may use for bulk data, or None."""
    if os.name != "posix" or chosen() == "paramiko":
        return None
    path = shutil.which("ssh")
    if path is None:
        return None
    version = _version(path)
    return path if version is not None and version >= MIN_VERSION else None


@dataclass
class Login:
    """What one ``ssh`` run needs to log in to a connection's server: its arguments, its
    environment, and the private folder (removed by :meth:`close`)."""

    folder: Path
    argv: list[str]
    env: dict[str, str]
    secret: str | None = field(default=None, repr=False)
    _answering: threading.Thread | None = field(default=None, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def answer_once(self, process: subprocess.Popen[bytes], deadline: float) -> None:
        """Give the secret (if any) to the one ``SSH_ASKPASS`` run of ``process``, from a
        thread of its own: the named pipe is opened only once ``ssh`` reads it."""
        if self.secret is None:
            return
        secret = self.secret
        fifo = self.folder / "answer"

        def give() -> None:
            answer = secret.encode() + b"\n"
            while not self._done.is_set() and process.poll() is None:
                if time.monotonic() > deadline:
                    return
                try:
                    if _write_once(fifo, answer):
                        # once: a later question (a wrong password asked again, by
                        # keyboard-interactive after password) gets nothing, and ssh gives up
                        answer = b""
                except OSError:
                    return
                self._done.wait(0.02)

        self._answering = threading.Thread(target=give, name="pmc-askpass", daemon=True)
        self._answering.start()

    def close(self) -> None:
        self._done.set()
        if self._answering is not None:
            self._answering.join(1)
        with contextlib.suppress(OSError):  # an askpass still waiting gets nothing, and ends
            _write_once(self.folder / "answer", b"")
        shutil.rmtree(self.folder, ignore_errors=True)


def login(connection: Connection, path: str) -> Login:
    """The arguments, environment and private folder for ``ssh`` (at ``path``) to log in to
    ``connection``'s server as PMC does; the remote command line goes after them."""
    server = connection.server
    address, port = server.management_address, server.ssh_port
    keys = connection.known_hosts.keys_for(host_id(address, port))
    folder = Path(tempfile.mkdtemp(prefix="pmc-ssh-"))  # mode 0700
    try:
        known = folder / "known_hosts"
        known.write_text("".join(f"{ALIAS} {k} {key.get_base64()}\n" for k, key in keys.items()))
        algorithms = [a for kind in keys for a in _ALGORITHMS.get(kind, (kind,))]
        timeouts = connection.timeouts
        argv = [
            path, "-F", "/dev/null", "-T", "-x", "-a", "-e", "none",
            "-p", str(port), "-l", server.ssh_user,
            "-o", f"HostKeyAlias={ALIAS}", "-o", f"UserKnownHostsFile={known}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
            "-o", "CheckHostIP=no", "-o", "UpdateHostKeys=no",
            "-o", f"HostKeyAlgorithms={','.join(algorithms) or 'ssh-ed25519'}",
            "-o", f"Ciphers={CIPHERS}", "-o", "Compression=no",
            "-o", f"ConnectTimeout={max(1, round(timeouts.connect + timeouts.banner))}",
            "-o", f"ServerAliveInterval={max(1, round(timeouts.keepalive_interval))}",
            "-o", "ServerAliveCountMax=3", "-o", "ControlMaster=no", "-o", "ControlPath=none",
            "-o", "ClearAllForwardings=yes", "-o", "LogLevel=ERROR",
            "-o", "NumberOfPasswordPrompts=1",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("SSH_")}
        secret: str | None = None
        if server.auth is AuthMethod.AGENT:
            if "SSH_AUTH_SOCK" in os.environ:
                env["SSH_AUTH_SOCK"] = os.environ["SSH_AUTH_SOCK"]
            argv += ["-o", "PreferredAuthentications=publickey", "-o", "BatchMode=yes"]
        elif server.auth is AuthMethod.KEY:
            secret = connection.credentials.key_passphrase(connection.cluster, server.name)
            argv += ["-i", server.key_file or "/dev/null", "-o", "IdentitiesOnly=yes", "-o",
                     "IdentityAgent=none", "-o", "PreferredAuthentications=publickey"]  # fmt: skip
        else:
            secret = connection.credentials.ssh_password(connection.cluster, server.name)
            argv += ["-o", "PubkeyAuthentication=no", "-o", "IdentityAgent=none",
                     "-o", "PreferredAuthentications=password,keyboard-interactive"]  # fmt: skip
        if secret is None:
            argv += ["-o", "BatchMode=yes"]
        else:
            redact.register(secret)
            fifo = folder / "answer"
            _make_fifo(fifo)
            askpass = folder / "askpass"
            askpass.write_text(f"#!/bin/sh\nexec cat -- {shlex.quote(str(fifo))}\n")
            askpass.chmod(0o700)
            env.update(SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force")
            env.setdefault("DISPLAY", ":0")  # older clients want one set even when forced
        argv.append(address)
        return Login(folder, argv, env, secret)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


@contextmanager
def private_login(connection: Connection, path: str) -> Iterator[Login]:
    """:func:`login`, closed at the end of the block."""
    made = login(connection, path)
    try:
        yield made
    finally:
        made.close()
