"""Errors an operator can act on.

Every error PMC raises on purpose is a :class:`PmcError`: its ``str()`` is the sentence the
operator reads — what happened, where (a server, a file and line, a bundle member) and what to
do next. The GUI shows it in a dialog, the CLI prints it; neither ever shows a traceback for it.
"""

from __future__ import annotations


class PmcError(Exception):
    """Base class: ``what`` happened at ``where``; ``hint`` says what to do next."""

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.what = what
        self.where = where
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.hint:
            text = f"{text.rstrip('.')}. {self.hint}"
        return text


class InputError(PmcError):
    """Bad input from the operator: a file, an address, an option. Nothing was changed."""


class ConfigSyntaxError(InputError):
    """A configuration file that cannot be parsed; ``line`` and ``column`` are 1-based."""

    def __init__(
        self,
        what: str,
        *,
        path: str,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        where = path
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(what, where=where, hint=hint)


class SecretStoreError(PmcError):
    """The OS keyring is missing, locked or refused the request."""


class RemoteError(PmcError):
    """A server did not do what was asked; ``server`` names it."""

    def __init__(self, what: str, *, server: str, hint: str | None = None) -> None:
        self.server = server
        super().__init__(what, where=server, hint=hint)


class LabError(PmcError):
    """The rehearsal lab cannot run here, or failed to start or stop."""


class Cancelled(PmcError):
    """The operator cancelled a job; nothing past the last safe point was done."""
