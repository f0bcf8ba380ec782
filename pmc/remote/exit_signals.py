"""How a command on a server ended when a signal killed it: the server's RFC 4254 "exit-signal"
request (which paramiko itself ignores, leaving the channel without an exit status) recorded
per channel, and Linux's signal numbers."""

from __future__ import annotations

import threading
import weakref

import paramiko

# Linux signal numbers (the servers run Rocky Linux; PMC itself may run on Windows, whose
# ``signal`` module lacks most of them).
SIGNAL_NUMBERS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8,
    "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
    "STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22,
    "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29,
    "PWR": 30, "SYS": 31,
}  # fmt: skip
SIGNAL_NAMES = {number: name for name, number in SIGNAL_NUMBERS.items()}

# The signal that ended a channel's command, from the server's "exit-signal" request (which
# paramiko itself ignores, leaving the channel without an exit status).
_exit_signals: weakref.WeakKeyDictionary[paramiko.Channel, str] = weakref.WeakKeyDictionary()
_exit_signals_lock = threading.Lock()


def exit_signal(channel: paramiko.Channel) -> str | None:
    """``TERM``, ``KILL``… when the server said the command was killed by that signal."""
    with _exit_signals_lock:
        return _exit_signals.get(channel)


def channel_request(channel: paramiko.Channel, message: paramiko.Message) -> None:
    """paramiko's channel request handler, plus RFC 4254 6.10 "exit-signal": the signal is
    recorded and the exit status set to 128 + its number, as a shell reports it."""
    start = message.packet.tell()
    if message.get_text() == "exit-signal":
        message.get_boolean()  # want reply: always false for exit-signal
        name = message.get_text().removeprefix("SIG")
        with _exit_signals_lock:
            _exit_signals[channel] = name
        channel.exit_status = 128 + SIGNAL_NUMBERS.get(name, 0)
        channel.status_event.set()
        return
    message.packet.seek(start)
    paramiko.Channel._handle_request(channel, message)  # type: ignore[attr-defined]
