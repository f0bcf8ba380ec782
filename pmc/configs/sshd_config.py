"""``/etc/ssh/sshd_config``: the manual needs ``PermitRootLogin yes`` on both servers.

Lines are ``Keyword arguments`` or ``Keyword=arguments``; keywords are case-insensitive; lines
starting with ``#`` are comments.

Traps (see sshd_config(5)):

- **The first value wins.** For most keywords sshd uses the *first* value it reads and ignores
  later ones (the opposite of postgresql.conf). :meth:`SshdConfig.get` therefore returns the
  first global occurrence and :meth:`SshdConfig.set` edits that one. A few keywords add up
  instead of overriding (``Port``, ``ListenAddress``, ``HostKey``, ``AcceptEnv``, …);
  :meth:`SshdConfig.values` lists every global occurrence for those.
- **Match blocks have no end.** A ``Match`` line starts a block that lasts until the next
  ``Match`` or the end of the file, so a keyword written after a ``Match`` line applies only
  to the connections it matches — appending ``PermitRootLogin yes`` at the end of a file with
  a ``Match`` block changes nothing for root. A new global keyword goes right after its
  commented default (``#PermitRootLogin prohibit-password``) when that is in the global part,
  else just before the first ``Match`` (and before the comments directly above it), else at
  the end. Occurrences inside Match blocks are never edited.
- **Include comes first.** ``Include`` lines are read in place; Debian's default file starts
  with ``Include /etc/ssh/sshd_config.d/*.conf``, so a value in those files beats this file's
  (first value wins). :mod:`pmc.configs.sshd_tree` reads the whole tree as sshd does;
  :meth:`SshdConfig.set_first` writes a value before the first Include or Match.
- A trailing `` # comment`` after the arguments (accepted by recent OpenSSH) is kept and is not
  part of the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pmc.configs import lines as L
from pmc.errors import InputError

DEFAULT_PATH = "sshd_config"
_LINE = re.compile(
    r"(?P<lead>[ \t]*)(?P<key>[A-Za-z][A-Za-z0-9]*)(?P<sep>[ \t]*=[ \t]*|[ \t]+)"
    r"(?P<value>[^ \t#](?:.*?[^ \t])?)(?P<tail>[ \t]+#.*|[ \t]*)"
)
_KEYWORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")


@dataclass(frozen=True)
class Directive:
    """One ``Keyword value`` line; ``in_match`` when it is inside a Match block."""

    keyword: str
    value: str
    line: int
    in_match: bool


class SshdConfig(L.LineFile):
    """A parsed sshd_config; see the module docstring for the rules it keeps."""

    _directives: tuple[Directive, ...]
    _spans: dict[int, tuple[int, int]]

    def _scan(self) -> None:
        directives: list[Directive] = []
        spans: dict[int, tuple[int, int]] = {}
        in_match = False
        for row, (body, _) in enumerate(self._lines):
            stripped = body.strip()
            if not stripped or stripped.startswith("#"):
                continue
            match = _LINE.fullmatch(body)
            if match is None:
                key = _KEYWORD.match(stripped)
                column = len(body) - len(body.lstrip()) + 1
                what = (
                    f"the keyword {key.group()} has no value"
                    if key and not stripped[key.end() :].strip(" \t=")
                    else f"cannot read {stripped[:30]!r}"
                )
                raise self.syntax_error(
                    what, row, column, "Write Keyword value, or put # in front of the line."
                )
            keyword = match.group("key")
            in_match = in_match or keyword.lower() == "match"
            directives.append(Directive(keyword, match.group("value"), row + 1, in_match))
            spans[row] = match.span("value")
        self._directives = tuple(directives)
        self._spans = spans

    @property
    def directives(self) -> tuple[Directive, ...]:
        return self._directives

    @property
    def includes(self) -> tuple[Directive, ...]:
        return tuple(d for d in self._directives if d.keyword.lower() == "include")

    def _global(self, keyword: str) -> list[Directive]:
        key = keyword.lower()
        return [d for d in self._directives if d.keyword.lower() == key and not d.in_match]

    def get(self, keyword: str) -> str | None:
        """The effective global value in this file: the first occurrence outside Match."""
        found = self._global(keyword)
        return found[0].value if found else None

    def values(self, keyword: str) -> tuple[str, ...]:
        """Every global value of ``keyword``, in order (for keywords that add up)."""
        return tuple(d.value for d in self._global(keyword))

    def _insert_row(self, keyword: str) -> int:
        key = keyword.lower()
        first_match = next(
            (d.line - 1 for d in self._directives if d.keyword.lower() == "match"),
            len(self._lines),
        )
        defaults = [
            row
            for row in range(first_match)
            if (m := re.match(r"[ \t]*#[ \t]*([A-Za-z][A-Za-z0-9]*)[ \t=]", self._lines[row][0]))
            and m.group(1).lower() == key
        ]
        if defaults:
            return defaults[-1] + 1
        row = first_match
        if row < len(self._lines):
            while row > 0 and self._lines[row - 1][0].lstrip().startswith("#"):
                row -= 1
        return row

    def set(self, keyword: str, value: str) -> bool:
        """Make ``keyword`` globally ``value``; return whether the text changed (idempotent)."""
        _check(keyword, value)
        found = self._global(keyword)
        if found:
            return self._replace(found[0], value)
        L.insert(self._lines, self._insert_row(keyword), f"{keyword} {value}")
        self._scan()
        return True

    def set_first(self, keyword: str, value: str) -> bool:
        """Make ``value`` the first one sshd reads in this file: the keyword's first global
        line when no ``Include`` or ``Match`` comes before it, else a new line just before the
        first of those (and the comments right above it). Return whether the text changed."""
        _check(keyword, value)
        found = self._global(keyword)
        stop = next(
            (d.line - 1 for d in self._directives if d.keyword.lower() in ("include", "match")),
            len(self._lines),
        )
        if found and found[0].line - 1 < stop:
            return self._replace(found[0], value)
        while stop > 0 and self._lines[stop - 1][0].lstrip().startswith("#"):
            stop -= 1
        L.insert(self._lines, stop, f"{keyword} {value}")
        self._scan()
        return True

    def _replace(self, directive: Directive, value: str) -> bool:
        if directive.value == value:
            return False
        row = directive.line - 1
        body, ending = self._lines[row]
        start, end = self._spans[row]
        self._lines[row] = (body[:start] + value + body[end:], ending)
        self._scan()
        return True

    def __repr__(self) -> str:
        return f"SshdConfig({self.path!r}, {len(self._directives)} directives)"


def _check(keyword: str, value: str) -> None:
    if not _KEYWORD.fullmatch(keyword) or keyword.lower() in ("match", "include"):
        raise InputError(f"{keyword!r} is not a keyword PMC can set in sshd_config")
    if not value.strip() or value != value.strip() or "\n" in value or "#" in value:
        raise InputError(f"{value!r} is not a value PMC can write into sshd_config")


def parse(text: str, *, path: str = DEFAULT_PATH) -> SshdConfig:
    """Parse sshd_config text; raises :class:`ConfigSyntaxError` with line and column."""
    return SshdConfig(text, path)
