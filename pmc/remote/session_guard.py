"""Nothing PMC starts on a server runs on after PMC's SSH session to it has ended.

sshd notices a dead client only through ``ClientAliveInterval`` (off on a default Rocky 8
sshd) or TCP keepalive (two hours): a cut link, a blocked port or a desktop that went to sleep
leaves the session's processes running, holding locks in the database. Two parts end them:

- **The guard**, one per connection: a small ``bash`` loop in its own session that reads a
  heartbeat line PMC sends every :attr:`~pmc.remote.limits.Timeouts.heartbeat` seconds.
  After :attr:`~pmc.remote.limits.Timeouts.orphan_after` seconds without one, PMC is gone
  as far as the server can tell: the guard ends the sshd process of its own connection (the
  one that serves PMC's channels), which closes every channel's pipes on the server. On an
  end of its input (PMC closed the connection, or sshd ended) it simply exits.
- **Every command watches its channel** (:data:`WATCHED`, used by
  :func:`pmc.remote.process_group.wrap` for commands without input): a background reader of the
  channel's stdin that, when sshd closes it while the command still runs, stops the command's
  process group (TERM, then KILL after 3 s). Commands that read data on stdin (bulk transfers,
  ``psql -f -``) end by themselves when their input ends or their output is cut.
- **Bulk streams over the OpenSSH client** (:mod:`pmc.bundle.openssh_pipe`) run in sessions
  of their own, which the guard does not end: each is tied to the sshd process the guard
  watches (:data:`TIED`, :meth:`SessionGuard.session_pid`): when that one ends (PMC closed its
  connection, or the guard ended it), the stream's process group is stopped.

A server without ``bash`` or ``/proc`` gets no guard; the connection works as before and the
log says so.
"""

from __future__ import annotations

import contextlib
import logging
import shlex
import threading
import time

import paramiko

log = logging.getLogger("pmc.remote")

# The guard: find this connection's sshd process (the parent chain up to "sshd", or
# "sshd-session" on OpenSSH 9.8+), then wait for heartbeats. ``read -t`` exits above 128 when
# the time runs out, 1 at the end of input.
GUARD_SCRIPT = r"""
p=$PPID
while [ "${p:-1}" -gt 1 ]; do
  case $(cat "/proc/$p/comm" 2>/dev/null) in sshd|sshd-session) break ;; esac
  p=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null)
done
echo "pmc-guard $$ ${p:-1}"
while :; do
  IFS= read -r -t "$1" line
  rc=$?
  [ "$rc" -eq 0 ] && continue
  if [ "$rc" -gt 128 ] && [ "${p:-1}" -gt 1 ]; then
    echo "pmc-guard: no word from PMC for $1 s; ending its SSH session (sshd $p)" >&2
    kill -TERM "$p" 2>/dev/null
    sleep 2
    kill -KILL "$p" 2>/dev/null
  fi
  exit 0
done
"""

# A command's own watch on its channel (see the module docs): $$ is the wrapper shell, which
# becomes the command (exec) and leads its process group. The reader keeps the channel's
# stdin (fd 3); the command gets /dev/null, as it would after an immediate end of input.
WATCHED = (
    'echo "$$"; exec 3<&0; '
    "{ trap '' TERM; cat <&3 >/dev/null 2>&1; kill -0 $$ 2>/dev/null || exit 0; "
    "kill -s TERM -- -$$; sleep 3; kill -s KILL -- -$$; } >/dev/null 2>&1 & "
    'exec "$@" </dev/null 3<&-'
)


# A command tied to another session's sshd process ($1, see the module docs): a background
# loop stops the command's process group once that process has ended while the command runs.
TIED = (
    'echo "$$"; t=$1; shift; '
    "{ trap '' TERM; while kill -0 \"$t\" && kill -0 $$; do sleep 1; done; "
    "kill -0 $$ || exit 0; kill -s TERM -- -$$; sleep 3; kill -s KILL -- -$$; "
    '} </dev/null >/dev/null 2>&1 & exec "$@"'
)


class SessionGuard:
    """The guard process of one connection (see the module docs)."""

    def __init__(self, channel: paramiko.Channel, label: str) -> None:
        self.channel = channel
        self.label = label
        self._sending = threading.Lock()
        self._warned = False
        self._reading = threading.Lock()
        self._head = b""
        self._pid: int | None = None

    @classmethod
    def start(
        cls, transport: paramiko.Transport, label: str, orphan_after: float, timeout: float
    ) -> SessionGuard | None:
        """Start the guard on ``transport`` (blocking); None if the server refused it."""
        try:
            channel = transport.open_session(timeout=timeout)
            seconds = str(max(1, round(orphan_after)))
            channel.exec_command(shlex.join(["bash", "-c", GUARD_SCRIPT, "pmc-guard", seconds]))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            log.warning("%s: no session guard (%s); a cut link may leave work running", label, exc)
            return None
        return cls(channel, label)

    @property
    def alive(self) -> bool:
        return not (self.channel.closed or self.channel.exit_status_ready())

    def beat(self) -> None:
        """Send one heartbeat without ever blocking the caller (a stalled link must not stall
        the keepalive watchdog): the send runs in its own short thread, one at a time."""
        if not self.alive:
            if not self._warned:
                self._warned = True
                log.warning("%s: the session guard has ended", self.label)
            return
        if not self._sending.acquire(blocking=False):
            return  # the previous heartbeat is still on its way

        def send() -> None:
            try:
                with contextlib.suppress(Exception):
                    self.channel.send(b"\n")
            finally:
                self._sending.release()

        threading.Thread(target=send, name=f"pmc-heartbeat-{self.label}", daemon=True).start()

    def session_pid(self, timeout: float) -> int | None:
        """Blocking: the pid of the sshd process that serves this connection on the server
        (the one the guard ends), from the guard's first line; None if it cannot be told
        within ``timeout`` seconds or the guard found none."""
        deadline = time.monotonic() + timeout
        with self._reading:
            while self._pid is None and not self._head.endswith(b"\n") and self.alive:
                if not self.channel.recv_ready():
                    if time.monotonic() > deadline:
                        return None
                    time.sleep(0.01)
                    continue
                self._head += (
                    self.channel.recv(64 - len(self._head)) if len(self._head) < 64 else b"\n"
                )
                words = self._head.split()
                if self._head.endswith(b"\n") and len(words) == 3 and words[0] == b"pmc-guard":
                    self._pid = int(words[2]) if words[2].isdigit() and int(words[2]) > 1 else None
            return self._pid

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.channel.close()
