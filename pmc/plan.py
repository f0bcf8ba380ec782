"""Plans: every change PMC makes to a server, as pure data the operator sees before it happens.

A :class:`Plan` is computed from the inventory and the *observed facts* of each server (see
:mod:`pmc.setup.observe`) without any I/O. It holds ordered :class:`Step` objects — a file
written with its before/after text, a command as an argument tuple, a service restart, or a
public key moved from one server to another — each with the reason it is needed, and
:class:`NoChange` entries saying why something is already right ("no change because …").

Steps are frozen: the executor (:mod:`pmc.setup.apply`) applies exactly the plan the operator
saw. The plan carries a fingerprint of the facts of every server it was computed from; the
executor observes again and refuses to apply if a server changed in between.

Diffs are data (:meth:`Step.diff`); :func:`render_text` is the plain-text rendering that the
CLI prints (the GUI renders the same objects its own way).
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass, field
from enum import StrEnum

from pmc.redact import Masked


class StepKind(StrEnum):
    WRITE_FILE = "write-file"  # replace a file's text (atomically, with a backup)
    AUTHORIZE_KEY = "authorize-key"  # append a public key read from another server at apply time
    RUN = "run"  # run a command (argv); ``undo`` reverses it on rollback
    RESTART = "restart"  # restart a service and check it comes back active
    CHECK = "check"  # ask the daemon that a value took effect (pmc.setup.effective)


@dataclass(frozen=True)
class Effective:
    """A value as the daemon uses it, before the step and as planned after it, each with the
    place it comes from (``no — /etc/ssh/sshd_config.d/10-harden.conf:1``)."""

    setting: str  # "sshd PermitRootLogin for root from 127.17.59.129"
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.setting}: {self.before} → {self.after}"


@dataclass(frozen=True)
class Probe:
    """What a CHECK step asks: ``daemon`` ("sshd" or "postgresql") about ``name``; sshd's value
    for ``login`` (an ``sshd -T -C`` spec) must be one of ``wanted``; PostgreSQL's
    ``listen_addresses`` must cover each address in ``wanted``."""

    daemon: str
    name: str
    wanted: tuple[str, ...]
    login: str = ""


@dataclass(frozen=True)
class Step:
    """One change on one server. Which fields matter depends on :attr:`kind`."""

    kind: StepKind
    server: str
    title: str
    reason: str
    # WRITE_FILE, AUTHORIZE_KEY: the file changed; RUN: a file the command rewrites, shown as
    # a diff of what PMC expects (ALTER SYSTEM's postgresql.auto.conf)
    path: str | None = None
    before: str | None = None  # its text as observed (None: the file does not exist)
    after: str | None = None  # WRITE_FILE: the text written; RUN: the text expected
    mode: int = 0o644  # WRITE_FILE of a new file
    argv: tuple[str, ...] = ()  # RUN
    undo: tuple[tuple[str, ...], ...] = ()  # RUN: commands that reverse it, in order
    creates: tuple[str, ...] = ()  # RUN: files it creates (removed on rollback)
    service: str | None = None  # RESTART
    expect_log: tuple[str, ...] = ()  # RESTART: lines the service's log must show afterwards
    log_path: str | None = None  # RESTART: where that log is
    key_server: str | None = None  # AUTHORIZE_KEY: whose public key
    key_path: str | None = None  # AUTHORIZE_KEY: where that key is on key_server
    effective: tuple[Effective, ...] = ()  # values the daemons use, before → after
    probe: Probe | None = None  # CHECK

    def command_text(self) -> str:
        """The command as the operator reads it (masked arguments show ``***``)."""
        return " ".join(_shown(a) for a in self.argv)

    def diff(self) -> str:
        """A unified diff of the file change ('' for steps that change no file text), as the
        operator reads it (:func:`visible`)."""
        return visible(self._diff())

    def _diff(self) -> str:
        if self.kind is StepKind.AUTHORIZE_KEY:
            before = self.before or ""
            lines = difflib.unified_diff(
                before.splitlines(keepends=True),
                [
                    *before.splitlines(keepends=True),
                    f"<public key of root@{self.key_server} from {self.key_path}>\n",
                ],
                fromfile=f"{self.server}:{self.path}",
                tofile=f"{self.server}:{self.path}",
            )
            return _fix_no_newline("".join(lines))
        if self.kind not in (StepKind.WRITE_FILE, StepKind.RUN) or self.after is None:
            return ""
        lines = difflib.unified_diff(
            (self.before or "").splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=f"{self.server}:{self.path}" if self.before is not None else "/dev/null",
            tofile=f"{self.server}:{self.path}",
        )
        return _fix_no_newline("".join(lines))

    def action(self) -> str:
        """One line: what the step does (a job's log names the server beside it)."""
        if self.kind is StepKind.RUN:
            return f"run: {self.command_text()}"
        if self.kind is StepKind.RESTART:
            return f"restart {self.service}"
        if self.kind is StepKind.CHECK:
            return f"check: {self.title}"
        return self.title

    def summary(self) -> str:
        """One line: what the step does, where."""
        return f"[{self.server}] {self.action()}"


def visible(text: str) -> str:
    """``text`` as the operator reads it. PMC reads files with ``surrogateescape``, so that a
    byte that is not UTF-8 (a Latin-1 ``\\xf3`` in a comment) is kept and written back as it
    was; on screen, in the audit log and in JSON such a byte is shown as ``\\xf3``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _shown(arg: str) -> str:
    if isinstance(arg, Masked):
        return arg.display()
    return shlex.quote(arg)


def _fix_no_newline(diff: str) -> str:
    # difflib does not mark a last line without newline; keep every diff line terminated.
    return "".join(line if line.endswith("\n") else line + "\n" for line in diff.splitlines(True))


@dataclass(frozen=True)
class NoChange:
    """Something the plan looked at and found already right."""

    server: str
    subject: str
    reason: str  # "no change because …" — the sentence after "because"

    def summary(self) -> str:
        return f"[{self.server}] {self.subject}: no change because {self.reason}"


@dataclass(frozen=True)
class Plan:
    cluster: str
    architecture: str
    steps: tuple[Step, ...] = ()
    unchanged: tuple[NoChange, ...] = ()
    fingerprints: tuple[tuple[str, str], ...] = ()  # (server, fingerprint of its facts)
    notes: tuple[str, ...] = ()  # warnings for the operator (risks the plan accepts)
    options: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.steps

    @property
    def servers(self) -> tuple[str, ...]:
        seen: list[str] = []
        for step in self.steps:
            if step.server not in seen:
                seen.append(step.server)
        return tuple(seen)

    def fingerprint_of(self, server: str) -> str | None:
        return dict(self.fingerprints).get(server)

    def as_data(self) -> dict[str, object]:
        """A JSON-ready view (golden tests, the GUI's plan page); every text as the operator
        reads it (:func:`visible`: a value or note read from a file may hold such a byte)."""
        data = {
            "cluster": self.cluster,
            "architecture": self.architecture,
            "steps": [_step_data(s) for s in self.steps],
            "unchanged": [
                {"server": n.server, "subject": n.subject, "reason": n.reason}
                for n in self.unchanged
            ],
            "notes": list(self.notes),
        }
        return {key: _visible_data(value) for key, value in data.items()}


def _visible_data(value: object) -> object:
    if isinstance(value, list):
        return [_visible_data(v) for v in value]
    if isinstance(value, dict):
        return {k: _visible_data(v) for k, v in value.items()}
    return visible(value) if isinstance(value, str) else value  # None, numbers as they are


def _step_data(step: Step) -> dict[str, object]:
    data: dict[str, object] = {
        "kind": step.kind.value,
        "server": step.server,
        "title": step.title,
        "reason": step.reason,
    }
    if step.effective:
        data["effective"] = [str(e) for e in step.effective]
    if step.kind is StepKind.WRITE_FILE:
        data["path"] = step.path
        data["diff"] = step.diff().splitlines()
    elif step.kind is StepKind.CHECK:
        assert step.probe is not None
        data["probe"] = [step.probe.daemon, step.probe.name, *step.probe.wanted]
    elif step.kind is StepKind.AUTHORIZE_KEY:
        data["path"] = step.path
        data["key"] = f"{step.key_server}:{step.key_path}"
    elif step.kind is StepKind.RUN:
        data["argv"] = [a.display() if isinstance(a, Masked) else a for a in step.argv]
        if step.undo:
            data["undo"] = [
                [a.display() if isinstance(a, Masked) else a for a in u] for u in step.undo
            ]
        if step.path and step.after is not None:
            data["path"] = step.path
            data["diff"] = step.diff().splitlines()
    else:
        data["service"] = step.service
        if step.expect_log:
            data["expect_log"] = list(step.expect_log)
    return data


def render_text(plan: Plan, *, diffs: bool = True) -> str:
    """The plan as the CLI prints it: numbered steps with reasons and diffs, then no-changes."""
    out: list[str] = [f"Plan for cluster {plan.cluster} ({plan.architecture}):"]
    if plan.is_empty:
        out.append("  Nothing to change.")
    for number, step in enumerate(plan.steps, 1):
        out.append(f"{number:3}. {step.summary()}")
        out.append(f"     why: {step.reason}")
        out.extend(f"     effective: {e}" for e in step.effective)
        if diffs:
            out.extend("     " + line for line in step.diff().splitlines())
    if plan.unchanged:
        out.append("Already right:")
        out.extend(f"   - {n.summary()}" for n in plan.unchanged)
    if plan.notes:
        out.append("Notes:")
        out.extend(f"   ! {note}" for note in plan.notes)
    return visible("\n".join(out) + "\n")
