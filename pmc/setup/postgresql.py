"""Planner: PostgreSQL's side of copy config, where PostgreSQL really takes its values from.

``listen_addresses``: the manual sets ``'*'``. PMC adds only the server's own eth2 address to
what is there (``'localhost'`` becomes ``'localhost,172.17.59.128'``): copy config connects over
eth2 only, and with ``trust`` rules a PostgreSQL listening on the management network (eth3, the
Internet side) is one pg_hba mistake away from being open. ``--listen-all`` writes the manual's
``'*'``. A value that already covers eth2 (``'*'`` included) is left alone.

Where the value is written: PostgreSQL reads ``postgresql.conf`` (its includes in place), then
``postgresql.auto.conf``; the last assignment wins. ``pg_settings`` (observed) says which file
and line the running value comes from. When that is ``postgresql.conf`` (or nothing sets it)
PMC edits that line; when it is ``postgresql.auto.conf`` or an included file, PMC runs
``ALTER SYSTEM`` (auto.conf is read last, so it wins over every file). A value from the
command line beats every file: the plan refuses. A CHECK step after the restart asks
``pg_settings`` again.

``pg_hba.conf``: an error ``pg_hba_file_rules`` reports would stop PostgreSQL from starting
after PMC's restart: the plan refuses, naming the line.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmc.catalog import psql_argv
from pmc.configs import postgresql_conf
from pmc.configs.postgresql_tree import PostgresqlTree
from pmc.errors import ConfigSyntaxError, InputError
from pmc.inventory import Server
from pmc.plan import Effective, Probe, Step, StepKind
from pmc.setup import facts as F
from pmc.setup.planning import PlanBuilder, PlanRefused, path_of

NAME = "listen_addresses"
FILE_SOURCES = ("configuration file", "default")


def postgresql_tree(server: Server, facts: F.ServerFacts) -> PostgresqlTree:
    main, auto = path_of(server, F.POSTGRESQL_CONF), path_of(server, F.PG_AUTO_CONF)
    files = {main: facts.file(F.POSTGRESQL_CONF), auto: facts.file(F.PG_AUTO_CONF)}
    return PostgresqlTree(main, auto, {**files, **dict(facts.pg_files)}, dict(facts.pg_globs))


def sql_literal(value: str) -> str:
    if "\\" in value or "\n" in value:
        raise InputError(f"{value!r} is not a value PMC writes with ALTER SYSTEM")
    return "'" + value.replace("'", "''") + "'"


def hba_errors(builder: PlanBuilder, server: Server) -> None:
    """Refuse while PostgreSQL reports errors in pg_hba.conf: a restart would not come up."""
    errors = builder.facts_of(server).pg_hba_errors
    if errors:
        listed = "; ".join(f"line {line}: {error}" for line, error in errors)
        raise PlanRefused(
            f"PostgreSQL reports errors in pg_hba.conf ({listed}); after a restart it would"
            " refuse to start",
            where=f"{server.name}:{path_of(server, F.PG_HBA)}",
            hint="Correct those lines (SELECT * FROM pg_hba_file_rules WHERE error IS NOT NULL"
            " shows them), then plan again.",
        )


def listen(builder: PlanBuilder, server: Server) -> None:
    """``listen_addresses`` covers this server's eth2 address (module docs)."""
    own = server.redundancy_address
    assert own
    facts = builder.facts_of(server)
    main = path_of(server, F.POSTGRESQL_CONF)
    tree = postgresql_tree(server, facts)
    try:
        winner = tree.winner(NAME)
    except ConfigSyntaxError as exc:
        raise PlanRefused(
            f"{exc.what}; PMC will not edit a file it cannot read",
            where=f"{server.name}:{exc.where}",
            hint=exc.hint or "Correct the file on the server, then plan again.",
        ) from None
    running, config_file = facts.pg_setting(NAME), facts.pg_setting("config_file")
    if config_file is not None and config_file.setting != main:
        raise PlanRefused(
            f"PostgreSQL reads {config_file.setting}, not {main}",
            where=server.name,
            hint="Set the layout's postgresql_conf in the inventory to the file PostgreSQL"
            " reads, then plan again.",
        )
    if running is not None and running.source not in FILE_SOURCES:
        raise PlanRefused(
            f"PostgreSQL takes listen_addresses = '{running.setting}' from its {running.source},"
            " which wins over every file PMC may write",
            where=server.name,
            hint="Remove listen_addresses (-c, -h) from the way the service starts PostgreSQL,"
            " then plan again.",
        )
    if running is None:
        builder.notes.append(
            f"{server.name}: PostgreSQL could not be asked ({facts.pg_problem or 'not observed'});"
            " PMC read its files instead."
        )
    value = winner.value if winner else "localhost"
    place = winner.place if winner else "PostgreSQL's default"
    shown = running.setting if running else value
    if running is not None and running.pending_restart:
        builder.notes.append(
            f"{server.name}: PostgreSQL runs with listen_addresses = '{running.setting}' but"
            f" its files say '{value}' ({place}); a restart applies the files."
        )
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if "*" in parts or own in parts:
        builder.no_change(
            server, NAME, f"listen_addresses already covers {own} ('{value}', {place})"
        )
        return
    new = "*" if builder.options.listen_all else ",".join([*parts, own])
    if builder.options.listen_all:
        reason = (
            "the peer's slon must reach this PostgreSQL over eth2; '*' as the manual says"
            " (chosen explicitly: PostgreSQL then listens on every interface)"
        )
    else:
        reason = (
            f"the peer's slon must reach this PostgreSQL over eth2; PMC adds only {own} (not"
            " the manual's '*', which would also listen on the management network)"
        )
    change = _Change(new, reason, f"'{shown}' ({running.place if running else place})")
    if winner is None or winner.path == main:
        _edit_main(builder, server, tree, change)
    else:
        _alter_system(builder, server, tree, change)
    builder.check(
        Step(
            StepKind.CHECK,
            server.name,
            f"PostgreSQL listens on {own}",
            "the peer's slon connects to it over eth2; pg_settings asks PostgreSQL itself",
            probe=Probe("postgresql", NAME, (own,)),
        )
    )


@dataclass(frozen=True)
class _Change:
    new: str  # the value to write
    reason: str
    before: str  # the value PostgreSQL uses now, and where it comes from

    def effective(self, where: str) -> Effective:
        return Effective(f"PostgreSQL {NAME}", self.before, f"'{self.new}' ({where})")


def _edit_main(builder: PlanBuilder, server: Server, tree: PostgresqlTree, change: _Change) -> None:
    doc = postgresql_conf.parse(tree.files.get(tree.main) or "", path=tree.main)
    doc.set(NAME, change.new)
    outcome = tree.replaced(tree.main, doc.render()).winner(NAME)

    def edit(d: object) -> bool:
        assert isinstance(d, postgresql_conf.PostgresqlConf)
        return d.set(NAME, change.new)

    builder.wish(
        server,
        F.POSTGRESQL_CONF,
        NAME,
        edit,
        reason=change.reason,
        already=f"listen_addresses already covers {server.redundancy_address}",
        effective=change.effective(outcome.place if outcome else tree.main),
    )


def _alter_system(
    builder: PlanBuilder, server: Server, tree: PostgresqlTree, change: _Change
) -> None:
    facts = builder.facts_of(server)
    winner = tree.winner(NAME)
    assert winner is not None
    if facts.pg_settings is None:
        raise PlanRefused(
            f"listen_addresses comes from {winner.place}, which only ALTER SYSTEM should change,"
            " and PostgreSQL is not running to run it",
            where=server.name,
            hint="Start PostgreSQL (systemctl start postgresql), then plan again.",
        )
    auto = tree.auto_conf
    text = tree.files.get(auto)
    doc = postgresql_conf.parse(text or "", path=auto)
    old = doc.get(NAME)
    doc.set(NAME, change.new)
    layout = server.layout
    sql = f"ALTER SYSTEM SET {NAME} = {sql_literal(change.new)}"
    undo = f"ALTER SYSTEM SET {NAME} = {sql_literal(old)}" if old else f"ALTER SYSTEM RESET {NAME}"
    builder.run_middle(
        Step(
            StepKind.RUN,
            server.name,
            f"ALTER SYSTEM SET {NAME}",
            f"{change.reason}; the value PostgreSQL uses comes from {winner.place}, and"
            " postgresql.auto.conf (what ALTER SYSTEM writes) is read after every other file",
            argv=tuple(psql_argv(layout, "-c", sql)),
            undo=(tuple(psql_argv(layout, "-c", undo)),),
            path=auto,
            before=text,
            after=doc.render(),
            effective=(change.effective(f"{auto}, ALTER SYSTEM"),),
        )
    )
    builder.restart_for(server, "postgresql_service", auto)
