"""How a job that changes servers ended, in the words of the failure screen (the setup
wizard's apply, an import, a sync): one banner line, the cause, what was rolled back and
what could not be. The banner says first whether anything changed: "Nothing changed: both
servers were restored." — or, only when a rollback failed, "Could not restore: …".

Pure: the GUI renders an :class:`Outcome`, the CLI can print :meth:`Outcome.text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pmc.words import plural


@dataclass(frozen=True)
class Outcome:
    ok: bool
    banner: str
    cause: str = ""
    undone: tuple[str, ...] = ()  # what was rolled back, one line each ("main: restored …")
    not_undone: tuple[str, ...] = ()  # what could not be rolled back

    @property
    def restored(self) -> bool:
        """A failure that left every server as it was."""
        return not self.ok and not self.not_undone

    def text(self) -> str:
        """Everything the screen shows, as plain text (its Copy button)."""
        lines = [self.banner]
        if self.cause:
            lines += ["", self.cause]
        if self.undone:
            lines += ["", "Rolled back:", *(f"  {line}" for line in self.undone)]
        if self.not_undone:
            lines += ["", "Could not roll back:", *(f"  {line}" for line in self.not_undone)]
        return "\n".join(lines)


def succeeded(what: str) -> Outcome:
    return Outcome(True, what)


def _who(servers: Sequence[str]) -> str:
    if len(servers) == 1:
        return f"{servers[0]} was"
    if len(servers) == 2:
        return "both servers were"
    return f"all {plural(len(servers), 'server')} were"


def after_rollback(
    cause: str,
    rolled_back: Sequence[str],
    problems: Sequence[str],
    *,
    cancelled: bool = False,
) -> Outcome:
    """A setup apply that failed (or was cancelled) and rolled back: ``rolled_back`` and
    ``problems`` are its report's lines, each starting with the server's name."""
    if problems:
        return Outcome(
            False, "Could not restore: " + "; ".join(problems), cause,
            tuple(rolled_back), tuple(problems),
        )  # fmt: skip
    servers = sorted({line.split(":", 1)[0].strip() for line in rolled_back if ":" in line})
    if servers:
        banner = f"Nothing changed: {_who(servers)} restored."
    elif cancelled:
        banner = "Nothing changed: cancelled before the first change."
    else:
        banner = "Nothing changed: the failure came before the first change."
    return Outcome(False, banner, cause, tuple(rolled_back))


def step_failed(step: str, error: str) -> str:
    """The cause of a failed setup step, its server named once: ``step`` as the plan says
    it ("[backup] restart playout-api.service"), ``error`` as the step's error says it (often
    starting with the server: "backup (127.168.1.108): systemctl …")."""
    server, bracket, action = step.removeprefix("[").partition("] ")
    if not bracket or not step.startswith("["):
        return f"{step}: {error}"
    where, colon, rest = error.partition(": ")
    if colon and where.split(" ", 1)[0] == server:
        return f"“{action}” failed on {where}: {rest}"
    return f"“{action}” failed on {server}: {error}"


def restored_from_backup(cause: str, server: str, backup: str | None) -> Outcome:
    """An import that failed and was rolled back to the automatic backup."""
    where = f" (the backup stays at {backup})" if backup else ""
    return Outcome(False, f"Nothing changed: {server} was restored from its backup{where}.", cause)


def not_restored(cause: str, what: str) -> Outcome:
    """A failure whose rollback did not finish: the operator must act."""
    return Outcome(False, f"Could not restore: {what}", cause, (), (what,))
