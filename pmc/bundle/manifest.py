"""What a bundle says about itself: the manifest (first member) and the checksums (last member).

A bundle is written in one pass while the data streams from the server, so the writer cannot
know the checksums of the members when it writes the first one. The manifest therefore holds
the *plan* — format version, PMC and Playout versions, the source server, the time, the parts,
the tables in foreign-key order with their columns, the data folders and what their listing
showed — and the trailer ``checksums.json`` holds, for every member before it, its size and
SHA-256, plus the row count of every table. A reader verifies the trailer against what it
hashed itself while streaming; an import verifies the whole file before it touches a server.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from pmc.bundle.errors import NotABundle, UnknownFormatVersion
from pmc.catalog import PART_DATABASE, PART_EPG

FORMAT = "pmc-bundle"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
MANIFEST_NAME = "manifest.json"
CHECKSUMS_NAME = "checksums.json"

# PART_DATABASE (configuration tables) and PART_EPG (eit_event…, off by default): pmc.catalog
PART_CONFIG = "config"  # the API config: spoolers.json, replicate.conf
PART_DATA = "data"  # carousel, av and ts folders
ALL_PARTS = (PART_DATABASE, PART_EPG, PART_CONFIG, PART_DATA)

_SHA256 = re.compile(r"[0-9a-f]{64}")

CONFIG_FILES = ("spoolers.json", "replicate.conf")
DATA_DIRS = ("carousel", "av", "ts")


@dataclass(frozen=True)
class TableSpec:
    name: str
    part: str  # PART_DATABASE or PART_EPG
    columns: tuple[tuple[str, str], ...]  # (name, SQL type) in column order

    @property
    def member(self) -> str:
        return f"db/{self.name}.copy"


@dataclass(frozen=True)
class Source:
    cluster: str
    server: str
    address: str
    playout_version: str = "unknown"
    redundancy_address: str = ""
    postgresql_version: str = "unknown"


@dataclass(frozen=True)
class Manifest:
    source: Source
    created: str
    parts: tuple[str, ...]
    tables: tuple[TableSpec, ...] = ()
    fk_cycles: tuple[str, ...] = ()  # the source's FK cycles (an import goes by the target's)
    data_dirs: dict[str, str] = field(default_factory=dict)  # key -> path on the source
    planned_files: int = 0
    planned_bytes: int = 0
    pmc_version: str = ""
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def table(self, name: str) -> TableSpec:
        for spec in self.tables:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def to_json(self) -> bytes:
        data = asdict(self)
        return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, raw: bytes, *, where: str) -> Manifest:
        data = _json(raw, MANIFEST_NAME, where)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise NotABundle("its manifest.json is not a PMC bundle manifest", where=where)
        version = data.get("format_version")
        if version not in SUPPORTED_VERSIONS:
            raise UnknownFormatVersion(
                f"bundle format version {version!r} is not supported by this PMC "
                f"(it reads version {', '.join(map(str, SUPPORTED_VERSIONS))})",
                where=where,
                hint="Update PMC to the version that wrote the bundle, then import again. "
                "Nothing was changed on any server.",
            )
        try:
            source = _object(data["source"], "source")
            return cls(
                source=Source(**{k: _text(v, f"source.{k}") for k, v in source.items()}),
                created=_text(data["created"], "created"),
                parts=tuple(_parts(data["parts"])),
                tables=tuple(_table(t, i) for i, t in enumerate(_list(data, "tables"))),
                fk_cycles=tuple(_text(t, "fk_cycles") for t in _list(data, "fk_cycles")),
                data_dirs={
                    _text(k, "data_dirs"): _text(v, f"data_dirs.{k}")
                    for k, v in _object(data.get("data_dirs", {}), "data_dirs").items()
                },
                planned_files=_count(data.get("planned_files", 0), "planned_files"),
                planned_bytes=_count(data.get("planned_bytes", 0), "planned_bytes"),
                pmc_version=_text(data.get("pmc_version", ""), "pmc_version"),
                format=FORMAT,
                format_version=int(version),
            )
        except ValueError as exc:
            raise NotABundle(f"its manifest.json is damaged: {exc}", where=where) from exc
        except (KeyError, TypeError) as exc:
            raise NotABundle(f"its manifest.json is incomplete ({exc!r})", where=where) from exc


def _json(raw: bytes, name: str, where: str) -> Any:
    """``raw`` read as JSON; :class:`NotABundle` naming ``name`` when it does not read."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotABundle(f"its {name} is not valid JSON ({exc})", where=where) from exc
    except RecursionError as exc:  # [[[[… deeper than Python's stack: no PMC writes that
        raise NotABundle(f"its {name} is nested too deeply to be PMC's", where=where) from exc


# The JSON of a bundle is checked value by value, as written by PMC: text is text and a count
# is a whole number of 0 or more (never a float, a bool or a numeric string made into one).
# Text is shown to the operator (the summary, the import's log and errors) and never holds a
# control character (a line, a carriage return, a terminal escape, a bidi override) or more
# than MAX_TEXT characters: no PMC writes those, and they could forge or hide what is shown.
MAX_TEXT = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not text ({_shown(value)})")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{what} is longer than {MAX_TEXT} characters")
    if _CONTROL.search(value):
        raise ValueError(f"{what} has a control character ({json.dumps(value)[:60]})")
    return value


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} is not a whole number of 0 or more ({_shown(value)})")
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not an object ({_shown(value)})")
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{key} is not a list ({_shown(value)})")
    return value


def _shown(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _table(value: Any, index: int) -> TableSpec:
    what = f"tables[{index}]"
    table = _object(value, what)
    columns = table["columns"]
    if not isinstance(columns, list) or not all(
        isinstance(c, list) and len(c) == 2 for c in columns
    ):
        raise ValueError(f"{what}.columns is not a list of [name, type] pairs")
    return TableSpec(
        name=_text(table["name"], f"{what}.name"),
        part=_text(table["part"], f"{what}.part"),
        columns=tuple(
            (_text(n, f"{what}.columns"), _text(t, f"{what}.columns")) for n, t in columns
        ),
    )


def _parts(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError(f"parts is not a list ({_shown(value)})")
    parts = [_text(p, "parts") for p in value]
    unknown = [p for p in parts if p not in ALL_PARTS]
    if unknown:
        raise ValueError(f"unknown parts {unknown}")
    for part in ALL_PARTS:
        if parts.count(part) > 1:
            raise ValueError(f"parts lists {part} twice")
    return parts


@dataclass(frozen=True)
class MemberSum:
    size: int
    sha256: str


@dataclass(frozen=True)
class Checksums:
    members: dict[str, MemberSum]
    rows: dict[str, int]

    @property
    def total_bytes(self) -> int:
        return sum(m.size for m in self.members.values())

    def to_json(self) -> bytes:
        data = {
            "members": {k: asdict(v) for k, v in self.members.items()},
            "rows": self.rows,
            "total_bytes": self.total_bytes,
        }
        return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, raw: bytes, *, where: str) -> Checksums:
        data = _json(raw, CHECKSUMS_NAME, where)
        try:
            data = _object(data, "the whole file")
            members = {}
            for name, value in _object(data["members"], "members").items():
                entry = _object(value, f"members.{name}")
                digest = _text(entry["sha256"], f"members.{name}.sha256")
                if not _SHA256.fullmatch(digest):
                    raise ValueError(f"members.{name}.sha256 is not a SHA-256 ({_shown(digest)})")
                members[name] = MemberSum(_count(entry["size"], f"members.{name}.size"), digest)
            rows = {
                k: _count(v, f"rows.{k}") for k, v in _object(data.get("rows", {}), "rows").items()
            }
        except ValueError as exc:
            raise NotABundle(f"its checksums.json is damaged: {exc}", where=where) from exc
        except (KeyError, TypeError) as exc:
            raise NotABundle(f"its checksums.json is unreadable ({exc!r})", where=where) from exc
        return cls(members=members, rows=rows)
