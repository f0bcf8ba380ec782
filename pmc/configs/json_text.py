"""A small JSON reader that remembers where every value starts and ends.

:mod:`json` reports ``Expecting ',' delimiter: line 3 column 3 (char 70)``; an operator who
just edited spoolers.json with nano needs "missing comma between server entry 1 and server
entry 2". This reader keeps each value's span so that errors and the spoolers codec can point
at the exact line and column, and its messages name the mistake in plain words: a trailing
comma, a missing comma, single quotes, an unclosed list. ``describe`` lets the caller name the
items of a list (``"server entry"``) and of an object (``"field"``).

Positions are 0-based offsets into the text given (the caller strips a BOM first); errors are
raised as :class:`JsonError` with an offset, which the caller turns into line and column.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# A character a \uD800–\uDFFF escape gives alone (half of a pair): no UTF-8 file can hold it.
# The same characters straight in the text are bytes that are not UTF-8, kept as they are.
_SURROGATE = re.compile("[\ud800-\udfff]")
_HALF_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LITERALS = {"true": True, "false": False, "null": None}
_WS = " \t\r\n"


class JsonError(Exception):
    def __init__(self, what: str, offset: int, hint: str) -> None:
        super().__init__(what)
        self.what = what
        self.offset = offset
        self.hint = hint


@dataclass
class Node:
    """A JSON value: ``value`` is a str/number/bool/None, a list of Nodes or a list of pairs."""

    kind: str  # "array", "object", "string", "number", "literal"
    start: int
    end: int
    value: object = None
    items: list[Node] = field(default_factory=list)
    pairs: list[tuple[str, Node, Node]] = field(default_factory=list)  # key, key node, value


class _Reader:
    def __init__(self, text: str, item_name: str) -> None:
        self.text = text
        self.pos = 0
        self.item_name = item_name

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WS:
            self.pos += 1

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def fail(self, what: str, hint: str, offset: int | None = None) -> JsonError:
        return JsonError(what, self.pos if offset is None else offset, hint)

    def value(self, depth: int) -> Node:
        ch = self.peek()
        if depth > 32:
            raise self.fail("lists or entries nested too deep", "spoolers.json is one flat list.")
        if ch == "[":
            return self.array(depth)
        if ch == "{":
            return self.obj(depth)
        if ch == '"':
            return self.string()
        if ch == "'":
            raise self.fail("text in single quotes", 'JSON needs double quotes: "like this".')
        if ch == "":
            raise self.fail("the file ends where a value was expected", "Complete the file.")
        match = _NUMBER.match(self.text, self.pos)
        after = self.text[match.end() : match.end() + 1] if match else ""
        if match and (after == "" or after in _WS + ",]}"):
            try:
                number = json.loads(match.group())
            except ValueError:  # more digits than Python reads (4300)
                digits = sum(c.isdigit() for c in match.group())
                raise self.fail(
                    f"a number of {digits} digits where a value was expected",
                    'Text values are written in double quotes, e.g. "main".',
                ) from None
            self.pos = match.end()
            return Node("number", match.start(), match.end(), number)
        for word, literal in _LITERALS.items():
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return Node("literal", self.pos - len(word), self.pos, literal)
        bare = re.match(r"[^\s,:\[\]{}]+", self.text[self.pos :])
        shown = bare.group() if bare else ch
        raise self.fail(
            f"unexpected {shown!r} where a value was expected",
            'Text values are written in double quotes, e.g. "main".',
        )

    def string(self) -> Node:
        match = _STRING.match(self.text, self.pos)
        if match is None:
            end = self.text.find('"', self.pos + 1)
            newline = self.text.find("\n", self.pos + 1)
            if end < 0 or (0 <= newline < end):
                raise self.fail("a text in double quotes is not closed", 'Add the closing ".')
            raise self.fail(
                "a text in double quotes contains a character JSON does not allow",
                "Remove control characters and write a backslash as \\\\.",
            )
        raw = match.group()
        half = _HALF_ESCAPE.search(raw)
        if half and _SURROGATE.search(json.loads(_SURROGATE.sub("", raw))):
            raise self.fail(
                f"a text in double quotes contains {half.group()}, half of a character",
                "Write the character itself, or both halves of its \\u pair.",
            )
        self.pos = match.end()
        return Node("string", match.start(), match.end(), json.loads(raw))

    def opens(self, kind: str) -> Node:
        """The ``kind`` ("array" or "object") whose opening bracket is next (the reader moves
        past it); :meth:`closes` sets its end."""
        start = self.pos
        self.pos += 1
        return Node(kind, start, start)

    def closes(self, node: Node, close: str) -> bool:
        """``close`` is next: it ends ``node`` (the reader moves past it)."""
        if self.peek() != close:
            return False
        self.pos += 1
        node.end = self.pos
        return True

    def comma_before_more(self, close: str, last: str, entry: str) -> bool:
        """A comma is next (the reader moves past it), and another ``entry`` after it, not
        ``close``: JSON allows no comma after the ``last`` one."""
        if self.peek() != ",":
            return False
        comma = self.pos
        self.pos += 1
        if self.peek() == close:
            raise self.fail(
                f"trailing comma after the last {last}",
                f"Remove this comma: JSON allows no comma after the last {entry}.",
                comma,
            )
        return True

    def array(self, depth: int) -> Node:
        node = self.opens("array")
        if self.closes(node, "]"):
            return node
        while True:
            item = self.value(depth + 1)
            node.items.append(item)
            n = len(node.items)
            name = self.item_name if depth == 0 else "value"
            if self.closes(node, "]"):
                return node
            if self.comma_before_more("]", f"{name} ({name} {n})", "entry"):
                continue
            ch = self.peek()
            if ch == "":
                raise self.fail(
                    "the file ends before the list is closed", "Add the closing ] at the end."
                )
            if ch in '{["' or ch.isalnum() or ch == "-":
                raise self.fail(
                    f"missing comma between {name} {n} and {name} {n + 1}",
                    f"Put a comma right here, after the end of {name} {n}.",
                    item.end,
                )
            raise self.fail(f"unexpected {ch!r} in the list", "Separate entries with commas.")

    def obj(self, depth: int) -> Node:
        node = self.opens("object")
        if self.closes(node, "}"):
            return node
        while True:
            ch = self.peek()
            if ch != '"':
                raise self.fail(
                    "expected a field name in double quotes",
                    'Write fields as "name":"value"'
                    + (" (JSON needs double quotes)." if ch == "'" else "."),
                )
            key = self.string()
            if self.peek() != ":":
                raise self.fail(f'missing colon after the field name "{key.value}"', "Add :.")
            self.pos += 1
            value = self.value(depth + 1)
            node.pairs.append((str(key.value), key, value))
            if self.closes(node, "}"):
                return node
            if self.comma_before_more("}", f'field ("{key.value}")', "field"):
                continue
            ch = self.peek()
            if ch == '"':
                raise self.fail(
                    f'missing comma after the field "{key.value}"',
                    "Put a comma right here, between the two fields.",
                    value.end,
                )
            if ch == "":
                raise self.fail("the file ends inside an entry", "Close it with }.")
            raise self.fail(f"unexpected {ch!r} after a field", "Separate fields with commas.")


def read(text: str, *, item_name: str = "entry") -> Node:
    """Parse ``text`` as one JSON value; ``item_name`` names the items of the top list."""
    reader = _Reader(text, item_name)
    if not text.strip(_WS):
        raise JsonError("the file is empty", 0, "Write the list of servers: [ ... ].")
    node = reader.value(0)
    if reader.peek():
        raise reader.fail(
            "unexpected text after the end of the list",
            "Remove it: the file holds one list.",
        )
    return node
