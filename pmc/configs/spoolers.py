"""``/opt/playout/api/config/spoolers.json``: the servers Playout Web Console updates together.

The file is a JSON list of ``{"name": …, "address": …, "type": "master" | "spooler"}``; the
installer writes one line (``[{"name":"master","address":"192.168.1.105","type":"master"}]``),
the manual edits it to one entry per line. A broken file stops the Playout API from starting,
so this codec refuses anything the API could choke on and says where and what, in plain words:

- a trailing comma (``…"spooler"},`` before ``]``) and a missing comma between two entries —
  the manual's own warning — with the line and column where the comma is wrong or missing;
- a ``type`` other than ``"master"`` or ``"spooler"``; a missing or unknown field; a field
  that is not text; the same name or address twice; a top level that is not a list; an empty
  list (the API would not know its own server);
- an address that is not canonical (:func:`pmc.configs.addresses.parse_address`): the
  manual's ``192.168.1.018`` is an error. ``192.158.1.105`` is accepted — subnets are the
  inventory's business.

Rendering: untouched documents render byte for byte. :meth:`Spoolers.set_servers` rewrites
the list in the file's own style (spacing inside entries, one entry per line or all on one
line, indentation, CRLF, BOM, final newline, field order). The installer's single-entry
one-line file becomes the manual's layout, one entry per line, once it lists more servers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from pmc.configs import lines as L
from pmc.configs.addresses import parse_address
from pmc.configs.json_text import JsonError, Node, read
from pmc.errors import ConfigSyntaxError, InputError

DEFAULT_PATH = "spoolers.json"
TYPES = ("master", "spooler")
FIELDS = ("name", "address", "type")
SpoolerType = Literal["master", "spooler"]


@dataclass(frozen=True)
class Spooler:
    """One server of spoolers.json. ``address`` is validated and kept in canonical form."""

    name: str
    address: str
    type: SpoolerType

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip():
            raise InputError(
                f"the server name {self.name!r} is empty or has spaces around it",
                hint="Give each server a short name such as main or backup.",
            )
        if self.type not in TYPES:
            raise InputError(
                f'the type {self.type!r} is not "master" or "spooler"',
                hint='Use "master" for the server being edited, "spooler" for the others.',
            )
        object.__setattr__(self, "address", str(parse_address(self.address)))


@dataclass(frozen=True)
class _Style:
    open: str  # between [ and the first entry
    sep: str  # between two entries, comma included
    close: str  # between the last entry and ]
    obj_open: str  # between { and the first field
    colon: str  # between a field name and its value, colon included
    comma: str  # between two fields, comma included
    obj_close: str  # between the last value and }
    order: tuple[str, ...]


class Spoolers:
    """A parsed spoolers.json; :attr:`servers` in file order, edit with :meth:`set_servers`."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self._text = text
        self._bom = text.startswith(L.BOM)
        body = text[1:] if self._bom else text
        self._servers, self._style, self._span = _interpret(body, path)

    @property
    def servers(self) -> tuple[Spooler, ...]:
        return self._servers

    def set_servers(self, servers: Iterable[Spooler]) -> bool:
        """Make the file list exactly ``servers``, in order; return whether the text changed.

        Raises :class:`InputError` (and changes nothing) for an empty list or a repeated name
        or address.
        """
        wanted = tuple(servers)
        if not wanted:
            raise InputError(
                "spoolers.json needs at least one server",
                hint="List this server first, with type master.",
            )
        for attr in ("name", "address"):
            values = [getattr(s, attr) for s in wanted]
            if len(set(values)) != len(values):
                raise InputError(
                    f"two servers have the same {attr} in spoolers.json",
                    hint=f"Give every server its own {attr}.",
                )
        if wanted == self._servers:
            return False
        style = self._style
        if len(self._servers) == 1 and "\n" not in style.open and len(wanted) > 1:
            newline = "\r\n" if "\r\n" in self._text else "\n"
            # the manual's layout: one entry per line
            style = replace(style, open=f"{newline}  ", sep=f",{newline}  ", close=newline)
        entries = [_render_entry(s, style) for s in wanted]
        array = "[" + style.open + style.sep.join(entries) + style.close + "]"
        body = self._text[1:] if self._bom else self._text
        start, end = self._span
        text = (L.BOM if self._bom else "") + body[:start] + array + body[end:]
        fresh = Spoolers(text, self.path)  # re-read: PMC never writes what it cannot read
        self._text, self._servers, self._style, self._span = (
            fresh._text,
            fresh._servers,
            fresh._style,
            fresh._span,
        )
        return True

    def render(self) -> str:
        return self._text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spoolers):
            return NotImplemented
        return (self._servers, self._text) == (other._servers, other._text)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Spoolers({self.path!r}, {list(self._servers)!r})"


def _render_entry(server: Spooler, style: _Style) -> str:
    pairs = [
        json.dumps(key) + style.colon + json.dumps(getattr(server, key), ensure_ascii=False)
        for key in style.order
    ]
    return "{" + style.obj_open + style.comma.join(pairs) + style.obj_close + "}"


def _interpret(body: str, path: str) -> tuple[tuple[Spooler, ...], _Style, tuple[int, int]]:
    def error(what: str, offset: int, hint: str) -> ConfigSyntaxError:
        line = body.count("\n", 0, offset) + 1
        column = offset - (body.rfind("\n", 0, offset) + 1) + 1
        return ConfigSyntaxError(what, path=path, line=line, column=column, hint=hint)

    try:
        root = read(body, item_name="server entry")
    except JsonError as exc:
        raise error(exc.what, exc.offset, exc.hint) from None
    if root.kind != "array":
        raise error(
            f"spoolers.json must be a list of servers in [ ], not {_kind(root)}",
            root.start,
            'Write [{"name":"main","address":"…","type":"master"}, …].',
        )
    if not root.items:
        raise error("the list of servers is empty", root.start, "List at least this server.")
    servers: list[Spooler] = []
    seen: dict[tuple[str, str], int] = {}
    for number, item in enumerate(root.items, start=1):
        entry = f"server entry {number}"
        if item.kind != "object":
            raise error(f"{entry} is {_kind(item)}, not {{…}}", item.start, "Write it as {…}.")
        fields: dict[str, Node] = {}
        for key, key_node, value in item.pairs:
            key_at = key_node.start
            if key in fields:
                raise error(f'{entry} has the field "{key}" twice', key_at, "Keep one of them.")
            if key not in FIELDS:
                raise error(
                    f'{entry} has an unknown field "{key}"',
                    key_at,
                    "Entries have only name, address and type.",
                )
            if value.kind != "string":
                raise error(
                    f'the "{key}" of {entry} is not text in double quotes',
                    value.start,
                    f'Write it as "{key}":"…".',
                )
            fields[key] = value
        for key in FIELDS:
            if key not in fields:
                raise error(
                    f'{entry} has no "{key}" field',
                    item.start,
                    'Each entry needs "name", "address" and "type".',
                )
        name, address, kind = (str(fields[k].value) for k in FIELDS)
        if kind not in TYPES:
            raise error(
                f'the type of {entry} is "{kind}"; it must be "master" or "spooler"',
                fields["type"].start,
                '"master" is the server being edited, "spooler" every other server.',
            )
        where_address = fields["address"].start
        try:
            spooler = Spooler(name, str(parse_address(address)), kind)  # type: ignore[arg-type]
        except InputError as exc:
            at = where_address if "address" in exc.what else fields["name"].start
            raise error(exc.what, at, exc.hint or "") from None
        for attr, at in (("name", fields["name"].start), ("address", fields["address"].start)):
            value_key = (attr, getattr(spooler, attr))
            if value_key in seen:
                raise error(
                    f"{entry} has the same {attr} as server entry {seen[value_key]}",
                    at,
                    f"Give every server its own {attr}.",
                )
            seen[value_key] = number
        servers.append(spooler)
    return tuple(servers), _style_of(body, root), (root.start, root.end)


def _style_of(body: str, root: Node) -> _Style:
    items = root.items
    first = items[0]
    open_ = body[root.start + 1 : first.start]
    close = body[items[-1].end : root.end - 1]
    sep = body[items[0].end : items[1].start] if len(items) > 1 else "," + open_
    pairs = first.pairs
    _, key0, value0 = pairs[0]
    obj_open = body[first.start + 1 : key0.start]
    colon = body[key0.end : value0.start]
    comma = body[value0.end : pairs[1][1].start]
    obj_close = body[pairs[-1][2].end : first.end - 1]
    order = tuple(key for key, _, _ in pairs)
    return _Style(open_, sep, close, obj_open, colon, comma, obj_close, order)


def _kind(node: Node) -> str:
    names = {"object": "an entry {…}", "array": "a list", "string": "a text"}
    return names.get(node.kind, f"the value {json.dumps(node.value)}")


def parse(text: str, *, path: str = DEFAULT_PATH) -> Spoolers:
    """Parse spoolers.json text; raises :class:`ConfigSyntaxError` with line and column."""
    return Spoolers(text, path)
