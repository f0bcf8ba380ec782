"""Keeps secrets out of everything PMC writes or shows.

Whoever obtains a secret (the keyring module, a dialog) registers it here; every log line,
job event and audit entry passes through :func:`redact` before it is stored or displayed.
"""

from __future__ import annotations

import threading

MASK = "***"
_MIN_LENGTH = 4  # shorter strings would mask ordinary words; such secrets are refused anyway

_lock = threading.Lock()
_secrets: set[str] = set()


def register(secret: str | None) -> None:
    """Remember ``secret`` so that it never appears in logs or history."""
    if secret and len(secret) >= _MIN_LENGTH:
        with _lock:
            _secrets.add(secret)


def forget(secret: str) -> None:
    with _lock:
        _secrets.discard(secret)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***`` (longest first)."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class Masked(str):
    """A string (a command argument) that renders as ``***`` wherever it is displayed."""

    __slots__ = ()

    def __new__(cls, value: str) -> Masked:
        register(value)
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return repr(MASK)

    def display(self) -> str:
        return MASK
