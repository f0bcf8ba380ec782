"""Logging in to a server by key file, ssh-agent or password (the credentials from the OS
keyring, registered for redaction before use)."""

from __future__ import annotations

import paramiko

from pmc import redact
from pmc.inventory import AuthMethod, Server
from pmc.remote.credentials import CredentialSource
from pmc.remote.errors import AuthenticationFailed, login_refused


def load_key(
    server: Server, cluster: str, credentials: CredentialSource, label: str
) -> paramiko.PKey:
    """The private key of ``server``'s key file (its passphrase from ``credentials``)."""
    path = server.key_file
    if not path:
        raise AuthenticationFailed(
            "login by key is chosen but no key file is set",
            server=label,
            hint="Set the key file of this server in the inventory",
        )
    try:
        try:
            return paramiko.PKey.from_path(path)
        except (paramiko.PasswordRequiredException, TypeError):
            passphrase = credentials.key_passphrase(cluster, server.name)
            redact.register(passphrase)
            if passphrase is None:
                raise AuthenticationFailed(
                    f"the key {path} is protected by a passphrase and none is stored",
                    server=label,
                    hint="Store the key's passphrase in PMC (it goes to the OS keyring)",
                ) from None
            return paramiko.PKey.from_path(path, passphrase.encode())  # type: ignore[arg-type]
    except (paramiko.SSHException, ValueError) as exc:
        raise AuthenticationFailed(
            f"the key {path} cannot be used: wrong passphrase or unknown format",
            server=label,
            hint="Store the right passphrase, or convert the key (ssh-keygen -p)",
        ) from exc
    except OSError as exc:
        raise AuthenticationFailed(
            f"the key file {path} cannot be read ({exc.strerror})",
            server=label,
            hint="Correct the key file path in the inventory",
        ) from exc


def auth_agent(transport: paramiko.Transport, user: str, label: str) -> None:
    """Log in with the first key of ssh-agent the server accepts."""
    agent = paramiko.Agent()
    try:
        keys = agent.get_keys()
        if not keys:
            raise AuthenticationFailed(
                "ssh-agent has no keys (or is not running)",
                server=label,
                hint="Start ssh-agent and add the key with ssh-add",
            )
        for key in keys:
            try:
                transport.auth_publickey(user, key)
                return
            except paramiko.AuthenticationException:
                continue
        raise paramiko.AuthenticationException("no agent key accepted")
    finally:
        agent.close()


def auth_password(
    transport: paramiko.Transport,
    server: Server,
    cluster: str,
    credentials: CredentialSource,
    label: str,
) -> None:
    """Log in with the stored password (by keyboard-interactive where the server asks so)."""
    password = credentials.ssh_password(cluster, server.name)
    redact.register(password)
    if password is None:
        raise AuthenticationFailed(
            "no password is stored for this server",
            server=label,
            hint="Store the SSH password in PMC (it goes to the OS keyring)",
        )
    try:
        transport.auth_password(server.ssh_user, password)
    except paramiko.BadAuthenticationType as exc:
        if "keyboard-interactive" not in exc.allowed_types:
            raise

        def answer(_title: str, _text: str, prompts: list[tuple[str, bool]]) -> list[str]:
            return [password for _prompt, _echo in prompts]

        transport.auth_interactive(server.ssh_user, answer)


def authenticate(  # noqa: PLR0917 - a connection's parts
    transport: paramiko.Transport,
    server: Server,
    cluster: str,
    credentials: CredentialSource,
    label: str,
    auth_timeout: float,
) -> None:
    """Log in to ``server`` by its method; a refusal is :class:`AuthenticationFailed` naming
    what to check. paramiko's other errors (a lost link, a server that hung up during the
    login) are left to the caller."""
    user = server.ssh_user
    method = server.auth
    try:
        if method is AuthMethod.KEY:
            transport.auth_publickey(user, load_key(server, cluster, credentials, label))
        elif method is AuthMethod.AGENT:
            auth_agent(transport, user, label)
        else:
            auth_password(transport, server, cluster, credentials, label)
    except AuthenticationFailed:
        raise
    except paramiko.AuthenticationException as exc:
        hint = {
            AuthMethod.KEY: f"Check that the key {server.key_file} is in "
            f"~{user}/.ssh/authorized_keys on the server",
            AuthMethod.AGENT: "Load the right key into ssh-agent (ssh-add) or choose "
            "another login method",
            AuthMethod.PASSWORD: "Store the correct password for this server in PMC "
            "(Server > Access, or pmc inventory set-password)",
        }[method]
        if "timeout" in str(exc).lower():
            what = f"no login answer within {auth_timeout:g} s (auth timeout)"
            raise AuthenticationFailed(what, server=label, hint=hint) from exc
        if not transport.is_active():  # the server hung up: not a refusal (the caller's lost)
            raise
        what, hint = login_refused(user, method.value, offered(transport, user, exc), hint)
        raise AuthenticationFailed(what, server=label, hint=hint) from exc
    if not transport.is_authenticated():  # pragma: no cover - paramiko raises instead
        raise AuthenticationFailed("login was not completed", server=label)


def offered(
    transport: paramiko.Transport, user: str, exc: paramiko.AuthenticationException
) -> list[str]:
    """The login methods the server offers ``user`` (from the refusal, else by asking with
    the "none" method); empty when it cannot be told."""
    if isinstance(exc, paramiko.BadAuthenticationType) and exc.allowed_types:
        return list(exc.allowed_types)
    try:
        transport.auth_none(user)
    except paramiko.BadAuthenticationType as answer:
        return list(answer.allowed_types)
    except (paramiko.SSHException, EOFError, OSError):
        return []
    return []
