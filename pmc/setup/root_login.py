"""Planner: root's SSH login for copy config, where sshd really takes ``PermitRootLogin`` from.

Copy config logs in as root with a key from the peer's eth2 address. What matters is the value
sshd uses for THAT login — ``sshd -T -C user=root,host=<peer>,addr=<peer>`` (observed) — and
which file and line sets it (:class:`~pmc.configs.sshd_tree.SshdTree`): on RHEL 9 and Rocky,
``sshd_config`` starts with ``Include /etc/ssh/sshd_config.d/*.conf``, so a drop-in beats a line
in the main file, and a Match block at the end beats both for the logins it matches.

When the value must change (``prohibit-password``, or the manual's ``yes`` when asked for), PMC
writes where it wins, trying in order, each checked by reading the tree as sshd would:

1. the line in ``sshd_config`` that sets it now (or the usual place when nothing sets it);
2. PMC's own drop-in ``00-pmc.conf`` in the folder of the first Include, which sorts before the
   distribution's (``50-redhat.conf``) and an administrator's (``10-…``, ``01-…`` as it sorts);
3. a line in ``sshd_config`` before its first Include or Match.

If none wins (a Match block for root, a drop-in sorting first), the plan REFUSES naming the file
and line that wins. A CHECK step after sshd's restart asks ``sshd -T`` again.
"""

from __future__ import annotations

import posixpath

from pmc.configs import sshd_config
from pmc.configs.sshd_tree import InUse, Login, SshdTree, glob_matches
from pmc.errors import ConfigSyntaxError
from pmc.inventory import AuthMethod, Server
from pmc.plan import Effective, Probe, Step, StepKind
from pmc.setup import facts as F
from pmc.setup.planning import ExtraFile, FileKey, PlanBuilder, PlanRefused, login_of, path_of

KEYWORD = "PermitRootLogin"
KEY_LOGIN_VALUES = ("yes", "prohibit-password")
DROP_IN = "00-pmc.conf"


def sshd_tree(server: Server, facts: F.ServerFacts) -> SshdTree:
    main = path_of(server, F.SSHD_CONFIG)
    files = {main: facts.file(F.SSHD_CONFIG), **dict(facts.sshd_files)}
    return SshdTree(main, files, dict(facts.sshd_globs), posixpath.dirname(main))


def _refuse_unreadable(exc: ConfigSyntaxError, server: Server) -> PlanRefused:
    return PlanRefused(
        f"{exc.what}; PMC will not edit sshd's configuration while it cannot read it",
        where=f"{server.name}:{exc.where}" if exc.where else server.name,
        hint=exc.hint or "Correct the file on the server, then plan again.",
    )


def _candidates(tree: SshdTree) -> list[tuple[str, bool]]:
    """Where PMC may write, in the order it prefers (module docs): (path, before the first
    Include/Match of that file rather than in the usual place)."""
    out = [(tree.main, False)]
    main = tree.document(tree.main)
    patterns = [
        p for d in (main.includes if main else ()) if not d.in_match for p in d.value.split()
    ]
    for pattern in patterns:
        absolute = posixpath.join(tree.ssh_dir, pattern)
        path = posixpath.join(posixpath.dirname(absolute), DROP_IN)
        if glob_matches(absolute, path):
            out.append((path, False))
            break
    out.append((tree.main, True))
    return out


def _write(doc: sshd_config.SshdConfig, first: bool, wanted: str) -> bool:
    return doc.set_first(KEYWORD, wanted) if first else doc.set(KEYWORD, wanted)


def _place(tree: SshdTree, login: Login, wanted: str) -> tuple[str, bool, InUse] | None:
    """The first candidate that makes ``wanted`` effective: (path, first, outcome)."""
    for path, first in _candidates(tree):
        doc = sshd_config.parse(tree.files.get(path) or "", path=path)
        if not _write(doc, first, wanted):
            continue
        outcome = tree.replaced(path, doc.render()).effective(KEYWORD, login)
        if outcome.value == wanted and outcome.setting and outcome.setting.path == path:
            return path, first, outcome
    return None


def permit_root_login(builder: PlanBuilder, server: Server, peer: Server) -> None:
    """``PermitRootLogin`` lets copy config log in from ``peer`` with a key (module docs)."""
    facts = builder.facts_of(server)
    wanted = builder.options.permit_root_login
    harden = builder.options.harden_root_login and wanted != "yes"
    login = login_of(server, peer)
    assert login is not None
    tree = sshd_tree(server, facts)
    try:
        model = tree.effective(KEYWORD, login)
    except ConfigSyntaxError as exc:
        raise _refuse_unreadable(exc, server) from None
    said = facts.sshd_value(KEYWORD)
    if said is None:
        builder.notes.append(
            f"{server.name}: sshd could not be asked for its values"
            f" ({facts.sshd_problem or 'not observed'}); PMC read its files instead."
        )
    current = said or model.value
    where = model.source if said in (None, model.value) else "a place PMC cannot tell"
    setting = f"sshd {KEYWORD} for root from {login.address}"
    before = f"{current} ({where})"
    if wanted == "yes":
        needed = current != "yes"
        reason = "the operator asked for the manual's 'PermitRootLogin yes'"
    elif harden:
        needed = current != "prohibit-password"
        reason = (
            "the operator asked to harden root's login: 'prohibit-password' lets copy config"
            " log in with a key and refuses root passwords"
        )
    else:
        needed = current not in KEY_LOGIN_VALUES
        reason = (
            "copy config logs in as root with a key; 'prohibit-password' allows exactly that"
            " (the manual's 'yes' would also allow root passwords)"
        )
    if not needed:
        allows = "may log in with a key" if current in KEY_LOGIN_VALUES else "is refused"
        builder.no_change(
            server, KEYWORD, f"root {allows}: sshd uses PermitRootLogin {current} for root from"
            f" {login.address} ({where})",
        )  # fmt: skip
        return
    sshd_path = path_of(server, F.SSHD_CONFIG)
    if wanted != "yes" and server.ssh_user == "root" and server.auth is AuthMethod.PASSWORD:
        raise PlanRefused(
            f"PMC logs in to {server.name} as root with a password, and PermitRootLogin"
            f" {wanted} would refuse that login after sshd restarts",
            where=f"{server.name}:{sshd_path}",
            hint='Give PMC a key for this server first (auth = "key" in the inventory), or a'
            " user with sudo rights, or plan without hardening root's login.",
        )
    files_give = model.value  # a PermitRootLogin value as the files give it (text, no enum)
    if said is not None and said != files_give:
        raise PlanRefused(
            f"sshd uses PermitRootLogin {said} for root from {login.address}, but its files"
            f" read as PMC reads them give {files_give} ({model.source}); PMC will not write"
            " where it cannot tell what wins",
            where=f"{server.name}:{sshd_path}",
            hint="Check the Match blocks and Include lines of sshd's configuration"
            f" (sshd -T -C {login.spec()} on the server), then plan again.",
        )
    placed = _place(tree, login, wanted)  # every file was read above: none fails to parse
    if placed is None:
        raise PlanRefused(
            f"no place PMC may write makes PermitRootLogin {wanted} take effect for root from"
            f" {login.address}: {model.source} sets {files_give} and wins",
            where=server.name,
            hint=f"Change or remove that line (PermitRootLogin {wanted} there), or move it"
            " below an Include PMC can use, then plan again.",
        )
    path, first, outcome = placed
    for unsure in outcome.unsure:
        builder.notes.append(
            f"{server.name}: the Match block at {unsure.match.place if unsure.match else ''}"
            f" sets PermitRootLogin {unsure.value}; PMC cannot tell whether it applies to root"
            f" from {login.address} (the check after the restart will)."
        )
    key: FileKey = F.SSHD_CONFIG
    if path != sshd_path:
        key = ExtraFile(path, tree.files.get(path), F.SSHD_CONFIG)

    def edit(d: object) -> bool:
        assert isinstance(d, sshd_config.SshdConfig)
        return _write(d, first, wanted)

    builder.wish(
        server,
        key,
        KEYWORD,
        edit,
        reason=reason,
        already=f"sshd uses PermitRootLogin {wanted} for root from {login.address}",
        effective=Effective(setting, before, f"{wanted} ({outcome.source})"),
    )
    accepted = (wanted,)
    builder.check(
        Step(
            StepKind.CHECK,
            server.name,
            f"sshd uses PermitRootLogin {wanted} for root from {login.address}",
            f"copy config's login from {peer.name} needs it; sshd -T -C asks sshd itself",
            probe=Probe("sshd", KEYWORD.lower(), accepted, login.spec()),
        )
    )
