"""The inventory file: human-readable TOML that PMC reads and writes without losing comments.

::

    version = 1

    [[clusters]]
    name = "studio"
    architecture = "combined"      # see pmc.inventory.Architecture
    # active = "backup"            # after a switchover: the server syncs copy from (default: main)

    [[clusters.servers]]
    name = "main"
    management_address = "192.168.1.105"   # eth3
    redundancy_address = "172.17.59.128"   # eth2
    role = "main"
    ssh_port = 22
    ssh_user = "root"
    auth = "password"                      # password | key | agent
    # key_file = "~/.ssh/id_ed25519"       # with auth = "key"

    [clusters.servers.layout]              # optional overrides of pmc.layout.PlayoutLayout
    api_port = 8081

    [clusters.sync]                        # optional: PMC synchronises the backup by itself
    every_minutes = 15                     # a sync this often
    on_drift = true                        # and when drift is found,
    check_minutes = 5                      # looked for this often
    engine = "delta"                       # delta | playout
    include_ts_outputs = false

:func:`load_inventory` reads leniently: a wrong type or an unknown key becomes a
:class:`~pmc.problems.Problem` with its line, not an exception, so that
:func:`pmc.validation.validate` can report every problem of the file at once. Only a file that
is not TOML at all raises (:class:`~pmc.errors.ConfigSyntaxError`, with line and column).

:func:`save_inventory` merges the model into the file that is already there: tables are matched
by name, only changed values are rewritten, so the operator's comments and ordering survive.
It writes atomically (temporary file, fsync, rename).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import tomlkit
import tomlkit.exceptions
from tomlkit.toml_document import TOMLDocument

from pmc.errors import ConfigSyntaxError, InputError, PmcError
from pmc.inventory import Inventory
from pmc.inventory_reading import Reader
from pmc.inventory_writing import render_into
from pmc.problems import Problem
from pmc.toml_lines import Key, scan_lines

_NEW_FILE_HEADER = (
    "PMC inventory: clusters of Playout servers. Edit freely; comments are kept.",
    "Passwords and key passphrases are never stored here, only in the OS keyring.",
)


@dataclass(frozen=True)
class LoadedInventory:
    """An inventory as read from ``path``, with the line of every value."""

    path: Path
    inventory: Inventory
    lines: Mapping[Key, int] = field(default_factory=dict)
    cluster_keys: tuple[Key, ...] = ()
    """The document key of each cluster of :attr:`inventory`, in the same order."""
    server_keys: tuple[tuple[Key, ...], ...] = ()
    """The document keys of the servers of each cluster, in the same order."""
    problems: tuple[Problem, ...] = ()
    """What was wrong while reading: unknown keys, wrong types, unknown names."""
    exists: bool = True

    def line_of(self, key: Key) -> int | None:
        """The line of ``key``, or of the closest enclosing table that has one."""
        while key:
            line = self.lines.get(key)
            if line is not None:
                return line
            key = key[:-1]
        return None

    def cluster_line(self, cluster_index: int, name: str | None = None) -> int | None:
        key = self.cluster_keys[cluster_index]
        return self.line_of((*key, name) if name else key)

    def server_line(
        self, cluster_index: int, server_index: int, name: str | None = None
    ) -> int | None:
        key = self.server_keys[cluster_index][server_index]
        return self.line_of((*key, name) if name else key)


# --------------------------------------------------------------------------------- reading


def load_inventory(path: Path | str, *, missing_ok: bool = False) -> LoadedInventory:
    """Read the inventory at ``path``.

    A missing file is an :class:`InputError` unless ``missing_ok`` (then the inventory is
    empty and ``exists`` is False). Raises :class:`ConfigSyntaxError` if it is not TOML.
    """
    path = Path(path)
    try:
        text, _ = _read_text(path)
    except FileNotFoundError:
        if missing_ok:
            return LoadedInventory(path=path, inventory=Inventory(), exists=False)
        raise InputError(
            "the inventory file does not exist",
            where=str(path),
            hint="Check the name, or add a server with `pmc inventory add-server`.",
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigSyntaxError(
            f"the inventory is not UTF-8 text ({exc.reason})",
            path=str(path),
            hint="Save the file as UTF-8.",
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot read the inventory: {exc.strerror or exc}", where=str(path)
        ) from None
    return parse_inventory(text, path)


def _read_text(path: Path) -> tuple[str, bool]:
    """The file's text with its line endings as they are, and whether it had a UTF-8 BOM."""
    data = path.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    return data.decode("utf-8-sig" if bom else "utf-8"), bom


def parse_inventory(text: str, path: Path | str = "<inventory>") -> LoadedInventory:
    """Parse inventory ``text``; ``path`` only names it in messages."""
    path = Path(path)
    document = _parse_document(text, path)
    lines = scan_lines(text)
    tables = Reader(path, lines).read(document.unwrap())
    return LoadedInventory(
        path=path,
        inventory=tables.inventory,
        lines=lines,
        cluster_keys=tables.cluster_keys,
        server_keys=tables.server_keys,
        problems=tables.problems,
    )


def _parse_document(text: str, path: Path) -> TOMLDocument:
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        message = str(exc)
        # tomlkit appends " at line L col C"; the position goes into the error's place instead.
        message = message.rsplit(" at line ", 1)[0]
        raise ConfigSyntaxError(
            f"the inventory is not valid TOML: {message}",
            path=str(path),
            line=exc.line,
            column=exc.col + 1,
            hint="Fix the file (or restore a backup) and try again; nothing was changed.",
        ) from None
    except tomlkit.exceptions.TOMLKitError as exc:
        raise ConfigSyntaxError(
            f"the inventory is not valid TOML: {exc}",
            path=str(path),
            hint="Fix the file and try again; nothing was changed.",
        ) from None


# --------------------------------------------------------------------------------- writing


def save_inventory(inventory: Inventory, path: Path | str) -> None:
    """Write ``inventory`` to ``path``, atomically, keeping the comments already there.

    Clusters and servers are matched to the file's tables by name; values that did not change
    keep their text, comments and position. Creates the parent folder if needed. If the file
    that is there cannot be parsed, raises :class:`ConfigSyntaxError` and writes nothing.
    """
    path = Path(path)
    bom = False
    try:
        existing, bom = _read_text(path)
    except FileNotFoundError:
        existing = None
    except UnicodeDecodeError as exc:
        raise ConfigSyntaxError(
            f"the inventory is not UTF-8 text ({exc.reason}); nothing was written",
            path=str(path),
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot read the inventory: {exc.strerror or exc}", where=str(path)
        ) from None
    if existing is None:
        document = tomlkit.document()
        for line in _NEW_FILE_HEADER:
            document.add(tomlkit.comment(line))
        document.add(tomlkit.nl())
    else:
        document = _parse_document(existing, path)
    render_into(document, inventory)
    text = document.as_string()
    reread = parse_inventory(text, path)
    if reread.inventory != inventory:  # pragma: no cover - guards against a tomlkit surprise
        raise InputError(
            "PMC could not represent this inventory in the file faithfully; nothing was written",
            where=str(path),
            hint="Please report this with the file attached.",
        )
    try:
        atomic_write_text(path, "\ufeff" + text if bom else text)
    except OSError as exc:  # a full disk, a read-only folder
        raise PmcError(
            f"cannot write the inventory ({exc.strerror or exc}); the file was left as it was",
            where=str(path),
            hint="Free some disk space, or check that its folder can be written to, then try again",
        ) from None


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) so that readers see the old or the new file,
    never a half-written one, even after a crash: temporary file, fsync, rename. A symlink
    stays: the file it points to is replaced."""
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    if os.name == "posix":
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
