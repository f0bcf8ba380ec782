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
    fk_cycles: tuple[str, ...] = ()  # tables in a foreign-key cycle (loaded with triggers off)
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
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise NotABundle(f"its manifest.json is not valid JSON ({exc})", where=where) from exc
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
            return cls(
                source=Source(**data["source"]),
                created=str(data["created"]),
                parts=tuple(_parts(data["parts"])),
                tables=tuple(
                    TableSpec(
                        name=str(t["name"]),
                        part=str(t["part"]),
                        columns=tuple((str(c[0]), str(c[1])) for c in t["columns"]),
                    )
                    for t in data.get("tables", [])
                ),
                fk_cycles=tuple(str(t) for t in data.get("fk_cycles", [])),
                data_dirs={str(k): str(v) for k, v in data.get("data_dirs", {}).items()},
                planned_files=int(data.get("planned_files", 0)),
                planned_bytes=int(data.get("planned_bytes", 0)),
                pmc_version=str(data.get("pmc_version", "")),
                format=FORMAT,
                format_version=int(version),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise NotABundle(f"its manifest.json is incomplete ({exc!r})", where=where) from exc


def _parts(value: Any) -> list[str]:
    parts = [str(p) for p in value]
    unknown = [p for p in parts if p not in ALL_PARTS]
    if unknown:
        raise ValueError(f"unknown parts {unknown}")
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
        try:
            data = json.loads(raw.decode("utf-8"))
            return cls(
                members={
                    str(k): MemberSum(int(v["size"]), str(v["sha256"]))
                    for k, v in data["members"].items()
                },
                rows={str(k): int(v) for k, v in data.get("rows", {}).items()},
            )
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise NotABundle(f"its checksums.json is unreadable ({exc!r})", where=where) from exc
