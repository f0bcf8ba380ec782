"""What both kinds of bulk pipe (:mod:`pmc.bundle.pipe` over PMC's own SSH,
:mod:`pmc.bundle.openssh_pipe` over the OpenSSH client) keep of a remote command's stderr,
and the error they give when the command failed or stopped reading its input."""

from __future__ import annotations

from pmc.remote.connection import Connection
from pmc.remote.errors import CommandFailed

KEPT = 64 << 10  # bytes of stderr kept (its start: where a command says what went wrong)


class StderrKept:
    """The start of a remote command's stderr, and its :class:`CommandFailed`."""

    command: str
    connection: Connection

    def __init__(self) -> None:
        self._stderr: list[bytes] = []
        self._stderr_size = 0

    def keep_stderr(self, chunk: bytes) -> None:
        if self._stderr_size < KEPT:
            self._stderr.append(chunk)
            self._stderr_size += len(chunk)

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace")

    def failed(self, status: int, *, stopped_reading: bool = False) -> CommandFailed:
        """The error of the command ending with ``status`` (``stopped_reading``: while PMC
        still wrote its input)."""
        if stopped_reading:
            what = f"stopped reading its input (exit status {status})"
        else:
            what = f"failed with exit status {status}"
        return CommandFailed(
            f"{self.command!r} {what}: {self.stderr.strip()[-400:]}",
            server=self.connection.label,
            exit_status=status,
            stderr=self.stderr,
        )
