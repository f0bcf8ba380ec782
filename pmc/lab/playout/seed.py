"""Fill a lab server's ``playout`` database and data folders, deterministically and fast.

``seed(target, rows)`` loads about ``rows`` rows (most of them EPG events once the
configuration is in place) with ``COPY``; the same ``rows`` always gives the same data.
``target`` is a psycopg connection, a connection string, or a function that runs a psql-style
SQL script (with ``COPY … FROM stdin`` blocks) — for a database reachable only through
``psql`` inside a server's namespace.

``write_data_files(root, megabytes)`` writes sample carousel, av and ts files under ``root``
(``/opt/playout/data`` on a server).

Command line: ``python -m pmc.lab.playout.seed --dsn DSN --rows N [--schema]
[--data-dir DIR --data-mb N]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from pmc.lab.playout import schema_sql

DEFAULT_ROWS = 300
SqlRunner = Callable[[str], None]
Target = psycopg.Connection[Any] | str | SqlRunner
Rows = list[tuple[Any, ...]]

_BASE_TIME = datetime(2025, 2, 5, 0, 0, tzinfo=UTC)
_EIT_KINDS = ("default", "xmltv", "tv-anytime", "tribune", "excel", "asi", "icareus-xml")
_PSI_KINDS = (
    ("PAT", 0x00, 100),
    ("PMT", 0x20, 100),
    ("NIT", 0x10, 1000),
    ("SDT", 0x11, 2000),
    ("BAT", 0x11, 10000),
    ("TDT", 0x14, 30000),
    ("TOT", 0x14, 30000),
    ("EIT-PF", 0x12, 2000),
    ("EIT-SCHEDULE", 0x12, 10000),
)
_PROGRAMMES = ("Uutiset", "Sää", "Elokuva", "Urheilu", "Dokumentti", "Lastenohjelma", "Sarja")


def table_data(rows: int = DEFAULT_ROWS, *, server: str = "main") -> dict[str, tuple[str, Rows]]:
    """Every table's rows for a seed of about ``rows`` rows: ``{table: (columns, rows)}``.

    The tables come in foreign-key order. Services 1–4 are "Icareus 1" … "Icareus 4" (provider
    Icareus); further services start at 101, so that service 5 is free for the seed's test.
    """
    rng = random.Random(rows)  # noqa: S311 (sample data, not secrets)
    data: dict[str, tuple[str, Rows]] = {}
    data["general_settings"] = (
        "key, value, description",
        [
            ("server_name", server, "Name shown in Playout Web Console"),
            ("remove_old_log_messages", "true", "Remove old log messages automatically"),
            ("log_retention_days", "30", "Days to keep log messages"),
            ("ntp_enabled", "true", "Synchronise the clock with NTP"),
            ("default_language", "fin", "Default EPG language"),
            ("tot_country_code", "FIN", "Country code in TOT"),
            ("tot_local_time_offset", "+02:00", "Local time offset in TOT"),
            ("pid_server_first_pid", "256", "First PID the PID server allocates"),
            ("pid_server_last_pid", "8190", "Last PID the PID server allocates"),
            ("multiplexer_bitrate_bps", "31668449", "Multiplexer output bit rate"),
        ],
    )
    n_networks = 2 + rows // 50_000
    networks: Rows = []
    for i in range(1, n_networks + 1):
        kind = "actual" if i == 1 else "other"
        networks.append(
            (
                i,
                kind,
                0x3000 + i,
                0x20F6,
                f"Icareus Network {i}",
                True,
                True,
                True,
                True,
                i % 2 == 0,
                True,
                True,
                True,
                True,
                2000,
                10000,
            )
        )
    data["networks"] = (
        "id, kind, network_id, original_network_id, name, generate_pat, generate_pmt, "
        "generate_nit, generate_sdt, generate_bat, generate_tdt, generate_tot, "
        "generate_eit_pf, generate_eit_schedule, eit_pf_rate_ms, eit_schedule_rate_ms",
        networks,
    )
    streams = [
        (n * 10 + k, n, 100 + k, f"TS {100 + k}", 31668449) for n in range(1, n_networks + 1)
        for k in range(2)
    ]  # fmt: skip
    data["transport_streams"] = ("id, network, ts_id, name, bitrate_bps", streams)
    data["eit_sources"] = (
        "id, name, kind, settings",
        [
            (i + 1, f"{kind} source", kind, json.dumps(_eit_settings(kind)))
            for i, kind in enumerate(_EIT_KINDS)
        ],
    )
    n_extra = max(0, rows // 100 - 4)
    service_ids = [1, 2, 3, 4] + [101 + i for i in range(n_extra)]
    services: Rows = []
    for sid in service_ids:
        name = f"Icareus {sid}" if sid < 100 else f"Service {sid}"
        provider = "Icareus" if sid < 100 else f"Provider {sid % 7}"
        ts = streams[(sid - 1) % len(streams)][0]
        source = 1 + (sid % len(_EIT_KINDS))
        services.append((sid, name, provider, 1, ts, source, 0x100 + sid, 0x100 + sid))
    data["dvb_services"] = (
        "service_id, name, provider, service_type, transport_stream, eit_source, pmt_pid, pcr_pid",
        services,
    )
    data["network_services"] = (
        "network, service_id",
        [(1, sid) for sid in service_ids] + [(2, sid) for sid in service_ids[:2]],
    )
    psi: Rows = []
    for n in range(1, n_networks + 1):
        for k, (kind, pid, rep) in enumerate(_PSI_KINDS):
            psi.append((n * 100 + k, n, kind, pid, rep, (n + k) % 32))
    data["psi_si_tables"] = ("id, network, table_kind, pid, repetition_ms, version", psi)
    descriptors: Rows = []
    sdt_table = 100 + 3
    for i, sid in enumerate(service_ids):
        name = services[i][1].encode()
        payload = bytes([1, len(b"Icareus")]) + b"Icareus" + bytes([len(name)]) + name
        descriptors.append((2 * i + 1, sdt_table, sid, 0x48, "service_descriptor", payload, 0))
        descriptors.append(
            (2 * i + 2, sdt_table, sid, 0x53, "CA_identifier_descriptor", b"\x0b\x00", 1)
        )
    data["descriptors"] = (
        "id, psi_table, service_id, tag, name, payload, position",
        descriptors,
    )
    n_carousels = max(2, rows // 1000)
    carousels = [
        (c, f"carousel{c}", "object" if c % 2 else "data", 0x700 + c, 500_000 + 1000 * c,
         service_ids[(c - 1) % len(service_ids)], f"/opt/playout/data/carousel/carousel{c}")
        for c in range(1, n_carousels + 1)
    ]  # fmt: skip
    data["carousels"] = ("id, name, kind, pid, bitrate_bps, service_id, root_dir", carousels)
    files: Rows = []
    for c in range(1, n_carousels + 1):
        for k, path in enumerate(("index.html", "app.js", "style.css", "logo.png", "ait.xml")):
            size = 1000 + rng.randrange(50_000)
            sha = hashlib.sha256(f"carousel{c}/{path}/{size}".encode()).hexdigest()
            files.append((c * 10 + k, c, path, size, sha))
    data["carousel_files"] = ("id, carousel, path, size, sha256", files)
    data["ait_applications"] = (
        "id, carousel, organisation_id, application_id, name, app_type, control_code, url",
        [
            (c, c, 0x10, c, f"App {c}", ("hbbtv", "mhp", "mheg5")[c % 3], "AUTOSTART",
             f"http://apps.example.invalid/app{c}/index.html")
            for c in range(1, n_carousels + 1)
        ],
    )  # fmt: skip
    data["stream_events"] = (
        "id, carousel, name, kind, event_id, payload, fire_at_ms",
        [
            (c * 2 + k, c, f"event{k}", ("DIN", "NPT")[k], k + 1, f"show overlay {k}",
             None if k == 0 else 60_000 * c)
            for c in range(1, n_carousels + 1)
            for k in range(2)
        ],
    )  # fmt: skip
    data["playlists"] = (
        "id, service_id, name, active, default_video",
        [(i + 1, sid, f"Playlist {sid}", True, "/opt/playout/data/av/default.ts")
         for i, sid in enumerate(service_ids)],
    )  # fmt: skip
    items: Rows = []
    for p in range(1, len(service_ids) + 1):
        for k in range(3):
            start = _BASE_TIME + timedelta(minutes=30 * k)
            items.append((p * 10 + k, p, k, f"/opt/playout/data/av/clip{k}.ts", 1_800_000, start))
    data["playlist_items"] = (
        "id, playlist, position, file_path, duration_ms, start_time",
        items,
    )
    data["cas_settings"] = (
        "id, service_id, ca_system_id, ca_pid, private_data, free_ca_mode",
        [(i + 1, sid, 0x0B00, 0x1500 + i, b"\x01\x02", True)
         for i, sid in enumerate(service_ids[::4])],
    )  # fmt: skip
    used = sum(len(r) for _, r in data.values())
    data["eit_event"] = (
        "service_id, event_id, start_time, duration, content_type, free_ca_mode, original_id, "
        "lang_code, name, short_info, extended_info, country_code, rating, position",
        list(_events(service_ids, max(0, rows - used))),
    )
    data["ts_outputs"] = (
        "id, name, kind, network_id, ts_id, address, port, asi_card, asi_port, bitrate_bps",
        [
            (1, f"{server} UDP out", "udp", 0x3001, 100, "239.1.1.1", 1234, None, None, 31668449),
            (2, f"{server} ASI out", "asi", 0x3001, 101, None, None, 0, 1, 31668449),
        ],
    )
    return data


def _eit_settings(kind: str) -> dict[str, Any]:
    if kind == "default":
        return {}
    if kind == "asi":
        return {"card": 0, "port": 1, "pid": 18}
    if kind == "excel":
        return {"path": "/opt/playout/data/epg/epg.csv", "mapping": {"name": 1, "start": 2}}
    return {"url": f"http://epg.example.invalid/{kind}.xml", "interval_min": 60}


def _events(service_ids: Sequence[int], count: int) -> Iterator[tuple[Any, ...]]:
    per_service, rest = divmod(count, len(service_ids))
    for i, sid in enumerate(service_ids):
        n = per_service + (1 if i < rest else 0)
        start = _BASE_TIME
        for event_id in range(1, n + 1):
            duration = (30 + (event_id * 7 + sid) % 4 * 15) * 60
            title = _PROGRAMMES[(event_id + sid) % len(_PROGRAMMES)]
            yield (
                sid, event_id, start, duration, (event_id % 11) * 16, False,
                f"crid://icareus.invalid/{sid}/{event_id}", "fin", f"{title} {event_id}",
                f"{title}: jakso {event_id}", f"Pitkä kuvaus: {title}, jakso {event_id}.\tTab",
                902, event_id % 19, event_id,
            )  # fmt: skip
            start += timedelta(seconds=duration)


def _copy_text(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if any(c in text for c in "\\\t\n\r"):
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _copy_lines(rows: Iterable[tuple[Any, ...]]) -> Iterator[str]:
    for row in rows:
        yield "\t".join(_copy_text(v) for v in row) + "\n"


def seed(target: Target, rows: int = DEFAULT_ROWS, *, server: str = "main",
         with_schema: bool = False) -> dict[str, int]:  # fmt: skip
    """Fill the (empty) ``playout`` tables with about ``rows`` rows; returns rows per table.

    With ``with_schema`` the tables are created first (:func:`pmc.lab.playout.schema_sql`).
    """
    data = table_data(rows, server=server)
    counts = {table: len(r) for table, (_, r) in data.items()}
    if callable(target):
        target(_script(data, with_schema))
        return counts
    if isinstance(target, str):
        with psycopg.connect(target) as conn:
            _load(conn, data, with_schema)
    else:
        _load(target, data, with_schema)
    return counts


def _load(conn: psycopg.Connection[Any], data: dict[str, tuple[str, Rows]], schema: bool) -> None:
    with conn.transaction(), conn.cursor() as cur:
        if schema:
            cur.execute(schema_sql().encode())
        for table, (columns, rows) in data.items():
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                block: list[str] = []
                size = 0
                for line in _copy_lines(rows):
                    block.append(line)
                    size += len(line)
                    if size >= 1 << 20:
                        copy.write("".join(block))
                        block, size = [], 0
                if block:
                    copy.write("".join(block))


def _script(data: dict[str, tuple[str, Rows]], schema: bool) -> str:
    parts = ["\\set ON_ERROR_STOP on\nBEGIN;\n"]
    if schema:
        parts.append(schema_sql())
    for table, (columns, rows) in data.items():
        parts.append(f"COPY {table} ({columns}) FROM stdin;\n")
        parts.extend(_copy_lines(rows))
        parts.append("\\.\n")
    parts.append("COMMIT;\n")
    return "".join(parts)


_DATA_FILES = {
    # folder: (share of the megabytes, files)
    "carousel": (0.2, ("carousel1/index.html", "carousel1/app.js", "carousel1/logo.png",
                       "carousel2/index.html", "carousel2/ait.xml")),
    "av": (0.5, ("default.ts", "clip0.ts", "clip1.ts", "clip2.ts")),
    "ts": (0.3, ("ssu_update.ts", "remux_input.ts")),
}  # fmt: skip


def write_data_files(root: Path, megabytes: int) -> dict[str, int]:
    """Write sample ``carousel/``, ``av/`` and ``ts/`` files, ``megabytes`` MiB in all.

    Content depends only on each file's name and size; with 0 every file is a few hundred bytes.
    Returns the size of each file written, by path relative to ``root``.
    """
    block = random.Random(20250205).randbytes(1 << 20)  # noqa: S311 (sample data)
    sizes: dict[str, int] = {}
    for folder, (share, names) in _DATA_FILES.items():
        budget = int(megabytes * share * (1 << 20))
        for index, name in enumerate(names):
            path = root / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            header = f"Icareus Playout lab sample {folder}/{name}\n".encode()
            size = max(len(header) + 256, budget // len(names))
            with path.open("wb") as out:
                out.write(header)
                left = size - len(header)
                offset = (index * 4099) % len(block)
                while left > 0:
                    chunk = block[offset : offset + left]
                    out.write(chunk)
                    left -= len(chunk)
                    offset = 0
            sizes[f"{folder}/{name}"] = size
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pmc.lab.playout.seed", description=__doc__)
    parser.add_argument("--dsn", default="dbname=playout user=postgres host=/run/postgresql")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--server", default="main", help="server name for per-server rows")
    parser.add_argument("--schema", action="store_true", help="create the tables first")
    parser.add_argument("--data-dir", type=Path, help="also write sample files here")
    parser.add_argument("--data-mb", type=int, default=0)
    args = parser.parse_args(argv)
    counts = seed(args.dsn, args.rows, server=args.server, with_schema=args.schema)
    print(f"seeded {sum(counts.values())} rows in {len(counts)} tables")
    if args.data_dir is not None:
        sizes = write_data_files(args.data_dir, args.data_mb)
        print(f"wrote {len(sizes)} files, {sum(sizes.values())} bytes, under {args.data_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
