"""SSH passwords and key passphrases, kept in the OS keyring and nowhere else.

This is the only module that touches :mod:`keyring`. Secrets live under the service name
``pmc`` with accounts such as ``ssh-password:studio/main`` and ``key-passphrase:studio/main``
(cluster/server).

It fails closed: only a real OS keyring is used (the Secret Service — GNOME Keyring, KWallet,
KeePassXC — on Linux, the Credential Manager on Windows, the Keychain on macOS). Without one,
every call raises :class:`~pmc.errors.SecretStoreError` saying how to get one; PMC never falls
back to a plaintext file (``keyrings.alt``) or to keyring's do-nothing backends.

Every call runs in its own worker thread with a timeout, since a locked keyring can pop up an
unlock prompt that nobody answers: the synchronous functions wait at most ``timeout`` seconds,
the ``…_async`` ones do not block the event loop at all. Secrets read or written here are
registered with :mod:`pmc.redact` so that no log line or job event shows them.

Tests may :func:`use_backend` an in-memory backend; plaintext and do-nothing backends are
refused there too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import sys
import threading
from collections.abc import Callable
from enum import StrEnum
from functools import partial
from typing import TypeVar

import keyring.errors
from keyring.backend import KeyringBackend

from pmc import redact
from pmc.errors import InputError, SecretStoreError

SERVICE = "pmc"
DEFAULT_TIMEOUT = 60.0
"""Seconds to wait for the keyring: long enough to type an unlock password, not forever."""

MAX_SECRET_BYTES = 2560
"""Windows Credential Manager keeps at most 2560 bytes (UTF-16) per secret."""

_T = TypeVar("_T")


class SecretKind(StrEnum):
    SSH_PASSWORD = "ssh-password"  # noqa: S105 - an account prefix, not a password
    KEY_PASSPHRASE = "key-passphrase"  # noqa: S105

    @property
    def label(self) -> str:
        return "SSH password" if self is SecretKind.SSH_PASSWORD else "key passphrase"


def account(kind: SecretKind, cluster: str, server: str) -> str:
    """The keyring account name of one secret, e.g. ``ssh-password:studio/main``."""
    return f"{kind.value}:{cluster}/{server}"


# ------------------------------------------------------------------------------- backends

_OS_BACKENDS: dict[str, tuple[tuple[str, str], ...]] = {
    "linux": (
        ("keyring.backends.SecretService", "Keyring"),
        ("keyring.backends.libsecret", "Keyring"),
        ("keyring.backends.kwallet", "DBusKeyring"),
    ),
    "win32": (("keyring.backends.Windows", "WinVaultKeyring"),),
    "darwin": (("keyring.backends.macOS", "Keyring"),),
}

_REFUSED_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")

_lock = threading.Lock()
_injected: KeyringBackend | None = None


def use_backend(backend: KeyringBackend | None) -> None:
    """Use ``backend`` instead of the OS keyring (for tests); ``None`` goes back to the OS one.

    Plaintext (keyrings.alt), fail and null backends are refused when used.
    """
    global _injected  # noqa: PLW0603 - the one switch tests flip
    with _lock:
        _injected = backend


def _platform() -> str:
    return "linux" if sys.platform.startswith(("linux", "freebsd", "openbsd")) else sys.platform


def _no_keyring(details: str) -> SecretStoreError:
    hints = {
        "linux": "Install and unlock GNOME Keyring or KWallet (any Secret Service provider,"
        " e.g. apt install gnome-keyring) in your desktop session and start PMC from that"
        ' session, or use SSH keys with an agent (auth = "agent") instead of passwords.',
        "win32": "Make sure the Windows Credential Manager service is running for your account.",
        "darwin": "Make sure your login Keychain exists and is unlocked (Keychain Access).",
    }
    return SecretStoreError(
        f"no OS keyring is available to keep passwords ({details}); PMC never stores them in"
        " plain files",
        hint=hints.get(_platform(), hints["linux"]),
    )


def _refuse_insecure(backend: KeyringBackend) -> None:
    module = type(backend).__module__
    if module.startswith(_REFUSED_MODULES):
        raise _no_keyring(f"the keyring backend {module}.{type(backend).__name__} is not secure")
    if module == "keyring.backends.chainer":
        raise _no_keyring("the chained keyring backend is not accepted; choose one OS keyring")


def _os_backend() -> KeyringBackend:
    reasons: list[str] = []
    for module_name, class_name in _OS_BACKENDS.get(_platform(), _OS_BACKENDS["linux"]):
        try:
            backend_class = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            reasons.append(f"{module_name}: {exc}")
            continue
        try:
            priority = backend_class.priority  # raises when the backend cannot work here
        except Exception as exc:  # keyring signals "not viable" with any exception
            reasons.append(str(exc))
            continue
        if priority is None or priority <= 0:
            continue
        backend: KeyringBackend = backend_class()
        return backend
    raise _no_keyring("; ".join(reasons[:1]) or "none found")


def _backend() -> KeyringBackend:
    with _lock:
        injected = _injected
    if injected is not None:
        _refuse_insecure(injected)
        return injected
    return _os_backend()


def backend_name() -> str:
    """Which keyring PMC uses (for the About box and diagnostics); raises if there is none."""
    backend = _backend()
    return f"{type(backend).__module__}.{type(backend).__name__}"


# ------------------------------------------------------------------------- worker threads


def _start(work: Callable[[], _T]) -> concurrent.futures.Future[_T]:
    future: concurrent.futures.Future[_T] = concurrent.futures.Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work())
        except BaseException as exc:
            future.set_exception(exc)

    # A daemon thread: an unanswered unlock prompt must not keep PMC from exiting.
    threading.Thread(target=run, name="pmc-keyring", daemon=True).start()
    return future


def _timed_out(timeout: float) -> SecretStoreError:
    return SecretStoreError(
        f"the OS keyring did not answer within {timeout:g} seconds",
        hint="It may be waiting for you to unlock it in a prompt; unlock it and try again.",
    )


def _run(work: Callable[[], _T], timeout: float) -> _T:
    try:
        return _start(work).result(timeout)
    except concurrent.futures.TimeoutError:
        raise _timed_out(timeout) from None


async def _run_async(work: Callable[[], _T], timeout: float) -> _T:
    try:
        async with asyncio.timeout(timeout):
            return await asyncio.wrap_future(_start(work))
    except TimeoutError:
        raise _timed_out(timeout) from None


def _guarded(verb: str, kind: SecretKind, cluster: str, server: str, call: Callable[[], _T]) -> _T:
    target = f"the {kind.label} of server {server!r} (cluster {cluster!r})"
    try:
        return call()
    except SecretStoreError:
        raise
    except keyring.errors.KeyringLocked:
        raise SecretStoreError(
            f"the OS keyring is locked, so PMC cannot {verb} {target}",
            hint="Unlock it (e.g. the 'Login' keyring in Passwords and Keys, or KWallet) and"
            " try again.",
        ) from None
    except (keyring.errors.NoKeyringError, keyring.errors.InitError) as exc:
        raise _no_keyring(str(exc)) from None
    except Exception as exc:  # D-Bus and platform errors arrive under many types
        raise SecretStoreError(
            f"the OS keyring refused to {verb} {target}: {exc}",
            hint="Check that the keyring is running and unlocked, then try again.",
        ) from None


# ------------------------------------------------------------------------------ operations


def _get(kind: SecretKind, cluster: str, server: str) -> Callable[[], str | None]:
    def work() -> str | None:
        def call() -> str | None:
            value: str | None = _backend().get_password(SERVICE, account(kind, cluster, server))
            return value

        value = _guarded("read", kind, cluster, server, call)
        redact.register(value)
        return value

    return work


def _check_value(kind: SecretKind, value: str) -> None:
    if not value:
        raise InputError(f"the {kind.label} is empty", hint="Enter the secret, or use SSH keys.")
    if "\x00" in value or "\n" in value or "\r" in value:
        raise InputError(f"the {kind.label} contains a line break or NUL character")
    if len(value.encode("utf-16-le")) > MAX_SECRET_BYTES:
        raise InputError(
            f"the {kind.label} is longer than the OS keyring can keep ({MAX_SECRET_BYTES} bytes)"
        )


def _set(kind: SecretKind, cluster: str, server: str, value: str) -> Callable[[], None]:
    _check_value(kind, value)
    redact.register(value)

    def work() -> None:
        _guarded(
            "store",
            kind,
            cluster,
            server,
            lambda: _backend().set_password(SERVICE, account(kind, cluster, server), value),
        )

    return work


def _delete(kind: SecretKind, cluster: str, server: str) -> Callable[[], bool]:
    def work() -> bool:
        def call() -> bool:
            backend = _backend()
            name = account(kind, cluster, server)
            if backend.get_password(SERVICE, name) is None:
                return False
            backend.delete_password(SERVICE, name)
            return True

        return _guarded("delete", kind, cluster, server, call)

    return work


def _has(kind: SecretKind, cluster: str, server: str) -> Callable[[], bool]:
    def work() -> bool:
        def call() -> bool:
            return _backend().get_password(SERVICE, account(kind, cluster, server)) is not None

        return _guarded("look up", kind, cluster, server, call)

    return work


def get_secret(
    kind: SecretKind, cluster: str, server: str, *, timeout: float = DEFAULT_TIMEOUT
) -> str | None:
    """The secret, or None if none is stored. Raises :class:`SecretStoreError`."""
    return _run(_get(kind, cluster, server), timeout)


def set_secret(
    kind: SecretKind, cluster: str, server: str, value: str, *, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """Store (or replace) a secret. Raises :class:`InputError` for an unusable value."""
    _run(_set(kind, cluster, server, value), timeout)


def delete_secret(
    kind: SecretKind, cluster: str, server: str, *, timeout: float = DEFAULT_TIMEOUT
) -> bool:
    """Delete a secret; False if there was none."""
    return _run(_delete(kind, cluster, server), timeout)


def has_secret(
    kind: SecretKind, cluster: str, server: str, *, timeout: float = DEFAULT_TIMEOUT
) -> bool:
    return _run(_has(kind, cluster, server), timeout)


def forget_server(cluster: str, server: str, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Delete every secret of a server (when it leaves the inventory); the accounts deleted."""
    return [
        account(kind, cluster, server)
        for kind in SecretKind
        if delete_secret(kind, cluster, server, timeout=timeout)
    ]


async def get_secret_async(
    kind: SecretKind, cluster: str, server: str, *, timeout: float = DEFAULT_TIMEOUT
) -> str | None:
    return await _run_async(_get(kind, cluster, server), timeout)


async def set_secret_async(
    kind: SecretKind, cluster: str, server: str, value: str, *, timeout: float = DEFAULT_TIMEOUT
) -> None:
    await _run_async(_set(kind, cluster, server, value), timeout)


async def delete_secret_async(
    kind: SecretKind, cluster: str, server: str, *, timeout: float = DEFAULT_TIMEOUT
) -> bool:
    return await _run_async(_delete(kind, cluster, server), timeout)


async def has_secret_async(
    kind: SecretKind, cluster: str, server: str, *, timeout: float = DEFAULT_TIMEOUT
) -> bool:
    return await _run_async(_has(kind, cluster, server), timeout)


async def forget_server_async(
    cluster: str, server: str, *, timeout: float = DEFAULT_TIMEOUT
) -> list[str]:
    deleted: list[str] = []
    for kind in SecretKind:
        if await delete_secret_async(kind, cluster, server, timeout=timeout):
            deleted.append(account(kind, cluster, server))
    return deleted


# The common cases, by name: the functions above with the kind filled in.
get_password = partial(get_secret, SecretKind.SSH_PASSWORD)
set_password = partial(set_secret, SecretKind.SSH_PASSWORD)
delete_password = partial(delete_secret, SecretKind.SSH_PASSWORD)
has_password = partial(has_secret, SecretKind.SSH_PASSWORD)
get_passphrase = partial(get_secret, SecretKind.KEY_PASSPHRASE)
set_passphrase = partial(set_secret, SecretKind.KEY_PASSPHRASE)
