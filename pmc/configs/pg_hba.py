"""``/opt/playout/db/pg_hba.conf``: who may connect to Playout's PostgreSQL, from where, how.

Copy config needs one ``host all all <eth2 address>/32 trust`` record per server, "at the
bottom of the file" (the manual). :meth:`PgHba.ensure_host_rule` adds such a record unless an
equivalent one exists, aligned like the record above it; :meth:`PgHba.remove_host_rule` takes
it out again.

Traps:

- **Equivalence is by meaning, not text.** ``host all all 172.17.59.128/32 trust`` equals
  ``host  all  all  172.17.59.128  255.255.255.255  trust``: fields are compared after
  splitting on whitespace, addresses as networks. Options after the method are ignored.
- **The first matching record wins** in PostgreSQL. A rule added at the bottom does nothing
  if an earlier record (say ``host all all 0.0.0.0/0 reject``) already matches the same
  connections: :meth:`PgHba.shadowing` finds such a record so that a plan can say so.
- Addresses are parsed strictly (:mod:`pmc.configs.addresses`): ``172.17.59.018/32`` is an
  error, not ``.18``. Existing records may have host bits set (PostgreSQL accepts that).
- Records continued with a trailing backslash (PostgreSQL 16+), double-quoted names,
  ``include``/``include_if_exists``/``include_dir`` lines and all comments are read and kept.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from pmc.configs import lines as L
from pmc.configs.addresses import IPNetwork, parse_address, parse_network
from pmc.errors import InputError

DEFAULT_PATH = "pg_hba.conf"
HOST_TYPES = ("host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc")
INCLUDE_TYPES = ("include", "include_if_exists", "include_dir")
METHODS = (
    "trust",
    "reject",
    "scram-sha-256",
    "md5",
    "password",
    "gss",
    "sspi",
    "ident",
    "peer",
    "pam",
    "ldap",
    "radius",
    "cert",
    "bsd",
)
_TOKEN = re.compile(r'(?:"[^"]*"|[^\s#"])+')
_PLAIN = re.compile(r"[A-Za-z0-9_.,+@$-]+")


@dataclass(frozen=True)
class HbaRule:
    """One record. ``address``/``mask`` are as written (None for ``local``)."""

    type: str
    database: str
    user: str
    address: str | None
    mask: str | None
    method: str
    options: tuple[str, ...] = ()
    line: int = field(default=0, compare=False)

    @property
    def network(self) -> IPNetwork | None:
        """The address as a network, or None for ``local``, ``all``, host names and the like."""
        if self.address is None:
            return None
        if "/" in self.address:
            return parse_network(self.address, strict_host_bits=False)
        if self.mask is not None:
            return ipaddress.ip_network(f"{self.address}/{self.mask}", strict=False)
        return None

    def equivalent(self, other: HbaRule) -> bool:
        """Same type, databases, users, network (or address word) and method."""
        mine = self.network or self.address
        theirs = other.network or other.address
        return (self.type, self.database, self.user, mine, self.method) == (
            other.type,
            other.database,
            other.user,
            theirs,
            other.method,
        )


@dataclass(frozen=True)
class Include:
    kind: str
    path: str
    line: int


@dataclass
class _Entry:
    first: int  # row of the first physical line
    last: int  # row of the last physical line (continuations)
    item: HbaRule | Include | None
    columns: tuple[int, ...] = ()  # start column of each token, first physical line only


class PgHba(L.LineFile):
    """A parsed pg_hba.conf; see the module docstring."""

    _entries: list[_Entry]

    def _scan(self) -> None:
        entries: list[_Entry] = []
        row = 0
        while row < len(self._lines):
            first, text = row, self._lines[row][0]
            data, open_quote = _data_part(text)
            while data.rstrip(" \t").endswith("\\") and row + 1 < len(self._lines):
                row += 1
                text = data.rstrip(" \t")[:-1] + " " + self._lines[row][0]
                data, open_quote = _data_part(text)
            if open_quote >= 0:
                raise self.syntax_error(
                    "a double quote is not closed", first, open_quote + 1, 'Close it with ".'
                )
            tokens = [(m.group(), m.start() + 1) for m in _TOKEN.finditer(data)]
            item = self._record(tokens, first) if tokens else None
            entries.append(_Entry(first, row, item, tuple(c for _, c in tokens)))
            row += 1
        self._entries = entries

    def _record(self, tokens: list[tuple[str, int]], row: int) -> HbaRule | Include:
        kind = tokens[0][0]
        if kind in INCLUDE_TYPES:
            if len(tokens) != 2:
                raise self.syntax_error(
                    f"{kind} needs exactly one file name", row, tokens[0][1], f"Write: {kind} FILE"
                )
            return Include(kind, tokens[1][0].strip('"'), row + 1)
        if kind != "local" and kind not in HOST_TYPES:
            raise self.syntax_error(
                f"unknown connection type {kind!r}",
                row,
                tokens[0][1],
                "Use local, host, hostssl, hostnossl, hostgssenc or hostnogssenc.",
            )
        need = 4 if kind == "local" else 5
        if len(tokens) < need:
            raise self.syntax_error(
                f"the {kind} record has too few fields",
                row,
                tokens[0][1],
                "A record is: TYPE DATABASE USER ADDRESS METHOD [OPTIONS] (no ADDRESS for local).",
            )
        address = mask = None
        rest = tokens[3:]
        if kind != "local":
            address, column = tokens[3]
            rest = tokens[4:]
            where = f"{self.path}:{row + 1}:{column}"
            try:
                if "/" in address:
                    parse_network(address, where=where, strict_host_bits=False)
                elif re.fullmatch(r"[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*", address):
                    parse_address(address, where=where)
                    if not rest:
                        raise InputError(f"the address {address} has no mask or method")
                    mask, mcol = rest[0]
                    parse_address(mask, where=f"{self.path}:{row + 1}:{mcol}")
                    ipaddress.ip_network(f"{address}/{mask}", strict=False)
                    rest = rest[1:]
            except (InputError, ValueError) as exc:
                what = exc.what if isinstance(exc, InputError) else str(exc)
                raise self.syntax_error(
                    what, row, column, "Write the address as a.b.c.d/prefix."
                ) from None
        if not rest:
            raise self.syntax_error(
                f"the {kind} record has no method",
                row,
                tokens[-1][1],
                "Add the method, e.g. trust or scram-sha-256.",
            )
        method, mcol = rest[0]
        if method not in METHODS:
            raise self.syntax_error(
                f"unknown authentication method {method!r}",
                row,
                mcol,
                "Use one of: " + ", ".join(METHODS) + ".",
            )
        for option, ocol in rest[1:]:
            if "=" not in option:
                raise self.syntax_error(
                    f"the option {option!r} is not name=value",
                    row,
                    ocol,
                    "Options after the method are written name=value.",
                )
        return HbaRule(
            kind,
            tokens[1][0],
            tokens[2][0],
            address,
            mask,
            method,
            tuple(t for t, _ in rest[1:]),
            row + 1,
        )

    @property
    def rules(self) -> tuple[HbaRule, ...]:
        return tuple(e.item for e in self._entries if isinstance(e.item, HbaRule))

    @property
    def includes(self) -> tuple[Include, ...]:
        return tuple(e.item for e in self._entries if isinstance(e.item, Include))

    @staticmethod
    def _wanted(database: str, user: str, address_cidr: str, method: str, type: str) -> HbaRule:
        for name, value in (("database", database), ("user", user)):
            if not _PLAIN.fullmatch(value):
                raise InputError(
                    f"the {name} {value!r} cannot be written into pg_hba.conf",
                    hint="Use a plain name without spaces, quotes or #.",
                )
        if type not in HOST_TYPES:
            raise InputError(f"{type!r} is not a host record type", hint=", ".join(HOST_TYPES))
        if method not in METHODS:
            raise InputError(
                f"unknown authentication method {method!r}",
                hint="Use one of: " + ", ".join(METHODS) + ".",
            )
        if "/" in address_cidr:
            network = parse_network(address_cidr)
        else:
            host = parse_address(address_cidr)
            network = ipaddress.ip_network(f"{host}/{host.max_prefixlen}")
        return HbaRule(type, database, user, str(network), None, method)

    def ensure_host_rule(
        self, database: str, user: str, address_cidr: str, method: str, *, type: str = "host"
    ) -> bool:
        """Append ``TYPE DATABASE USER ADDRESS METHOD`` unless an equivalent record exists.

        A bare address means that one host (``/32`` or ``/128``). Returns whether the text
        changed. The new line copies the column layout of the last host record (else of the
        ``# TYPE  DATABASE …`` header comment).
        """
        wanted = self._wanted(database, user, address_cidr, method, type)
        if any(rule.equivalent(wanted) for rule in self.rules):
            return False
        fields = [wanted.type, wanted.database, wanted.user, wanted.address or "", method]
        L.insert(self._lines, len(self._lines), self._aligned(fields))
        self._scan()
        return True

    def _aligned(self, fields: list[str]) -> str:
        columns: tuple[int, ...] = ()
        for entry in reversed(self._entries):
            rule = entry.item
            if isinstance(rule, HbaRule) and rule.type in HOST_TYPES and entry.first == entry.last:
                body = self._lines[entry.first][0]
                if "\t" in body:
                    seps = re.findall(r"[ \t]+", body.strip())
                    return "".join(f + s for f, s in zip(fields, [*seps[:4], ""], strict=True))
                c = entry.columns
                columns = (c[0], c[1], c[2], c[3], c[5] if rule.mask else c[4])
                break
        else:
            for body, _ in self._lines:
                if re.match(r"#\s*TYPE\s+DATABASE\s+USER\s+ADDRESS\s+METHOD", body):
                    words = list(re.finditer(r"[A-Z]+", body))
                    columns = tuple(m.start() + 1 for m in words[:5])
                    break
        text = ""
        for index, value in enumerate(fields):
            if index and columns:
                text += " " * max(1, columns[index] - 1 - len(text))
            elif index:
                text += " "
            text += value
        return text

    def remove_host_rule(
        self, database: str, user: str, address_cidr: str, method: str, *, type: str = "host"
    ) -> bool:
        """Remove every record equivalent to the given one; return whether any was removed."""
        wanted = self._wanted(database, user, address_cidr, method, type)
        doomed = [
            e for e in self._entries if isinstance(e.item, HbaRule) and e.item.equivalent(wanted)
        ]
        for entry in reversed(doomed):
            for row in range(entry.last, entry.first - 1, -1):
                L.remove(self._lines, row)
        self._scan()
        return bool(doomed)

    def shadowing(
        self, database: str, user: str, address_cidr: str, method: str, *, type: str = "host"
    ) -> HbaRule | None:
        """The first earlier record that already decides such connections differently.

        PostgreSQL uses the first record that matches; if it is not the wanted one, a record
        at the bottom is never reached. Group (``+x``) and file (``@x``) references are
        treated as matching, to warn rather than miss.
        """
        wanted = self._wanted(database, user, address_cidr, method, type)
        target = wanted.network
        assert target is not None
        for rule in self.rules:
            if rule.equivalent(wanted):
                return None
            if rule.type not in HOST_TYPES or not _covers(rule.database, database):
                continue
            if not _covers(rule.user, user):
                continue
            net = rule.network
            if rule.address == "all" or (
                net is not None and net.version == target.version and target.subnet_of(net)  # type: ignore[arg-type]
            ):
                return rule
        return None

    def __repr__(self) -> str:
        return f"PgHba({self.path!r}, {len(self.rules)} rules)"


def _data_part(text: str) -> tuple[str, int]:
    """The text before a ``#`` comment (``#`` inside double quotes is data) and the offset of
    a double quote left open, or -1."""
    opened = -1
    for index, ch in enumerate(text):
        if ch == '"':
            opened = index if opened < 0 else -1
        elif ch == "#" and opened < 0:
            return text[:index], -1
    return text, opened


def _covers(field_text: str, name: str) -> bool:
    names = [n.strip('"') for n in field_text.split(",")]
    return any(n in ("all", name) or n[:1] in "+@" for n in names)


def parse(text: str, *, path: str = DEFAULT_PATH) -> PgHba:
    """Parse pg_hba.conf text; raises :class:`ConfigSyntaxError` with line and column."""
    return PgHba(text, path)
