"""PostgreSQL's configuration as the server reads it: ``postgresql.conf`` with its includes in
place, then ``postgresql.auto.conf`` (what ``ALTER SYSTEM`` writes) — the last assignment of a
parameter wins (``guc-file.l``).

- ``include 'f'`` / ``include_if_exists 'f'`` read a file, ``include_dir 'd'`` every ``*.conf``
  file in a folder not starting with ``.``, in byte order; relative paths are relative to the
  including file's folder. PMC expands the folders ON THE SERVER (:mod:`pmc.setup.observe`
  hands them in as ``globs``: ``d/*.conf`` → the files).
- ``postgresql.auto.conf`` is read after everything else, so a value there beats every file.

PMC uses this where the running server cannot be asked (PostgreSQL is stopped) and to show the
files a change touches; where it can, ``pg_settings`` is the server's own word.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pmc.configs import postgresql_conf
from pmc.errors import ConfigSyntaxError

MAX_DEPTH = 10  # PostgreSQL's CONF_FILE_MAX_DEPTH


@dataclass(frozen=True)
class Assignment:
    name: str  # lower case
    value: str
    path: str
    line: int

    @property
    def place(self) -> str:
        return f"{self.path}:{self.line}"


def include_pattern(kind: str, value: str, including: str) -> str:
    """The absolute path (a file) or glob (``include_dir``: ``d/*.conf``) an include names."""
    path = value if value.startswith("/") else posixpath.join(posixpath.dirname(including), value)
    return posixpath.join(path, "*.conf") if kind == "include_dir" else path


class PostgresqlTree:
    """``main`` with its includes, then ``auto_conf``. ``files``: path → text (None: absent);
    ``globs``: ``include_dir`` pattern → its files as listed on the server."""

    def __init__(
        self,
        main: str,
        auto_conf: str,
        files: Mapping[str, str | None],
        globs: Mapping[str, Sequence[str]],
    ) -> None:
        self.main = main
        self.auto_conf = auto_conf
        self.files = dict(files)
        self.globs = {k: tuple(v) for k, v in globs.items()}

    def _walk(
        self, path: str, chain: tuple[str, ...], out: list[Assignment], missing: set[str]
    ) -> None:
        """Read ``path`` into ``out``; ``chain``: the files being read that include it."""
        chain = (*chain, path)
        depth = len(chain) - 1
        text = self.files.get(path)
        if text is None:
            if path not in self.files:
                missing.add(path)
            return
        doc = postgresql_conf.parse(text, path=path)
        for name, value, line in doc.entries():
            if name not in postgresql_conf.INCLUDE_KINDS:
                out.append(Assignment(name, value, path, line))
                continue
            if depth >= MAX_DEPTH:
                continue
            pattern = include_pattern(name, value, path)
            if name != "include_dir":
                included_files: Sequence[str] = (pattern,)
            elif pattern in self.globs:
                included_files = self.globs[pattern]
            else:
                missing.add(pattern)
                continue
            for included in included_files:
                if included in chain:
                    raise ConfigSyntaxError(
                        f"this include reads {included} again, which is already being read"
                        " (an include loop); PostgreSQL refuses to start with it",
                        path=path,
                        line=line,
                        hint="Remove this include line.",
                    )
                self._walk(included, chain, out, missing)

    def _all(self) -> tuple[list[Assignment], set[str]]:
        out: list[Assignment] = []
        missing: set[str] = set()
        self._walk(self.main, (), out, missing)
        self._walk(self.auto_conf, (), out, missing)
        return out, missing

    def assignments(self) -> list[Assignment]:
        """Every assignment in the order PostgreSQL reads them."""
        return self._all()[0]

    def unread(self) -> tuple[list[str], list[str]]:
        """``include_dir`` patterns not yet listed, and included files not yet read."""
        missing = self._all()[1]
        return sorted(p for p in missing if p.endswith("/*.conf")), sorted(
            p for p in missing if not p.endswith("/*.conf")
        )

    def winner(self, name: str) -> Assignment | None:
        """The assignment PostgreSQL uses for ``name`` (the last), None: its default."""
        key = name.lower()
        found = [a for a in self.assignments() if a.name == key]
        return found[-1] if found else None

    def replaced(self, path: str, text: str) -> PostgresqlTree:
        return PostgresqlTree(self.main, self.auto_conf, {**self.files, path: text}, self.globs)
