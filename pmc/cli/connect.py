"""What every ``pmc`` command that talks to servers shares: its connection options and pool.

A command calls :func:`add_connection_options` on its parser and :func:`make_pool` with the
parsed arguments. The pool uses PMC's own known hosts (:func:`pmc.paths.known_hosts_path`),
passwords and passphrases from the OS keyring, and a trust decision for host keys PMC has not
seen yet:

- ``--trust-fingerprint SHA256:…`` (repeatable): trust exactly these keys, nothing else;
- on a terminal: show the fingerprint and ask (:class:`~pmc.remote.host_keys.AskOnTerminal`);
- otherwise (scripts, cron, CI): refuse, telling the operator how to trust the key.

A changed key is always refused (:class:`~pmc.remote.errors.HostKeyChanged`), whatever the
options say.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pmc import paths
from pmc.errors import InputError
from pmc.remote.credentials import CredentialSource, KeyringCredentials
from pmc.remote.errors import UnknownHostKey
from pmc.remote.host_keys import (
    AskOnTerminal,
    KnownHosts,
    TrustDecision,
    TrustFingerprints,
    check_fingerprint,
)
from pmc.remote.limits import Timeouts
from pmc.remote.pool import ConnectionPool


class RefuseOffTerminal:
    """No terminal to ask on: an unknown key is refused, with how to trust it next time."""

    async def decide(self, question: UnknownHostKey) -> bool:
        raise UnknownHostKey(
            server=question.server,
            key_type=question.key_type,
            fingerprint=question.fingerprint,
            host_id=question.host_id,
            hint=(
                "PMC asks about a new host key only on a terminal. Compare the fingerprint "
                "with the server's own (on its console: ssh-keygen -lf "
                "/etc/ssh/ssh_host_ed25519_key.pub) and, if they match, run the command again "
                f"with --trust-fingerprint {question.fingerprint}"
            ),
        ) from None


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """``--trust-fingerprint SHA256:…`` (repeatable) and ``--connect-timeout SECONDS``."""
    parser.add_argument(
        "--trust-fingerprint",
        action="append",
        default=[],
        metavar="SHA256:…",
        help="trust a server's host key with this fingerprint if it is not known yet "
        "(repeatable); without it PMC asks on a terminal and refuses otherwise",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=Timeouts.connect,
        metavar="SECONDS",
        help=f"how long to wait for a server's SSH port (default {Timeouts.connect:g})",
    )


def check_fingerprints(fingerprints: Sequence[str]) -> list[str]:
    """The fingerprints as given, or InputError naming the first malformed one."""
    return [check_fingerprint(text, where="--trust-fingerprint") for text in fingerprints]


def trust_decision(
    fingerprints: Sequence[str] = (), *, interactive: bool | None = None
) -> TrustDecision:
    """The trust decision for ``--trust-fingerprint`` values, a terminal, or neither.
    ``interactive`` defaults to whether stdin is a terminal."""
    if fingerprints:
        return TrustFingerprints(check_fingerprints(fingerprints))
    if interactive is None:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    return AskOnTerminal() if interactive else RefuseOffTerminal()


def make_pool(
    args: argparse.Namespace,
    *,
    credentials: CredentialSource | None = None,
    interactive: bool | None = None,
) -> ConnectionPool:
    """A connection pool for a command: PMC's known hosts, the keyring (or ``credentials``),
    the trust decision of ``args.trust_fingerprint`` and ``args.connect_timeout``."""
    timeout = getattr(args, "connect_timeout", None)
    if timeout is not None and not 0 < timeout <= 600:
        raise InputError(
            f"--connect-timeout {timeout:g} is out of range", hint="Give 1 to 600 seconds"
        )
    return ConnectionPool(
        known_hosts=KnownHosts(paths.known_hosts_path()),
        credentials=credentials or KeyringCredentials(),
        trust=trust_decision(
            getattr(args, "trust_fingerprint", None) or (), interactive=interactive
        ),
        timeouts=Timeouts(connect=timeout) if timeout is not None else Timeouts(),
    )
