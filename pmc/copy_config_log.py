"""What a server's copy config log says about its last runs: how the last one ended (and
why, when it failed) and when the last successful one finished.

copy_config.sh sets the replication status to "stopped" both when it finishes and when it
fails (the vendor's manual: "Failure, setting replication status to stopped"), so the status
alone cannot tell an idle cluster from a broken one; its log can. The probe greps the log for
the lines below (:func:`log_command`); :func:`read_runs` reads them with the same reader as a
live run's output (:mod:`pmc.sync.copy_output`). Pure: lines in, :class:`CopyConfigRuns` out.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pmc.layout import PlayoutLayout
from pmc.sync.copy_output import CopyConfigProgress, Failure

STARTED = "Copy config starting"
FAILED = "Failure, setting replication status to stopped"
SKIPPED = "Skip replication"
SUCCEEDED = "Replication finished successfully"
_WANTED = (STARTED, r"\.\.\. returned -?[0-9]+", FAILED, SUCCEEDED, SKIPPED)
LINES = 200  # the log's last matching lines read: several runs
_STAMP = re.compile(r"^\s*(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)")


class RunOutcome(StrEnum):
    NONE = "none"  # no run in the log (or no log)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNFINISHED = "unfinished"  # started, neither finished nor failed (yet)


@dataclass(frozen=True)
class CopyConfigRuns:
    outcome: RunOutcome = RunOutcome.NONE
    failure: Failure | None = None  # why the last run failed
    started: str | None = None  # when the last run started ("YYYY-MM-DD HH:MM:SS")
    ended: str | None = None  # when the last run ended (failed or finished)
    last_success: str | None = None  # when the last successful run finished


def log_command(layout: PlayoutLayout) -> str:
    """A shell command printing the log's last :data:`LINES` lines that tell runs apart."""
    pattern = "|".join(_WANTED)
    log = shlex.quote(layout.copy_config_log)
    return f"grep -a -E {shlex.quote(pattern)} {log} 2>/dev/null | tail -n {LINES}"


def _stamp(line: str) -> str | None:
    found = _STAMP.match(line)
    return found.group(1).replace("T", " ") if found else None


def read_runs(lines: Sequence[str]) -> CopyConfigRuns:
    """The last run and the last success among ``lines`` (as :func:`log_command` prints)."""
    last_success = None
    for line in lines:
        if SUCCEEDED in line:
            last_success = _stamp(line) or last_success or ""
    starts = [i for i, line in enumerate(lines) if STARTED in line]
    if not starts:
        ends = [line for line in lines if FAILED in line or SUCCEEDED in line]
        if not ends:
            return CopyConfigRuns(last_success=last_success or None)
        run = list(lines)
    else:
        run = list(lines[starts[-1] :])
    progress = CopyConfigProgress()
    for line in run:
        progress.feed(line)
    started = _stamp(run[0]) if starts else None
    failed = any(FAILED in line or SKIPPED in line for line in run)
    ended = next((_stamp(x) for x in reversed(run) if FAILED in x or SUCCEEDED in x), None)
    if failed:
        progress.finish(1)
        return CopyConfigRuns(RunOutcome.FAILED, progress.failure, started, ended, last_success)
    if any(SUCCEEDED in line for line in run):
        return CopyConfigRuns(RunOutcome.SUCCEEDED, None, started, ended, last_success)
    return CopyConfigRuns(RunOutcome.UNFINISHED, None, started, None, last_success)
