"""Where each key of a TOML text sits: tomlkit and tomllib keep no line numbers, so PMC scans
the text itself to point an operator at ``FILE:LINE`` of a problem."""

from __future__ import annotations

import tomlkit
import tomlkit.exceptions

Key = tuple[str | int, ...]
"""Where a value sits in the document: ``("clusters", 0, "servers", 1, "ssh_port")``."""

_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def scan_lines(text: str) -> dict[Key, int]:
    """The 1-based line of every table header and ``key =`` of a valid TOML ``text``.

    Arrays of tables get their index (``("clusters", 0, "servers", 1)``); keys inside inline
    tables and arrays are not listed (:meth:`LoadedInventory.line_of` falls back to the key
    that holds them).
    """
    return _LineScanner(text).run()


class _LineScanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[Key, int] = {}
        self.aot_counts: dict[Key, int] = {}
        self.table: Key = ()

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        for _ in range(count):
            if self.pos < len(self.text):
                if self.text[self.pos] == "\n":
                    self.line += 1
                self.pos += 1

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t"):
            self.advance()

    def skip_to_line_end(self) -> None:
        while self.peek() not in ("\n", ""):
            self.advance()
        self.advance()

    def run(self) -> dict[Key, int]:
        while self.pos < len(self.text):
            self.skip_spaces()
            char = self.peek()
            if char in ("#", "\r", "\n", ""):
                self.skip_to_line_end()
            elif char == "[":
                self.header()
            else:
                self.key_value()
        return self.lines

    def header(self) -> None:
        line = self.line
        is_array = self.peek(1) == "["
        self.advance(2 if is_array else 1)
        parts = self.dotted_key(("]",))
        resolved: list[str | int] = []
        for index, part in enumerate(parts):
            resolved.append(part)
            prefix = tuple(resolved)
            last = index == len(parts) - 1
            if last and is_array:
                count = self.aot_counts.get(prefix, 0) + 1
                self.aot_counts[prefix] = count
                resolved.append(count - 1)
            elif prefix in self.aot_counts:
                resolved.append(self.aot_counts[prefix] - 1)
        self.table = tuple(resolved)
        self.lines.setdefault(self.table, line)
        self.skip_to_line_end()

    def key_value(self) -> None:
        line = self.line
        parts = self.dotted_key(("=",))
        self.lines.setdefault((*self.table, *parts), line)
        self.advance()  # "="
        self.skip_value()

    def dotted_key(self, terminators: tuple[str, ...]) -> list[str]:
        parts: list[str] = []
        while True:
            self.skip_spaces()
            char = self.peek()
            if char in ('"', "'"):
                parts.append(self.quoted_key(char))
            else:
                start = self.pos
                while self.peek() in _BARE_KEY_CHARS and self.peek():
                    self.advance()
                parts.append(self.text[start : self.pos])
            self.skip_spaces()
            if self.peek() == ".":
                self.advance()
                continue
            if self.peek() in terminators or not self.peek():
                return parts
            self.advance()  # tolerate anything odd; tomlkit has validated the text already

    def quoted_key(self, quote: str) -> str:
        self.advance()
        chars: list[str] = []
        while self.peek() and self.peek() != quote:
            if quote == '"' and self.peek() == "\\":
                chars.append(self.text[self.pos : self.pos + 2])
                self.advance(2)
                continue
            chars.append(self.peek())
            self.advance()
        self.advance()
        raw = "".join(chars)
        if quote == '"' and "\\" in raw:
            try:
                parsed = tomlkit.parse(f'k = "{raw}"')["k"]
                return str(parsed)
            except tomlkit.exceptions.TOMLKitError:
                return raw
        return raw

    def skip_value(self) -> None:
        depth = 0
        while self.peek():
            char = self.peek()
            if char in ('"', "'"):
                self.skip_string(char)
            elif char in "[{":
                depth += 1
                self.advance()
            elif char in "]}":
                depth -= 1
                self.advance()
            elif char == "#":
                while self.peek() not in ("\n", ""):
                    self.advance()
            elif char == "\n":
                self.advance()
                if depth <= 0:
                    return
            else:
                self.advance()

    def skip_string(self, quote: str) -> None:
        if self.text.startswith(quote * 3, self.pos):
            self.advance(3)
            while self.peek() and not self.text.startswith(quote * 3, self.pos):
                self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
            self.advance(3)
            while self.peek() == quote:  # up to two quotes may close a multi-line string
                self.advance()
            return
        self.advance()
        while self.peek() and self.peek() not in (quote, "\n"):
            self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
        self.advance()
