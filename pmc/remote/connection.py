"""One SSH connection per server, shared by every job that talks to it.

A :class:`Connection` owns one paramiko ``Transport``: it connects on first use, verifies the
host key against PMC's known hosts (asking the :class:`~pmc.remote.host_keys.TrustDecision`
about a new key), logs in by key file, ssh-agent or password, watches the link with
``keepalive@openssh.com`` requests under its own deadline, and connects again on the next call
after a drop. Blocking paramiko work runs in worker threads (:class:`Executors`), so the same
coroutines serve ``asyncio.run`` (the CLI) and qasync (the GUI).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NoReturn, TypeVar

import paramiko
from paramiko.ssh_exception import IncompatiblePeer

from pmc.inventory import Server
from pmc.remote import handshake
from pmc.remote.credentials import CredentialSource, NoCredentials
from pmc.remote.errors import (
    AuthenticationFailed,
    ConnectionLost,
    HostKeyChanged,
    UnknownHostKey,
    Unreachable,
)
from pmc.remote.exit_signals import channel_request
from pmc.remote.host_keys import (
    KnownHosts,
    RefuseUnknown,
    TrustDecision,
    host_id,
)
from pmc.remote.limits import Executors, Timeouts
from pmc.remote.login import authenticate
from pmc.remote.session_guard import SessionGuard
from pmc.remote.session_slots import SessionSlots

log = logging.getLogger("pmc.remote")

T = TypeVar("T")

WINDOW_SIZE = 8 * 1024 * 1024
MAX_PACKET_SIZE = 32768


def server_label(server: Server) -> str:
    """How errors name a server: ``main (127.168.1.105)``, with ``:port`` when not 22."""
    address = server.management_address
    if server.ssh_port != 22:
        address = f"{address}:{server.ssh_port}"
    return f"{server.name} ({address})"


class Connection:
    """The shared SSH connection to one server."""

    def __init__(
        self,
        server: Server,
        *,
        cluster: str = "",
        known_hosts: KnownHosts,
        credentials: CredentialSource | None = None,
        trust: TrustDecision | None = None,
        timeouts: Timeouts | None = None,
        executors: Executors | None = None,
        max_sessions: int = 6,  # sshd allows 10, and frees a closed one only a moment later
    ) -> None:
        self.server = server
        self.cluster = cluster
        self.label = server_label(server)
        self.known_hosts = known_hosts
        self.credentials: CredentialSource = credentials or NoCredentials()
        self.trust: TrustDecision = trust or RefuseUnknown()
        self.timeouts = timeouts or Timeouts()
        self._own_executors = executors is None
        self.executors = executors or Executors()
        self._transport: paramiko.Transport | None = None
        # reentrant: a login that fails as a lost connection drops the transport while the
        # connect still holds the lock (a plain Lock left that thread waiting on itself)
        self._lock = threading.RLock()
        self._closed = False
        self._watchdog: threading.Thread | None = None
        self._guard: SessionGuard | None = None
        self._wake = threading.Event()
        self.slots = SessionSlots(max_sessions)
        # One channel open in flight per connection: paramiko keeps the reason of a refused
        # open in ONE place per transport, so of two refusals at once one came out as a bare
        # "Unable to open channel." that could not be told from a lost link.
        self.opening = threading.Lock()
        self._held: set[int] = set()
        self.connects = 0  # how many times a transport was set up (for status and tests)
        # One host-key question at a time per event loop: a status refresh and a Connect that
        # meet the same unknown key must not ask the operator twice.
        self._questions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    # ---- public --------------------------------------------------------------------------

    @property
    def needs_sudo(self) -> bool:
        return self.server.ssh_user != "root"

    def as_root(self, argv: list[str]) -> list[str]:
        """``argv`` as root: unchanged for a root login, under ``sudo -n`` otherwise."""
        return ["sudo", "-n", "--", *argv] if self.needs_sudo else argv

    @property
    def is_connected(self) -> bool:
        transport = self._transport
        return transport is not None and transport.is_active()

    async def in_thread(
        self, pool: ThreadPoolExecutor, function: Callable[..., T], *args: object
    ) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, function, *args)

    async def transport(self) -> paramiko.Transport:
        """The live transport, connecting (again) if needed; asks about an unknown host key."""
        try:
            return await self._transport_asking()
        except (Unreachable, AuthenticationFailed, HostKeyChanged, ConnectionLost) as exc:
            log.info("%s", exc)  # the caller reports it; the log file keeps it too
            raise

    def _question_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._questions.get(loop)
        if lock is None:
            lock = self._questions[loop] = asyncio.Lock()
        return lock

    async def _transport_asking(self) -> paramiko.Transport:
        for _attempt in range(2):
            try:
                return await self.in_thread(self.executors.control, self._ensure_transport)
            except UnknownHostKey:
                async with self._question_lock():
                    try:  # another task may have had the same key trusted meanwhile
                        return await self.in_thread(self.executors.control, self._ensure_transport)
                    except UnknownHostKey as question:
                        await self._ask(question)
        return await self.in_thread(self.executors.control, self._ensure_transport)

    async def _ask(self, question: UnknownHostKey) -> None:
        """Put an unknown host key to the trust decision; remember it if trusted."""
        log.info("%s: unknown host key %s", self.label, question.fingerprint)
        if not await self.trust.decide(question):
            raise question
        key = self._pending_key
        if key is None:  # pragma: no cover - set by _ensure_transport before raising
            raise question
        self.known_hosts.add(question.host_id, key)
        log.info("%s: host key %s trusted by the operator", self.label, question.fingerprint)

    def transport_blocking(self) -> paramiko.Transport:
        """The live transport from a worker thread (no trust question: it must be known)."""
        return self._ensure_transport()

    async def open_session(self, *, slot: bool = True) -> paramiko.Channel:
        """A new session channel; release it with :meth:`close_session`. ``slot=False`` (for
        stopping a command) does not wait for a free session slot."""
        if slot:
            await self.slots.acquire()
        try:
            transport = await self.transport()
            channel = await self.in_thread(self.executors.control, self._open_session, transport)
        except BaseException:
            if slot:
                self.slots.release()
            raise
        if slot:
            with self._lock:
                self._held.add(id(channel))
        return channel

    def close_session(self, channel: paramiko.Channel) -> None:
        """Close ``channel`` and give its session slot back (safe to call more than once, and
        never raises: on a line that just went down paramiko's close raises EOFError or
        OSError; the loss itself is reported by whoever was using the channel, and the slot
        must come back all the same)."""
        try:
            channel.close()
        except (EOFError, OSError, paramiko.SSHException) as exc:
            log.debug("%s: closing a session on a lost connection: %r", self.label, exc)
        finally:
            with self._lock:
                held = id(channel) in self._held
                self._held.discard(id(channel))
            if held:
                self.slots.release()

    async def open_forward(
        self, dest: tuple[str, int], origin: tuple[str, int] = ("127.0.0.1", 0)
    ) -> paramiko.Channel:
        transport = await self.transport()
        return await self.in_thread(
            self.executors.control, self.open_forward_blocking, transport, dest, origin
        )

    def open_forward_blocking(
        self, transport: paramiko.Transport, dest: tuple[str, int], origin: tuple[str, int]
    ) -> paramiko.Channel:
        try:
            with self.opening:
                return transport.open_channel(
                    "direct-tcpip", dest, origin, timeout=self.timeouts.channel
                )
        except paramiko.ChannelException as exc:
            raise ConnectionLost(
                f"the server refused to forward a connection to {dest[0]}:{dest[1]} "
                f"({exc.text or exc.code})",
                server=self.label,
                hint="Check that the service listens there and that sshd allows AllowTcpForwarding",
            ) from exc
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self.lost(exc) from exc

    def lost(self, exc: BaseException | None = None, doing: str = "") -> ConnectionLost:
        """The error for a connection that dropped; the next call connects again."""
        self.drop()
        detail = f" ({exc})" if exc and str(exc) else ""
        what = f"the SSH connection was lost{' while ' + doing if doing else ''}{detail}"
        return ConnectionLost(
            what,
            server=self.label,
            hint="Check that the server is up and sshd is running; PMC connects again on "
            "the next action",
        )

    def lost_channel(self, doing: str) -> ConnectionLost:
        """A channel closed without an exit status: the link dropped, or sshd's session died."""
        transport = self._transport
        if transport is None or not transport.is_active():
            return self.lost(None, doing)
        # give the transport a moment to notice a dead link before deciding
        if not self.check_alive(transport):
            return self.lost(None, doing)
        return ConnectionLost(
            f"the server ended the session while {doing}, without an exit status",
            server=self.label,
            hint="The SSH session on the server was killed; the command may still be running",
        )

    def drop(self) -> None:
        """Close the transport (it is set up again on the next call)."""
        with self._lock:
            transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        self.drop()
        if self._own_executors:
            self.executors.shutdown()

    # ---- blocking work (worker threads) -------------------------------------------------

    _pending_key: paramiko.PKey | None = None

    def _open_session(self, transport: paramiko.Transport) -> paramiko.Channel:
        # sshd frees a closed session a moment after our close reaches it, so an open right
        # after a close can be refused ("Connect failed", MaxSessions): try again shortly.
        deadline = time.monotonic() + self.timeouts.channel
        pause = 0.02
        while True:
            try:
                with self.opening:
                    return transport.open_session(timeout=self.timeouts.channel)
            except paramiko.ChannelException as exc:
                if exc.code != 2 or time.monotonic() + pause > deadline:
                    self._session_failed(transport, exc)
                time.sleep(pause)
                pause = min(pause * 2, 0.5)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                self._session_failed(transport, exc)

    def _session_failed(self, transport: paramiko.Transport, exc: Exception) -> NoReturn:
        if not transport.is_active():
            raise self.lost(exc, "opening a session") from exc
        raise ConnectionLost(
            f"the server did not open a session within {self.timeouts.channel:g} s "
            f"(channel timeout): {exc}",
            server=self.label,
            hint="The server may be overloaded or limit sessions (sshd MaxSessions)",
        ) from exc

    def _ensure_transport(self) -> paramiko.Transport:
        with self._lock:
            if self._closed:
                raise ConnectionLost("the connection was closed", server=self.label)
            if self._transport is not None and self._transport.is_active():
                return self._transport
            if self._transport is not None:
                self._transport.close()
                self._transport = None
            transport = self._connect()
            self._transport = transport
            self._guard = SessionGuard.start(
                transport, self.label, self.timeouts.orphan_after, self.timeouts.channel
            )
            self.connects += 1
            log.info(
                "%s: connected as %r by %s", self.label, self.server.ssh_user,
                self.server.auth.value,
            )  # fmt: skip
            self._start_watchdog()
            return transport

    def _connect(self) -> paramiko.Transport:
        address, port = self.server.management_address, self.server.ssh_port
        sock = self._open_socket(address, port)
        transport = paramiko.Transport(
            sock, default_window_size=WINDOW_SIZE, default_max_packet_size=MAX_PACKET_SIZE
        )
        # this transport's own handler table: the class-wide one (and other paramiko users in
        # the process) stay untouched
        handlers = dict(transport._channel_handler_table)  # type: ignore[attr-defined]
        handlers[paramiko.common.MSG_CHANNEL_REQUEST] = channel_request
        transport._channel_handler_table = handlers  # type: ignore[attr-defined]
        try:
            self._tune(transport)
            transport.banner_timeout = self.timeouts.banner
            transport.auth_timeout = self.timeouts.auth
            transport.channel_timeout = self.timeouts.channel
            try:
                transport.start_client(timeout=self.timeouts.banner)
                # start_client returns without an error when its timeout passes first (a
                # server that accepts TCP and never speaks): then there is no session yet
                key = transport.get_remote_server_key()
            except IncompatiblePeer as exc:
                # a known host that has none of the key types PMC holds for it: a changed key
                # (the check raises HostKeyChanged with both fingerprints; nothing was sent)
                if self.known_hosts.keys_for(host_id(address, port)):
                    self.known_hosts.verify(
                        server=self.label, host=host_id(address, port), key=self.presented_key()
                    )
                raise Unreachable(
                    f"no SSH handshake with {address}:{port}: {exc}",
                    server=self.label,
                    hint="The server and PMC have no cipher or key exchange in common",
                ) from exc
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise Unreachable(
                    f"no SSH handshake with {address}:{port} within {self.timeouts.banner:g} s "
                    f"(banner timeout): {exc}",
                    server=self.label,
                    hint="Check that this address and port are the server's SSH service",
                ) from exc
            self._pending_key = key
            # Nothing is sent before this check: no login is attempted with a wrong key.
            self.known_hosts.verify(server=self.label, host=host_id(address, port), key=key)
            self._authenticate(transport)
            return transport
        except BaseException:
            transport.close()
            sock.close()  # close() skips it when the transport had stopped already
            raise

    def _open_socket(self, address: str, port: int) -> socket.socket:
        return handshake.open_socket(address, port, self.timeouts.connect, self.label)

    def _tune(self, transport: paramiko.Transport) -> None:
        server = self.server
        known = self.known_hosts.keys_for(host_id(server.management_address, server.ssh_port))
        handshake.tune(transport, list(known))

    def presented_key(self, algorithms: tuple[str, ...] | None = None) -> paramiko.PKey:
        """The host key the server presents (:func:`~pmc.remote.handshake.presented_key`)."""
        server, timeouts = self.server, self.timeouts
        return handshake.presented_key(
            server.management_address, server.ssh_port, timeouts.connect, timeouts.banner,
            self.label, algorithms,
        )  # fmt: skip

    def _authenticate(self, transport: paramiko.Transport) -> None:
        parts = (self.server, self.cluster, self.credentials, self.label, self.timeouts.auth)
        try:
            authenticate(transport, *parts)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self.lost(exc, "logging in") from exc

    # ---- keepalive watchdog -------------------------------------------------------------

    def _start_watchdog(self) -> None:
        if self._watchdog is not None and self._watchdog.is_alive():
            return
        self._watchdog = threading.Thread(
            target=self._watch, name=f"pmc-ssh-keepalive-{self.server.name}", daemon=True
        )
        self._watchdog.start()

    def _watch(self) -> None:
        tick = min(self.timeouts.heartbeat, self.timeouts.keepalive_interval)
        next_check = time.monotonic() + self.timeouts.keepalive_interval
        while not self._wake.wait(tick):
            transport, guard = self._transport, self._guard
            if transport is None or not transport.is_active():
                continue
            if guard is not None and guard.channel.get_transport() is transport:
                guard.beat()
            if time.monotonic() < next_check:
                continue
            next_check = time.monotonic() + self.timeouts.keepalive_interval
            if not self.check_alive(transport):
                log.warning(
                    "%s: no keepalive answer within %g s; closing the connection",
                    self.label,
                    self.timeouts.keepalive_deadline,
                )
                with self._lock:
                    if self._transport is transport:
                        self._transport = None
                transport.close()

    def session_pid(self) -> int | None:
        """Blocking: the server's sshd process of this connection (SessionGuard.session_pid)."""
        guard = self._guard
        return guard.session_pid(self.timeouts.channel) if guard is not None else None

    def check_alive(self, transport: paramiko.Transport) -> bool:
        """Ask the server for a keepalive answer within the keepalive deadline."""
        done = threading.Event()

        def ask() -> None:
            try:
                transport.global_request("keepalive@openssh.com", wait=True)
            except Exception:
                return
            done.set()

        threading.Thread(target=ask, daemon=True).start()
        return done.wait(self.timeouts.keepalive_deadline) and transport.is_active()


# Connection errors for callers that want to catch every "could not talk to it" case.
CONNECTION_ERRORS = (Unreachable, ConnectionLost, AuthenticationFailed, HostKeyChanged)
