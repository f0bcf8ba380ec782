"""PMC's logging: a rotating log file with every secret redacted, and paramiko kept quiet.

The CLI (and the GUI at start-up) call :func:`configure_logging` once. Records of the ``pmc``
loggers go to ``pmc.log`` in :func:`pmc.paths.log_dir` (rotated at 5 MB, five old files kept,
readable by the operator only) and, at WARNING and above (everything with ``verbose``), to
stderr. Every record passes :class:`RedactingFilter` on its way to each handler: a secret
registered in :mod:`pmc.redact` (a password, a passphrase) is replaced by ``***`` in the
message, its arguments, an exception's text and traceback — and :class:`RedactingFormatter`
redacts the final line once more.

paramiko logs every dropped connection as an ERROR with a full traceback, one record per
traceback line. A dropped link is an expected event that PMC reports itself (as
:class:`~pmc.remote.errors.ConnectionLost`), so :class:`ParamikoNoise` turns those into one
WARNING line without the traceback; paramiko below WARNING is not logged at all.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import logging.handlers
import os
import sys
import threading
from pathlib import Path

from pmc import paths, redact

LOG_FILE_NAME = "pmc.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUP_COUNT = 5
FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"
_MARK = "_pmc_handler"  # set on the handlers this module installs (so a second call replaces them)


class RedactingFilter(logging.Filter):
    """Replaces every registered secret in a record (message, arguments, exception text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, still redacted
            message = f"{record.msg} {record.args}"
        record.msg = redact.redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact.redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose output is redacted as a whole (belt and braces)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact.redact(super().format(record))


class ParamikoNoise(logging.Filter):
    """For paramiko's transport logger: an expected disconnect becomes one WARNING line.

    paramiko logs ``Exception (client): …`` or ``Socket exception: …`` at ERROR and then the
    traceback, one record per line, ending with an empty line (``util.tb_strings``). Those
    traceback records (with the heading and blank line Python 3.11 puts before a chained one)
    go to DEBUG: written only with ``--verbose``, as the error is PMC's to report; an "Unknown
    exception" (a bug, not a disconnect) keeps its traceback. A handshake refused for "no
    acceptable host key" is a known host that no longer has the key types PMC trusts: PMC
    reports it as a changed key, so it is logged at INFO.
    """

    _DISCONNECT = ("Exception (client)", "Exception (server)", "Socket exception:")
    _CHAINED = ("During handling of the above exception", "The above exception was the direct")
    _KNOWN_HOST = "no acceptable host key"  # a known host without the key types PMC holds

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        # thread → "expect": a traceback may follow; "skip": inside it, until its empty line
        self._state: dict[int | None, str] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        with self._lock:
            state = self._state.pop(record.thread, None)
            if state == "expect" and (message == "" or message.startswith(self._CHAINED)):
                # a chained exception: its heading and empty lines between the tracebacks
                self._state[record.thread] = "expect"
                return self._debug(record)
            if state == "expect" and message.startswith("Traceback (most recent call last)"):
                state = "skip"
            if state == "skip":
                # a traceback ends with an empty line; another part of the chain may follow
                self._state[record.thread] = "skip" if message != "" else "expect"
                return self._debug(record)
            if record.levelno >= logging.ERROR and message.startswith(self._DISCONNECT):
                if message.startswith("Exception ("):
                    self._state[record.thread] = "expect"
                record.levelno, record.levelname = logging.WARNING, "WARNING"
                if self._KNOWN_HOST in message:  # PMC reports it: a changed host key
                    record.levelno, record.levelname = logging.INFO, "INFO"
        return True

    @staticmethod
    def _debug(record: logging.LogRecord) -> bool:
        """A traceback line: kept at DEBUG when PMC logs debug messages, else dropped."""
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger("pmc").isEnabledFor(logging.DEBUG)


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Creates its files readable by the operator only (0600)."""

    _told = False

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    def close(self) -> None:
        # what was left to write, on a full disk (said once by handleError)
        with contextlib.suppress(OSError):
            super().close()

    def handleError(self, record: logging.LogRecord) -> None:
        """A file that cannot be written (a full disk): one line on stderr, once, instead of
        logging's traceback for every message."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handleError(record)
            return
        if not self._told:
            self._told = True
            hint = "Free some disk space" if exc.errno == errno.ENOSPC else "Check its folder"
            print(
                f"pmc: cannot write the log file {self.baseFilename} ({exc.strerror or exc});"
                f" PMC goes on without it. {hint}",
                file=sys.stderr,
            )


_paramiko_noise = ParamikoNoise()


def quiet_paramiko() -> None:
    """paramiko: WARNING and above only, disconnects without tracebacks (idempotent)."""
    logging.getLogger("paramiko").setLevel(logging.WARNING)
    transport = logging.getLogger("paramiko.transport")
    transport.setLevel(logging.WARNING)
    if _paramiko_noise not in transport.filters:
        transport.addFilter(_paramiko_noise)


def log_file_path() -> Path:
    return paths.log_dir() / LOG_FILE_NAME


def configure_logging(
    verbose: bool = False, *, stderr: bool = True, log_file: Path | None = None
) -> Path:
    """Set up PMC's logging (again: a second call replaces the first); returns the log file.

    ``verbose``: DEBUG for PMC's own loggers in the file and on stderr (else INFO in the
    file, WARNING on stderr). ``stderr=False`` for the GUI. Other libraries log WARNING and
    above; paramiko is quietened by :func:`quiet_paramiko`.
    """
    path = log_file or log_file_path()
    paths.private_dir(path.parent)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    redacting = RedactingFilter()
    formatter = RedactingFormatter(FORMAT)
    handlers: list[logging.Handler] = [
        _PrivateRotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
        )
    ]
    if stderr:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.DEBUG if verbose else logging.WARNING)
        handlers.append(console)
    for handler in handlers:
        handler.addFilter(redacting)
        handler.setFormatter(formatter)
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.getLogger("pmc").setLevel(logging.DEBUG if verbose else logging.INFO)
    quiet_paramiko()
    return path
