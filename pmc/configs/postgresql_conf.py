"""``/opt/playout/db/postgresql.conf``: PostgreSQL's server settings (``listen_addresses``).

The grammar is PostgreSQL's own (``guc-file.l``): ``name [=] value [# comment]``, one setting a
line; a value is a single-quoted string (``''`` or ``\\'`` for a quote, ``\\\\`` for a
backslash) or a bare number/word such as ``5432``, ``on`` or ``128MB``.

Traps, and what this codec does about them:

- **The last assignment wins.** A file may set ``listen_addresses`` twice; PostgreSQL uses the
  later one. :meth:`PostgresqlConf.get` returns that one and :meth:`PostgresqlConf.set` edits
  that one, in place, keeping its trailing comment at the same column (the manual's
  ``listen_addresses = '*'                  # what IP address(es) to listen on;``).
- **Commented defaults stay comments.** ``#listen_addresses = 'localhost'`` documents the
  default; it is not a setting. When no active assignment exists, ``set`` adds the active line
  right after the (last) commented default, leaving the comment as it is; otherwise it appends.
- **Includes.** ``include``, ``include_if_exists`` and ``include_dir`` are read as directives,
  exposed by :attr:`PostgresqlConf.includes` and :meth:`PostgresqlConf.entries` and never
  rewritten. What the server really uses, includes and ``postgresql.auto.conf`` read in order,
  is :mod:`pmc.configs.postgresql_tree`'s.
- **Names are case-insensitive** (``Listen_Addresses`` is ``listen_addresses``).
- :meth:`PostgresqlConf.remove` *comments out* every active assignment (``#`` in front) rather
  than deleting it: PostgreSQL then uses its built-in default, and the operator still sees
  what was there — the file's own convention.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pmc.configs import lines as L
from pmc.errors import InputError

DEFAULT_PATH = "postgresql.conf"
INCLUDE_KINDS = ("include", "include_if_exists", "include_dir")

_NAME = r"[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)*"
_VALUE = r"'(?:[^'\\]|''|\\.)*'|[A-Za-z0-9_.:/+\-]+"
_ACTIVE = re.compile(
    rf"(?P<lead>[ \t]*)(?P<name>{_NAME})(?P<sep>[ \t]*=[ \t]*|[ \t]+)(?P<value>{_VALUE})"
    r"(?P<gap>[ \t]*)(?P<comment>#.*)?"
)
_COMMENTED = re.compile(rf"[ \t]*#[ \t]*(?P<name>{_NAME})[ \t]*=")
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class Include:
    """An ``include``/``include_if_exists``/``include_dir`` directive (``line`` is 1-based)."""

    kind: str
    path: str
    line: int


def unquote(token: str) -> str:
    """The value a token stands for: quotes removed, ``''`` and backslash escapes resolved."""
    if not token.startswith("'"):
        return token
    inner, out, i = token[1:-1], [], 0
    while i < len(inner):
        ch = inner[i]
        if ch == "'" or (ch == "\\" and i + 1 < len(inner)):
            nxt = inner[i + 1]
            out.append(_ESCAPES.get(nxt, nxt) if ch == "\\" else "'")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def quote(value: str) -> str:
    """``value`` as a postgresql.conf string: single quotes, ``''`` and ``\\\\`` escaped."""
    if "\n" in value or "\r" in value:
        raise InputError("a postgresql.conf value cannot contain a line break")
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def render_value(value: str | int | float | bool) -> str:
    """Booleans as ``on``/``off``, numbers bare, strings always quoted."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{value} is not a value postgresql.conf accepts")
        return repr(value)
    return quote(value)


_TRUE = {"on", "true", "yes", "1"}
_FALSE = {"off", "false", "no", "0"}


def same_value(current: str, value: str | int | float | bool) -> bool:
    """Whether the text value `current` already means `value` (on = true = yes = 1)."""
    if isinstance(value, bool):
        return current.lower() in (_TRUE if value else _FALSE)
    if isinstance(value, int | float):
        return current == render_value(value)
    return current == value


class PostgresqlConf(L.LineFile):
    """A parsed postgresql.conf; see the module docstring for the rules it keeps."""

    _matches: list[re.Match[str] | None]

    def _scan(self) -> None:
        self._matches = [self._parse_line(i, body) for i, (body, _) in enumerate(self._lines)]

    def _parse_line(self, index: int, body: str) -> re.Match[str] | None:
        stripped = body.strip()
        if not stripped or stripped.startswith("#"):
            return None
        match = _ACTIVE.fullmatch(body)
        if match:
            return match
        column = len(body) - len(body.lstrip()) + 1
        name = re.match(_NAME, stripped)
        if name is None:
            what = f"expected a parameter name, found {stripped[:20]!r}"
        else:
            rest = stripped[name.end() :].lstrip(" \t=").lstrip()
            column += len(stripped) - len(rest) if rest else len(stripped)
            if not rest or rest.startswith("#"):
                what = f"the parameter {name.group()} has no value"
            elif rest.startswith("'"):
                what = f"the quoted value of {name.group()} has no closing quote"
            else:
                what = f"unexpected text after the value of {name.group()}"
                value = re.match(rf"(?:{_VALUE})[ \t]*", rest)
                column += value.end() if value else 0
        raise self.syntax_error(
            what,
            index,
            column,
            "Write it as name = value (strings in single quotes), or put # in front.",
        )

    def _assignments(self, name: str) -> list[int]:
        key = name.lower()
        return [
            i
            for i, m in enumerate(self._matches)
            if m and m.group("name").lower() == key and key not in INCLUDE_KINDS
        ]

    def get(self, name: str) -> str | None:
        """The effective value in this file (last active assignment), unquoted; else None."""
        rows = self._assignments(name)
        if not rows:
            return None
        match = self._matches[rows[-1]]
        assert match is not None
        return unquote(match.group("value"))

    def settings(self) -> dict[str, str]:
        """Every parameter this file sets, lower-cased names, last assignment winning."""
        found: dict[str, str] = {}
        for m in self._matches:
            if m and m.group("name").lower() not in INCLUDE_KINDS:
                found[m.group("name").lower()] = unquote(m.group("value"))
        return found

    def entries(self) -> tuple[tuple[str, str, int], ...]:
        """Every active line in order as ``(name, value, line)``: assignments (names lower
        case, values unquoted) and include directives (the name is the kind)."""
        return tuple(
            (m.group("name").lower(), unquote(m.group("value")), i + 1)
            for i, m in enumerate(self._matches)
            if m
        )

    @property
    def includes(self) -> tuple[Include, ...]:
        return tuple(
            Include(m.group("name").lower(), unquote(m.group("value")), i + 1)
            for i, m in enumerate(self._matches)
            if m and m.group("name").lower() in INCLUDE_KINDS
        )

    def set(self, name: str, value: str | int | float | bool) -> bool:
        """Make ``name`` have ``value``; return whether the text changed (idempotent)."""
        if not re.fullmatch(_NAME, name) or name.lower() in INCLUDE_KINDS:
            raise InputError(f"{name!r} is not a postgresql.conf parameter name")
        token = render_value(value)
        rows = self._assignments(name)
        if rows:
            current = self.get(name)
            assert current is not None
            if same_value(current, value):
                return False
            self._replace_value(rows[-1], token)
        else:
            key = name.lower()
            defaults = [
                i
                for i, (body, _) in enumerate(self._lines)
                if (m := _COMMENTED.match(body)) and m.group("name").lower() == key
            ]
            at = defaults[-1] + 1 if defaults else len(self._lines)
            L.insert(self._lines, at, f"{name} = {token}")
        self._scan()
        return True

    def _replace_value(self, row: int, token: str) -> None:
        match = self._matches[row]
        assert match is not None
        body, ending = self._lines[row]
        gap = match.group("gap")
        if match.group("comment") is not None and gap.strip(" ") == "":
            comment_column = match.start("comment")
            gap = " " * max(1, comment_column - match.start("value") - len(token))
        new = body[: match.start("value")] + token + gap + body[match.end("gap") :]
        self._lines[row] = (new, ending)

    def remove(self, name: str) -> bool:
        """Comment out every active assignment of ``name``; return whether anything changed."""
        rows = self._assignments(name)
        for row in rows:
            body, ending = self._lines[row]
            lead = len(body) - len(body.lstrip())
            self._lines[row] = (body[:lead] + "#" + body[lead:], ending)
        self._scan()
        return bool(rows)

    def __repr__(self) -> str:
        return f"PostgresqlConf({self.path!r}, {len(self._lines)} lines)"


def parse(text: str, *, path: str = DEFAULT_PATH) -> PostgresqlConf:
    """Parse postgresql.conf text; raises :class:`ConfigSyntaxError` with line and column."""
    return PostgresqlConf(text, path)
