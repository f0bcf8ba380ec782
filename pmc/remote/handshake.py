"""Reaching a server's sshd: the TCP connection, the transport's tuning before the key
exchange, and a key exchange alone to read its host key.

Each failure is an :class:`~pmc.remote.errors.Unreachable` that says what did not answer and
what to check (the address, sshd, a firewall), for :class:`~pmc.remote.connection.Connection`
and for replacing a host key (:mod:`pmc.remote.host_key_replace`).
"""

from __future__ import annotations

import errno
import socket

import paramiko

from pmc.remote.errors import Unreachable
from pmc.remote.host_keys import host_key_algorithms

# paramiko's own rekey every 2**29 bytes can stall a long transfer (paramiko #822): leave
# rekeying to the trusted OpenSSH server, which rekeys on its own schedule.
_NO_CLIENT_REKEY = 2**62
# Faster ciphers first (AES-GCM needs no separate MAC); paramiko's other choices follow.
_CIPHER_PREFERENCE = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr")


def open_socket(address: str, port: int, timeout: float, label: str) -> socket.socket:
    """A TCP connection to ``address:port`` within ``timeout`` seconds (the connect timeout)."""
    where = f"{address}:{port}"
    hint = "Check the address in the inventory, that the server is on and sshd runs"
    try:
        return socket.create_connection((address, port), timeout=timeout)
    except TimeoutError as exc:
        raise Unreachable(
            f"no answer from {where} within {timeout:g} s (connect timeout)",
            server=label,
            hint=hint + "; a firewall may drop SSH",
        ) from exc
    except ConnectionRefusedError as exc:
        raise Unreachable(
            f"connection to {where} refused: no SSH service is listening there",
            server=label,
            hint="Start sshd on the server (systemctl start sshd) or correct the SSH port",
        ) from exc
    except socket.gaierror as exc:
        raise Unreachable(
            f"the name {address!r} is not known ({exc.strerror})",
            server=label,
            hint="Correct the management address in the inventory",
        ) from exc
    except OSError as exc:
        reason = {
            errno.EHOSTUNREACH: "no route to host",
            errno.ENETUNREACH: "network unreachable",
        }.get(exc.errno or 0, exc.strerror or str(exc))
        raise Unreachable(f"cannot reach {where}: {reason}", server=label, hint=hint) from exc


def presented_key(  # noqa: PLR0917
    address: str,
    port: int,
    connect_timeout: float,
    banner_timeout: float,
    label: str,
    algorithms: tuple[str, ...] | None,
) -> paramiko.PKey:
    """The host key the server presents (with ``algorithms`` only, if given), read by a key
    exchange alone on a connection of its own: nothing is sent after it (blocking)."""
    transport = paramiko.Transport(open_socket(address, port, connect_timeout, label))
    try:
        if algorithms is not None:
            transport.get_security_options().key_types = algorithms
        transport.banner_timeout = banner_timeout
        try:
            transport.start_client(timeout=banner_timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise Unreachable(
                f"no SSH handshake with {address}:{port} to read its host key: {exc}",
                server=label,
                hint="Check that this address and port are the server's SSH service",
            ) from exc
        return transport.get_remote_server_key()
    finally:
        transport.close()


def tune(transport: paramiko.Transport, known: list[str]) -> None:
    """Before the key exchange: no client rekey, faster ciphers first, and for a known host
    (``known``: the key types PMC holds for it) only those key types, as OpenSSH: a server
    that has none of them fails the handshake, and that is a changed key."""
    transport.packetizer.REKEY_BYTES = _NO_CLIENT_REKEY
    transport.packetizer.REKEY_PACKETS = _NO_CLIENT_REKEY
    options = transport.get_security_options()
    ciphers = list(options.ciphers)
    options.ciphers = tuple(
        [c for c in _CIPHER_PREFERENCE if c in ciphers]
        + [c for c in ciphers if c not in _CIPHER_PREFERENCE]
    )
    if known:
        options.key_types = host_key_algorithms(known, options.key_types)
