"""A table's data member checked as PostgreSQL's COPY text format, line by line.

A bundle is untrusted input (a file that arrives by e-mail or on a USB stick): its checksums
prove that it is intact, not who wrote it. Table data reaches PostgreSQL only as COPY data over
the protocol (:mod:`pmc.bundle.import_db`), and before that every data member must read as
what ``COPY … TO STDOUT`` writes for the manifest's columns:

- rows end with a newline; fields are separated by tabs, exactly one field per column;
- a field is ``\\N`` (NULL) or text in which a backslash is followed only by one of the
  escapes COPY writes (``\\\\ \\b \\f \\n \\r \\t \\v``) — so no end-of-data marker ``\\.``,
  no carriage return, no NUL byte (PostgreSQL takes none in text), no other escape;
- the number of rows is the one the bundle's trailer gives.

:class:`CopyTextCheck` is fed the member in chunks of any size and refuses the first line that
does not fit, with the member's name and the line's number. Whole chunks are matched by one
regular expression (possessive, so a bad line costs no backtracking); only a chunk that fails
is gone through line by line to name the line.
"""

from __future__ import annotations

import re

from pmc.bundle.errors import BadTableData
from pmc.words import plural

MAX_LINE = 64 << 20  # a longer row is not Playout configuration

# a field: \N, or text whose backslashes each start one of COPY's escapes (the loop unrolled and
# possessive: each field has one way to match, so a bad line fails in linear time)
_FIELD = rb"(?:\\N(?=[\t\n]|\Z)|[^\\\t\n\r\x00]*+(?:\\[\\bfnrtv][^\\\t\n\r\x00]*+)*+)"


def _pattern(columns: int) -> re.Pattern[bytes]:
    line = _FIELD + (rb"(?:\t" + _FIELD + rb"){%d}+" % (columns - 1) if columns > 1 else b"")
    return re.compile(rb"(?:" + line + rb"\n)*+")


_LINE = re.compile(_FIELD + rb"(?:\t" + _FIELD + rb")*+")


class CopyTextCheck:
    """Checks one table member; :meth:`feed` each chunk, then :meth:`finish`."""

    def __init__(self, member: str, columns: int, *, where: str) -> None:
        self.member = member
        self.columns = columns
        self.where = where
        self.rows = 0
        self._rest = b""
        self._whole = _pattern(columns)

    def feed(self, chunk: bytes) -> None:
        data = self._rest + chunk if self._rest else chunk
        end = data.rfind(b"\n") + 1
        if end:
            block = data[:end]
            if self._whole.fullmatch(block) is None:
                self._explain(block)
            self.rows += block.count(b"\n")
        self._rest = data[end:]
        if len(self._rest) > MAX_LINE:
            self._refuse(self.rows + 1, f"the line is longer than {MAX_LINE >> 20} MiB")

    def finish(self, expected_rows: int | None) -> None:
        if self._rest:
            self._refuse(self.rows + 1, "the last line does not end with a newline")
        if expected_rows is not None and self.rows != expected_rows:
            raise BadTableData(
                f"member {self.member} holds {plural(self.rows, 'row')} but the bundle's "
                f"checksums.json says {expected_rows}",
                where=self.where,
            )

    def _explain(self, block: bytes) -> None:
        """Find and refuse the first line of ``block`` that does not fit."""
        for number, line in enumerate(block.split(b"\n")[:-1], start=self.rows + 1):
            if _LINE.fullmatch(line) is not None:
                fields = line.count(b"\t") + 1
                if fields == self.columns:
                    continue
                self._refuse(
                    number,
                    f"it has {plural(fields, 'field')} but the table has "
                    f"{plural(self.columns, 'column')}",
                )
            self._refuse(number, _why(line))
        self._refuse(self.rows + 1, "it does not read as COPY text")  # pragma: no cover

    def _refuse(self, line: int, why: str) -> None:
        raise BadTableData(
            f"member {self.member}, line {line}: {why}: it is not COPY data of the table",
            where=self.where,
            hint="The bundle was altered or was not written by PMC. Nothing was changed on "
            "any server",
        )


def _why(line: bytes) -> str:
    if line in (b"\\.", b"\\.\r"):
        return "an end-of-data marker (\\.) inside the data"
    if b"\r" in line:
        return "a carriage return inside the data"
    if b"\x00" in line:
        return "a NUL byte inside the data"
    for match in re.finditer(rb"\\(.?)", line, re.DOTALL):
        escape = match.group(1)
        if escape == b".":
            return "an end-of-data marker (\\.) inside the data"
        if escape == b"N":
            return "\\N (NULL) inside a field"
        if escape not in (b"\\", b"b", b"f", b"n", b"r", b"t", b"v"):
            shown = escape.decode("ascii", "backslashreplace") or "the end of the line"
            return f"a backslash followed by {shown}, which COPY never writes"
    return "it does not read as COPY text"  # pragma: no cover
