"""The keyring: a real Secret Service for the integration tests, and failing closed."""

from __future__ import annotations

import asyncio
import secrets as random
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring.backends.fail
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from pmc import redact, secrets
from pmc.errors import InputError, SecretStoreError
from tests.fixtures.keyring import SECRETS_NAME, SecretServiceSession, ask_bus, secrets_owner


class MemoryKeyring(KeyringBackend):
    """An in-memory backend for unit tests (never used where a test claims integration)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username))


@pytest.fixture
def injected() -> Iterator[None]:
    yield
    secrets.use_backend(None)


def test_account_names() -> None:
    assert secrets.account(secrets.SecretKind.SSH_PASSWORD, "studio", "main") == (
        "ssh-password:studio/main"
    )
    assert secrets.account(secrets.SecretKind.KEY_PASSPHRASE, "studio", "main") == (
        "key-passphrase:studio/main"
    )


@pytest.mark.keyring
def test_the_secret_service_is_the_sessions_own_keyring(
    secret_service: SecretServiceSession,
) -> None:
    """Nothing else answers for the keyring: the private bus starts nothing on demand (a
    standard session bus started the system's gnome-keyring-daemon, with a locked keyring
    that asks for a password, when a test called before the session's daemon was ready), and
    the Secret Service name is held by the session's own daemon."""
    assert ask_bus(secret_service.bus_address, "ListActivatableNames") == ["org.freedesktop.DBus"]
    assert secrets_owner(secret_service.bus_address) == secret_service.keyring_pid
    assert SECRETS_NAME in ask_bus(secret_service.bus_address, "ListNames")  # type: ignore[operator]


@pytest.mark.keyring
def test_real_secret_service_round_trip(secret_service: SecretServiceSession) -> None:
    password = random.token_urlsafe(16)
    assert "SecretService" in secrets.backend_name()
    assert secrets.get_password("studio", "main") is None
    secrets.set_password("studio", "main", password)
    same = secrets.get_password("studio", "main") == password
    assert same, "the keyring returned something else"
    assert secrets.has_password("studio", "main")
    assert redact.redact(f"x {password} y") == "x *** y"
    secrets.set_passphrase("studio", "main", random.token_urlsafe(8))
    assert sorted(secrets.forget_server("studio", "main")) == [
        "key-passphrase:studio/main",
        "ssh-password:studio/main",
    ]
    assert not secrets.has_password("studio", "main")
    assert secrets.delete_password("studio", "main") is False


@pytest.mark.keyring
def test_async_calls_do_not_block_the_loop(secret_service: SecretServiceSession) -> None:
    password = random.token_urlsafe(16)

    async def scenario() -> tuple[bool, int]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0)  # a yield, not a wait: counts the loop's turns

        task = asyncio.create_task(ticker())
        await secrets.set_secret_async(secrets.SecretKind.SSH_PASSWORD, "studio", "async", password)
        kind = secrets.SecretKind.SSH_PASSWORD
        same = await secrets.get_secret_async(kind, "studio", "async") == password
        await secrets.forget_server_async("studio", "async")
        stop.set()
        await task
        return same, ticks

    same, ticks = asyncio.run(scenario())
    assert same, "the keyring returned something else"
    assert ticks > 0
    assert secrets.get_password("studio", "async") is None


def test_no_secret_service_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    with pytest.raises(SecretStoreError) as caught:
        secrets.set_password("studio", "main", "never-stored")
    message = str(caught.value)
    assert message.startswith("no OS keyring is available to keep passwords")
    assert "never stores them in plain files" in message
    assert "Install and unlock GNOME Keyring or KWallet" in message
    assert "never-stored" not in message


@pytest.mark.parametrize("module", ["keyring.backends.fail", "keyrings.alt.file"])
def test_insecure_backends_are_refused(module: str, injected: None) -> None:
    backend: KeyringBackend
    if module == "keyring.backends.fail":
        backend = keyring.backends.fail.Keyring()
    else:
        plaintext = type("PlaintextKeyring", (MemoryKeyring,), {"__module__": module})
        backend = plaintext()
    secrets.use_backend(backend)
    with pytest.raises(SecretStoreError, match="no OS keyring is available"):
        secrets.get_password("studio", "main")


class _Raising(MemoryKeyring):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error


def test_locked_keyring_says_unlock_it(injected: None) -> None:
    secrets.use_backend(_Raising(keyring.errors.KeyringLocked("Failed to unlock")))
    with pytest.raises(SecretStoreError) as caught:
        secrets.get_password("studio", "main")
    assert str(caught.value) == (
        "the OS keyring is locked, so PMC cannot read the SSH password of server 'main'"
        " (cluster 'studio'). Unlock it (e.g. the 'Login' keyring in Passwords and Keys, or"
        " KWallet) and try again."
    )


def test_an_unanswered_keyring_times_out(injected: None) -> None:
    release = threading.Event()

    class Hanging(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            release.wait(30)
            return None

    secrets.use_backend(Hanging())
    try:
        with pytest.raises(SecretStoreError, match=r"did not answer within 0\.05 seconds"):
            secrets.get_password("studio", "main", timeout=0.05)
        with pytest.raises(SecretStoreError, match="unlock it and try again"):
            asyncio.run(
                secrets.get_secret_async(
                    secrets.SecretKind.SSH_PASSWORD, "studio", "main", timeout=0.05
                )
            )
    finally:
        release.set()


def test_unusable_values_are_refused(injected: None) -> None:
    memory = MemoryKeyring()
    secrets.use_backend(memory)
    for bad in ("", "two\nlines", "x" * 2000):
        with pytest.raises(InputError):
            secrets.set_password("studio", "main", bad)
    assert memory.items == {}
    secrets.set_password("studio", "main", "correct horse")
    assert memory.items == {("pmc", "ssh-password:studio/main"): "correct horse"}
