"""``systemctl`` as a Rocky 8 server answers it, for the lab's services.

:func:`run` is called by the supervisor with the command's arguments and a :class:`Units`
implementation (the supervisor itself); it returns (exit code, stdout, stderr) with systemd's
exit codes: ``is-active``/``status`` 0 when active, 3 when not; 4 for an unknown unit;
1 when a start failed ("Job for X failed because the control process exited with error code.").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from pmc.lab import topology

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NOT_ACTIVE = 3
EXIT_NO_UNIT = 4

# `systemctl is-active` / `is-failed`: the state asked about, and the exit status when the
# unit is not in it (is-failed answers 1, not 3).
_STATE_QUESTIONS = {"is-active": ("active", EXIT_NOT_ACTIVE), "is-failed": ("failed", EXIT_FAILED)}


@dataclass
class UnitState:
    """What systemd knows of a unit, as `systemctl status` shows it."""

    name: str
    active: str = "inactive"  # active | inactive | failed | activating | deactivating
    sub: str = "dead"  # running | dead | exited | failed
    since: float | None = None
    main_pid: int | None = None
    command: str = ""
    result: str = "success"  # success | exit-code | signal
    exit_status: int | None = None
    events: list[tuple[float, str]] = field(default_factory=list)
    output: list[str] = field(default_factory=list)  # last lines the process printed


class Units(Protocol):
    def state(self, unit: str) -> UnitState: ...

    def start(self, unit: str) -> bool: ...

    def stop(self, unit: str) -> None: ...

    def hostname(self) -> str: ...


def _ago(seconds: float) -> str:
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s ago"
    if s < 3600:
        return f"{s // 60}min {s % 60}s ago"
    if s < 86400:
        return f"{s // 3600}h {(s % 3600) // 60}min ago"
    return f"{s // 86400} days ago"


def _stamp(t: float) -> str:
    return time.strftime("%a %Y-%m-%d %H:%M:%S %Z", time.localtime(t))


def format_status(state: UnitState, host: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    spec = topology.SERVICE_BY_NAME[state.name]
    lines = [
        f"● {state.name}.service - {spec.description}",
        f"   Loaded: loaded ({spec.unit_path}; enabled; vendor preset: disabled)",
    ]
    if state.active == "failed":
        active = f"failed (Result: {state.result})"
    else:
        active = f"{state.active} ({state.sub})"
    if state.since is not None:
        active += f" since {_stamp(state.since)}; {_ago(now - state.since)}"
    lines.append(f"   Active: {active}")
    if state.active == "failed" and state.main_pid is not None:
        status = state.exit_status if state.exit_status is not None else 1
        word = "SUCCESS" if status == 0 else "FAILURE"
        lines.append(
            f"  Process: {state.main_pid} ExecStart={state.command} "
            f"(code=exited, status={status}/{word})"
        )
        lines.append(f" Main PID: {state.main_pid} (code=exited, status={status}/{word})")
    elif state.active == "active" and state.main_pid is not None:
        exe = state.command.split(" ", 1)[0].rsplit("/", 1)[-1]
        lines.append(f" Main PID: {state.main_pid} ({exe})")
        lines.append(f"   CGroup: /system.slice/{state.name}.service")
        lines.append(f"           └─{state.main_pid} {state.command}")
    journal = [(t, f"{host} systemd[1]: {msg}") for t, msg in state.events]
    if journal:
        lines.append("")
        for t, msg in journal[-10:]:
            lines.append(time.strftime("%b %d %H:%M:%S ", time.localtime(t)) + msg)
    return "\n".join(lines) + "\n"


def run(argv: list[str], units: Units) -> tuple[int, str, str]:
    words = [a for a in argv if not a.startswith("-")]
    quiet = "-q" in argv or "--quiet" in argv
    if not words:
        return EXIT_FAILED, "", "Too few arguments.\n"
    verb, names = words[0], words[1:]
    if verb == "daemon-reload":
        return EXIT_OK, "", ""
    known_verbs = {
        "start", "stop", "restart", "reload", "try-restart", "reload-or-restart",
        "status", "is-active", "is-enabled", "is-failed", "enable", "disable", "show",
    }  # fmt: skip
    if verb not in known_verbs:
        return EXIT_FAILED, "", f'Unknown operation "{verb}".\n'
    if not names:
        return EXIT_FAILED, "", "Too few arguments.\n"
    out: list[str] = []
    err: list[str] = []
    rc = EXIT_OK
    for raw in names:
        try:
            unit = topology.unit_name(raw)
        except KeyError:
            service = raw if "." in raw else f"{raw}.service"
            if verb in ("is-active", "is-failed"):
                out.append("inactive\n")
                rc = EXIT_NOT_ACTIVE
            elif verb == "status":
                err.append(f"Unit {service} could not be found.\n")
                rc = EXIT_NO_UNIT
            else:
                err.append(f"Failed to {verb} {service}: Unit {service} not found.\n")
                rc = 5
            continue
        if verb in ("start", "restart", "reload", "try-restart", "reload-or-restart"):
            if verb == "try-restart" and units.state(unit).active != "active":
                continue
            if verb != "start":
                units.stop(unit)
            if not units.start(unit):
                err.append(
                    f"Job for {unit}.service failed because the control process exited with "
                    f'error code.\nSee "systemctl status {unit}.service" and '
                    f'"journalctl -xe" for details.\n'
                )
                rc = EXIT_FAILED
        elif verb == "stop":
            units.stop(unit)
        elif verb == "status":
            state = units.state(unit)
            out.append(format_status(state, units.hostname()))
            if state.active != "active":
                rc = EXIT_NOT_ACTIVE
        elif verb in _STATE_QUESTIONS:
            wanted, not_so = _STATE_QUESTIONS[verb]
            state = units.state(unit)
            if not quiet:
                out.append(f"{state.active}\n")
            if state.active != wanted:
                rc = not_so
        elif verb == "is-enabled":
            if not quiet:
                out.append("enabled\n")
        elif verb == "show":
            state = units.state(unit)
            out.append(
                f"Id={unit}.service\nActiveState={state.active}\nSubState={state.sub}\n"
                f"MainPID={state.main_pid or 0}\n"
            )
        # enable / disable: every lab unit is enabled and stays so.
        if len(names) > 1 and verb == "status":
            out.append("\n")
    return rc, "".join(out), "".join(err)
