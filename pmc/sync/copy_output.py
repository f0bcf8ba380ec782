"""Reading ``copy_config.sh``'s output: stages as progress, and the failures the vendor's
manual documents.

Pure: lines in, :class:`CopyConfigProgress` out. The script prints ``$0: message`` lines, where
``$0`` is however it was started (``./copy_config.sh``, ``/opt/playout/bin/copy_config.sh``);
helper scripts print their own name the same way, and some messages share a line
(``Stop playout services on secondary... …copy_config.sh: Start slon process for Primary``).
The stages below are the manual's successful run, in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class Stage:
    key: str
    title: str  # what the operator reads in the progress bar
    pattern: re.Pattern[str]


def _stage(key: str, title: str, regex: str) -> Stage:
    return Stage(key, title, re.compile(regex))


STAGES: tuple[Stage, ...] = (
    _stage("start", "Copy config starting", r"Copy config starting on "),
    _stage("in-progress-check", "Checking if replication is in progress", r"^Checking if repl"),
    _stage("status-running", "Marking replication as running", r"^Updating the replication st"),
    _stage("started", "Started", r"^Starting at "),
    _stage("remove-system", "Removing the replication system", r"^Remove replication system"),
    _stage("export-dsmcc", "Exporting DSM-CC config on backup", r"^Export DSMCC config"),
    _stage("create-system", "Creating the replication system", r"^Create replication system"),
    _stage("stop-services", "Stopping Playout services on backup", r"^Stop playout services"),
    _stage("slon-primary", "Starting slon for main", r"^Start slon process for Primary"),
    _stage("slon-secondary", "Starting slon for backup", r"^Start slon process for Sec"),
    _stage("start-replication", "Starting replication", r"^Start replication\.\.\."),
    _stage("replicating", "Replication in progress", r"^REPLICATION IS IN PROGRESS"),
    *(
        _stage(f"{verb}-{kind}", f"{title} {kind} files", regex.format(kind=kind))
        for kind in ("carousel", "av", "ts")
        for verb, title, regex in (
            ("remove", "Removing old", r"^Removing secondary old {kind} files"),
            ("copy", "Copying", r"^Copying {kind} files to secondary"),
            ("chown", "Setting owner of", r"^Changing {kind} files owner"),
        )
    ),
    _stage("completed", "Replication completed", r"^Replication completed"),
    _stage("kill-slon", "Stopping slon", r"^Killall slon"),
    _stage("remove-system-2", "Removing the replication system", r"^Remove replication system"),
    _stage("import-dsmcc", "Importing DSM-CC config on backup", r"^Import DSMCC config"),
    _stage("restart-services", "Restarting Playout services on backup", r"^Restart playout"),
    _stage("status-stopped", "Marking replication as stopped", r"^Setting replication status"),
    _stage("finished", "Replication finished", r"^Replication finished successfully"),
)
STAGE_KEYS = tuple(s.key for s in STAGES)


class FailureKind(StrEnum):
    FAILOVER_NOT_CHECKED = "failover-not-checked"  # "Checking failover on slave... returned 127"
    SECONDARY_DATABASE = "secondary-database"  # "Create replication system... returned 255"
    ALREADY_IN_PROGRESS = "already-in-progress"  # "Skip replication: …already in progress"
    STEP_FAILED = "step-failed"  # any other "… returned N" then "Failure, …"
    UNKNOWN = "unknown"  # non-zero exit status without a recognised line


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    step: str  # the script's own words for the step that failed
    returned: int | None
    line: str  # the output line that told

    def explain(self) -> str:
        """One sentence for the operator: what the vendor's manual says this failure means."""
        if self.kind is FailureKind.FAILOVER_NOT_CHECKED:
            return (
                f"the failover check on backup returned {self.returned}: check_failover.sh "
                "has not been run on backup with the eth2 address of main"
            )
        if self.kind is FailureKind.SECONDARY_DATABASE:
            return (
                f"creating the replication system returned {self.returned}: a PostgreSQL "
                "could not be reached or refused the other server (listen_addresses, "
                "pg_hba.conf, firewall port 5432)"
            )
        if self.kind is FailureKind.ALREADY_IN_PROGRESS:
            return (
                "the replication status of main says a copy is already in progress "
                "(left behind by a copy that stopped, or one that is still running)"
            )
        if self.kind is FailureKind.STEP_FAILED:
            return f"the step {self.step!r} returned {self.returned}"
        return f"copy_config.sh failed ({self.line or 'no output'})"


_SCRIPT = re.compile(r"(?:^|(?<=\s))(\S*?[\w.-]+\.sh): ")
_RETURNED = re.compile(r"^(?P<step>.*?)\.\.\. returned (?P<rc>-?\d{1,9})\s*$")


def split_messages(line: str) -> list[tuple[str, str]]:
    """``(script, message)`` pairs of one output line (a line may hold several)."""
    found = list(_SCRIPT.finditer(line))
    if not found:
        return [("", line.strip())] if line.strip() else []
    out: list[tuple[str, str]] = []
    if line[: found[0].start()].strip():
        out.append(("", line[: found[0].start()].strip()))
    for i, match in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(line)
        script = match.group(1).rsplit("/", 1)[-1]
        out.append((script, line[match.end() : end].strip()))
    return out


@dataclass
class CopyConfigProgress:
    """What the output said so far; feed it lines as they arrive."""

    stages: list[str] = field(default_factory=list)  # keys of the stages seen, in order
    failure: Failure | None = None
    succeeded: bool = False
    warnings: list[str] = field(default_factory=list)
    _failed_step: tuple[str, int, str] | None = None

    @property
    def current(self) -> Stage | None:
        return STAGES[STAGE_KEYS.index(self.stages[-1])] if self.stages else None

    @property
    def fraction(self) -> float:
        if self.succeeded:
            return 1.0
        if not self.stages:
            return 0.0
        return (STAGE_KEYS.index(self.stages[-1]) + 1) / len(STAGES)

    def feed(self, line: str) -> list[Stage]:
        """Read one output line; returns the stages it started."""
        started: list[Stage] = []
        for script, message in split_messages(line):
            stage = self._read(script, message)
            if stage is not None:
                started.append(stage)
        return started

    def finish(self, exit_status: int) -> None:
        """The script ended with ``exit_status``: settle success or the failure."""
        if exit_status == 0 and self.failure is None:
            self.succeeded = "finished" in self.stages
            if not self.succeeded:
                self.failure = Failure(
                    FailureKind.UNKNOWN, "", 0, "exit status 0 without 'Replication finished'"
                )
            return
        self.succeeded = False
        if self.failure is None:
            if self._failed_step is not None:
                step, rc, text = self._failed_step
                self.failure = Failure(FailureKind.STEP_FAILED, step, rc, text)
            else:
                self.failure = Failure(
                    FailureKind.UNKNOWN, "", exit_status, f"exit status {exit_status}"
                )

    def _read(self, script: str, message: str) -> Stage | None:
        if not message:
            return None
        if message.startswith("warning:"):
            self.warnings.append(message)
        if "Skip replication: replication is already in progress" in message:
            self.failure = Failure(FailureKind.ALREADY_IN_PROGRESS, "", None, message)
            return None
        returned = _RETURNED.match(message)
        if returned:
            step, rc = returned.group("step"), int(returned.group("rc"))
            if rc != 0 and self.failure is None:
                if step.startswith("Checking failover on slave"):
                    self.failure = Failure(FailureKind.FAILOVER_NOT_CHECKED, step, rc, message)
                elif step.startswith("Create replication system"):
                    self.failure = Failure(FailureKind.SECONDARY_DATABASE, step, rc, message)
                elif self._failed_step is None:
                    self._failed_step = (step, rc, message)
        if script.startswith("replication_stopped"):
            return None  # printed inside "Setting replication status to stopped..."
        return self._advance(message)

    def _advance(self, message: str) -> Stage | None:
        last = STAGE_KEYS.index(self.stages[-1]) if self.stages else -1
        for index in range(last + 1, len(STAGES)):
            stage = STAGES[index]
            if stage.pattern.search(message):
                self.stages.append(stage.key)
                if stage.key == "finished":
                    self.succeeded = self.failure is None
                return stage
        return None


def parse_output(lines: Iterable[str], exit_status: int) -> CopyConfigProgress:
    """Read a whole run's output (golden tests, a log read afterwards)."""
    progress = CopyConfigProgress()
    for line in lines:
        progress.feed(line)
    progress.finish(exit_status)
    return progress
