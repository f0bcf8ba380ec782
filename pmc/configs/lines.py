"""Lossless line handling shared by the line-oriented codecs.

A file is kept as a UTF-8 BOM flag plus a list of ``(body, ending)`` pairs, where ``ending``
is ``"\\n"``, ``"\\r\\n"`` or ``""`` (only for a last line without a final newline). Joining
them gives back the exact text. Only ``\\n`` splits lines: a lone ``\\r`` or a form feed stays
inside its line (``str.splitlines`` would split on those and lose bytes).
"""

from __future__ import annotations

from pmc.errors import ConfigSyntaxError

BOM = "\ufeff"


def split(text: str) -> tuple[bool, list[tuple[str, str]]]:
    """Return ``(has_bom, [(body, ending), ...])`` for ``text``."""
    bom = text.startswith(BOM)
    if bom:
        text = text[1:]
    lines: list[tuple[str, str]] = []
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            lines.append((text[start:], ""))
            break
        if end > start and text[end - 1] == "\r":
            lines.append((text[start : end - 1], "\r\n"))
        else:
            lines.append((text[start:end], "\n"))
        start = end + 1
    return bom, lines


def join(bom: bool, lines: list[tuple[str, str]]) -> str:
    return (BOM if bom else "") + "".join(body + ending for body, ending in lines)


def newline_of(endings: list[str]) -> str:
    """The file's own line ending: the more frequent of CRLF and LF (LF when none)."""
    crlf = endings.count("\r\n")
    lf = endings.count("\n")
    return "\r\n" if crlf > lf else "\n"


def insert(lines: list[tuple[str, str]], index: int, body: str) -> None:
    """Insert a new line ``body`` before ``lines[index]`` in the file's own line ending style.

    Appending to a file whose last line has no final newline gives that line the newline
    and leaves the new last line without one, so the file keeps its style.
    """
    newline = newline_of([ending for _, ending in lines])
    if index < len(lines):
        lines.insert(index, (body, newline))
        return
    if lines and lines[-1][1] == "":
        last_body, _ = lines[-1]
        lines[-1] = (last_body, newline)
        lines.append((body, ""))
    else:
        lines.append((body, newline))


def remove(lines: list[tuple[str, str]], index: int) -> None:
    """Remove ``lines[index]``; a removed last line without newline takes the newline along."""
    _, ending = lines.pop(index)
    if ending == "" and lines and index == len(lines):
        lines[-1] = (lines[-1][0], "")
        if lines[-1] == ("", ""):  # a blank line without newline is no line at all
            lines.pop()


class LineFile:
    """A line-oriented file kept losslessly (:func:`split`): its text back by :meth:`render`,
    equal to another of its kind with the same text. The codecs' documents derive from it."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self._bom, self._lines = split(text)
        self._scan()

    def _scan(self) -> None:
        """Read :attr:`_lines` into the codec's own view of them (called again after each
        edit); raises :class:`ConfigSyntaxError` (see :meth:`syntax_error`)."""
        raise NotImplementedError

    def render(self) -> str:
        return join(self._bom, self._lines)

    def syntax_error(self, what: str, row: int, column: int, hint: str | None) -> ConfigSyntaxError:
        """``what`` is wrong on line ``row`` (0-based) at ``column`` (1-based) of this file."""
        return ConfigSyntaxError(what, path=self.path, line=row + 1, column=column, hint=hint)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return (self._bom, self._lines) == (other._bom, other._lines)

    __hash__ = None  # type: ignore[assignment]
