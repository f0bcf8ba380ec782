"""The lab's stand-in for the Playout API (the Web Console's back end, port 8081).

``python -m pmc.lab.api_standin [--config-dir DIR] [--log FILE] [--port N] [--dsn DSN]``

At start it reads ``spoolers.json`` and logs as the seed shows (``spoolers file``, ``spoolers``,
``ipAddresses``, ``Running in production mode.``, ``Server has started on port 8081``); a file
that is not valid JSON (or not a list of ``{name, address, type}``) is logged as an ``error:``
line with the reason and its line and column, and the process exits 1 — so ``systemctl restart
playout-api.service`` fails as on a real server.

JSON endpoints, acting on the server's own ``playout`` database:
``GET /api/status``, ``GET /api/services``, ``POST /api/services`` (``{service_id, name,
provider}``), ``DELETE /api/services/<id>``.

Copy config from the Web Console ("Synchronize all servers", the seed's "Using Copy Config from
Playout Webconsole"): ``POST /api/replication/start`` runs ``copy_config.sh`` with the two
addresses of ``replicate.conf`` (as read when the API started, so edits need an API restart as
the seed says) in their order, in the background; every output line goes to the API log
(``info: copy config: …``) and the result too. It answers 202 with the addresses and pid, 409
while a copy it started still runs, 400 when replicate.conf has fewer than two addresses.
``GET /api/replication/status``: running, primary, secondary, pid, started, finished,
exit_code, the last output lines and the database's replication status.

Web redundancy: the server's own spoolers entry is the one whose address is one of the
machine's addresses. If its type is ``master``, every change it receives from a client is
forwarded to the other servers of spoolers.json (same request, with the header
``X-Playout-Replicated: 1`` so that the receiver does not forward it again); a ``spooler``
forwards nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

import psycopg

from pmc.lab.api_config import (
    Spooler,
    SpoolersError,
    load_spoolers,
    machine_addresses,
    read_replicate,
)

REPLICATED_HEADER = "X-Playout-Replicated"
DEFAULT_DSN = "dbname=playout user=postgres host=/run/postgresql connect_timeout=5"
_SERVICE_PATH = re.compile(r"^/api/services/(\d+)$")
COPY_CONFIG = "/opt/playout/bin/copy_config.sh"
OUTPUT_LINES = 200  # output lines kept for GET /api/replication/status


@dataclass
class CopyRun:
    """One copy config started from the API."""

    primary: str
    secondary: str
    process: subprocess.Popen[str]
    started: str
    finished: str | None = None
    exit_code: int | None = None
    output: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.exit_code is None


@dataclass
class Api:
    spoolers_file: Path
    spoolers_raw: list[dict[str, Any]]
    spoolers: list[Spooler]
    own: Spooler | None
    replicate: list[str]
    dsn: str
    peer_port: int
    log_file: TextIO
    copy_config: str = COPY_CONFIG
    copy_run: CopyRun | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    run_lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, level: str, message: str) -> None:
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        with self.lock:
            self.log_file.write(f"{stamp} {level}: {message}\n")
            self.log_file.flush()

    @property
    def is_master(self) -> bool:
        return self.own is not None and self.own.type == "master"

    def peers(self) -> list[Spooler]:
        return [s for s in self.spoolers if self.own is None or s.address != self.own.address]

    def start_copy(self) -> tuple[int, dict[str, Any]]:
        """Start copy_config.sh with replicate.conf's two addresses: (HTTP status, body)."""
        if len(self.replicate) < 2:
            found = ", ".join(self.replicate) or "no address"
            return 400, {
                "error": f"replicate.conf has {len(self.replicate)} address"
                f"{'es' if len(self.replicate) != 1 else ''} ({found}); copy config needs two,"
                " this server's eth2 address then the other server's",
                "hint": "Edit /opt/playout/api/config/replicate.conf, then restart the Playout"
                " API (systemctl restart playout-api.service).",
            }
        primary, secondary = self.replicate[0], self.replicate[1]
        with self.run_lock:
            if self.copy_run is not None and self.copy_run.running:
                run = self.copy_run
                return 409, {
                    "error": f"copy config is already running (pid {run.process.pid}, "
                    f"{run.primary} to {run.secondary}, started {run.started})",
                }
            try:
                process = subprocess.Popen(
                    [self.copy_config, primary, secondary],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    errors="replace",
                )
            except OSError as exc:
                self.log("error", f"copy config cannot start: {self.copy_config}: {exc.strerror}")
                return 500, {"error": f"cannot run {self.copy_config}: {exc.strerror}"}
            run = CopyRun(primary, secondary, process, now_stamp())
            self.copy_run = run
        self.log("info", f"copy config started: {self.copy_config} {primary} {secondary}")
        threading.Thread(target=self._follow, args=(run,), daemon=True).start()
        return 202, {"started": True, "primary": primary, "secondary": secondary,
                     "pid": process.pid}  # fmt: skip

    def _follow(self, run: CopyRun) -> None:
        assert run.process.stdout is not None
        for raw in run.process.stdout:
            line = raw.rstrip("\n")
            run.output.append(line)
            del run.output[:-OUTPUT_LINES]
            self.log("info", f"copy config: {line}")
        code = run.process.wait()
        run.finished = now_stamp()
        run.exit_code = code
        if code == 0:
            self.log("info", "copy config finished successfully")
        else:
            self.log("error", f"copy config failed: {self.copy_config} returned {code}")

    def copy_status(self) -> dict[str, Any]:
        run = self.copy_run
        status: dict[str, Any] = {"running": False, "replicate": self.replicate}
        if run is not None:
            status.update(
                running=run.running, primary=run.primary, secondary=run.secondary,
                pid=run.process.pid, started=run.started, finished=run.finished,
                exit_code=run.exit_code, output=list(run.output),
            )  # fmt: skip
        try:
            with psycopg.connect(self.dsn) as conn:
                row = conn.execute("SELECT status FROM replication_status WHERE id = 1").fetchone()
            status["replication"] = row[0] if row else None
        except psycopg.Error as exc:
            status["replication"] = f"error: {str(exc).strip()}"
        return status


def now_stamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class Handler(BaseHTTPRequestHandler):
    api: Api
    server_version = "PlayoutAPI/lab"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw or b"null")

    def do_GET(self) -> None:
        api = self.api
        if self.path == "/api/status":
            status: dict[str, Any] = {
                "name": api.own.name if api.own else None,
                "address": api.own.address if api.own else None,
                "type": api.own.type if api.own else None,
                "spoolers": api.spoolers_raw,
                "replicate": api.replicate,
            }
            try:
                with psycopg.connect(api.dsn) as conn:
                    row = conn.execute(
                        "SELECT count(*), (SELECT status FROM replication_status WHERE id = 1) "
                        "FROM dvb_services"
                    ).fetchone()
                assert row is not None
                status.update(database="ok", services=row[0], replication=row[1])
            except psycopg.Error as exc:
                status.update(database=f"error: {str(exc).strip()}")
            self._send(200, status)
        elif self.path == "/api/services":
            try:
                with psycopg.connect(api.dsn) as conn:
                    rows = conn.execute(
                        "SELECT service_id, name, provider FROM dvb_services ORDER BY service_id"
                    ).fetchall()
            except psycopg.Error as exc:
                self._db_error(exc)
                return
            self._send(200, [{"service_id": r[0], "name": r[1], "provider": r[2]} for r in rows])
        elif self.path == "/api/replication/status":
            self._send(200, api.copy_status())
        else:
            self._send(404, {"error": f"no such resource: {self.path}"})

    def do_POST(self) -> None:
        if self.path == "/api/replication/start":
            self._send(*self.api.start_copy())
            return
        if self.path != "/api/services":
            self._send(404, {"error": f"no such resource: {self.path}"})
            return
        try:
            body = self._body()
        except (ValueError, UnicodeDecodeError) as exc:
            self._send(400, {"error": f"request body is not JSON: {exc}"})
            return
        if not (
            isinstance(body, dict)
            and isinstance(body.get("service_id"), int)
            and 0 <= body["service_id"] <= 65535
            and isinstance(body.get("name"), str)
            and body["name"].strip()
            and isinstance(body.get("provider", ""), str)
        ):
            self._send(400, {"error": "expected {service_id: 0–65535, name: text, provider: text}"})
            return
        service = {
            "service_id": body["service_id"],
            "name": body["name"],
            "provider": body.get("provider", ""),
        }
        try:
            with psycopg.connect(self.api.dsn) as conn:
                conn.execute(
                    "INSERT INTO dvb_services (service_id, name, provider) VALUES (%s, %s, %s)",
                    (service["service_id"], service["name"], service["provider"]),
                )
                conn.execute(
                    "INSERT INTO network_services (network, service_id) "
                    "SELECT id, %s FROM networks WHERE kind = 'actual' ORDER BY id LIMIT 1",
                    (service["service_id"],),
                )
        except psycopg.errors.UniqueViolation:
            self._send(409, {"error": f"service {service['service_id']} already exists"})
            return
        except psycopg.Error as exc:
            self._db_error(exc)
            return
        self.api.log("info", f"added DVB service {service['service_id']} {service['name']!r}")
        service["replicated"] = self._forward("POST", "/api/services", service)
        self._send(201, service)

    def do_DELETE(self) -> None:
        match = _SERVICE_PATH.match(self.path)
        if not match:
            self._send(404, {"error": f"no such resource: {self.path}"})
            return
        service_id = int(match.group(1))
        try:
            with psycopg.connect(self.api.dsn) as conn:
                for statement in (
                    "DELETE FROM playlist_items WHERE playlist IN "
                    "(SELECT id FROM playlists WHERE service_id = %(id)s)",
                    "DELETE FROM playlists WHERE service_id = %(id)s",
                    "DELETE FROM eit_event WHERE service_id = %(id)s",
                    "DELETE FROM descriptors WHERE service_id = %(id)s",
                    "DELETE FROM cas_settings WHERE service_id = %(id)s",
                    "DELETE FROM network_services WHERE service_id = %(id)s",
                    "UPDATE carousels SET service_id = NULL WHERE service_id = %(id)s",
                ):
                    conn.execute(statement, {"id": service_id})
                deleted = conn.execute(
                    "DELETE FROM dvb_services WHERE service_id = %s", (service_id,)
                ).rowcount
        except psycopg.Error as exc:
            self._db_error(exc)
            return
        if not deleted:
            self._send(404, {"error": f"no service {service_id}"})
            return
        self.api.log("info", f"removed DVB service {service_id}")
        replicated = self._forward("DELETE", self.path, None)
        self._send(200, {"service_id": service_id, "replicated": replicated})

    def _db_error(self, exc: psycopg.Error) -> None:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.api.log("error", f"database: {reason}")
        self._send(503, {"error": f"database: {reason}"})

    def _forward(self, method: str, path: str, body: Any) -> list[dict[str, Any]]:
        """As a master, send a client's change to the other servers of spoolers.json."""
        api = self.api
        if self.headers.get(REPLICATED_HEADER) or not api.is_master:
            return []
        results: list[dict[str, Any]] = []
        for peer in api.peers():
            result: dict[str, Any] = {"name": peer.name, "address": peer.address}
            try:
                conn = http.client.HTTPConnection(peer.address, api.peer_port, timeout=10)
                payload = json.dumps(body).encode() if body is not None else None
                headers = {REPLICATED_HEADER: "1", "Content-Type": "application/json"}
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                response.read()
                conn.close()
                result["status"] = response.status
                api.log(
                    "info" if response.status < 300 else "error",
                    f"replicated {method} {path} to {peer.name} ({peer.address}): "
                    f"{response.status} {response.reason}",
                )
            except OSError as exc:
                result["error"] = str(exc)
                api.log(
                    "error",
                    f"replicating {method} {path} to {peer.name} ({peer.address}) failed: {exc}",
                )
            results.append(result)
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pmc.lab.api_standin", description=__doc__)
    parser.add_argument("--config-dir", type=Path, default=Path("/opt/playout/api/config"))
    parser.add_argument("--log", type=Path, default=Path("/var/log/playout-api.log"))
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--bind", default="0.0.0.0", help="address to listen on")  # noqa: S104 (inside a lab server)
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument(
        "--peer-port", type=int, help="port of the other servers' APIs (default: --port)"
    )
    parser.add_argument("--copy-config", default=COPY_CONFIG, help="copy config script to run")
    parser.add_argument(
        "--own-address",
        action="append",
        help="this server's address (default: the machine's addresses); may repeat",
    )
    args = parser.parse_args(argv)

    args.log.parent.mkdir(parents=True, exist_ok=True)
    log_file = args.log.open("a", encoding="utf-8")
    spoolers_file = args.config_dir / "spoolers.json"

    def early(level: str, message: str) -> None:
        log_file.write(f"{now_stamp()} {level}: {message}\n")
        log_file.flush()

    early("info", f"spoolers file: {spoolers_file}")
    try:
        raw, spoolers = load_spoolers(spoolers_file)
    except SpoolersError as exc:
        early("error", str(exc))
        early("error", "Playout API cannot start: fix spoolers.json and restart the API")
        print(f"playout-api: {exc}", file=sys.stderr)
        return 1
    early("info", "spoolers: " + json.dumps(raw, separators=(",", ":"), ensure_ascii=False))
    early(
        "info", "ipAddresses: " + json.dumps([s.address for s in spoolers], separators=(",", ":"))
    )
    mine = set(args.own_address) if args.own_address else machine_addresses()
    own = next((s for s in spoolers if s.address in mine), None)
    if own is None:
        early("warn", "none of the spoolers is this server: changes are not forwarded")
    api = Api(
        spoolers_file=spoolers_file,
        spoolers_raw=raw,
        spoolers=spoolers,
        own=own,
        replicate=read_replicate(args.config_dir / "replicate.conf"),
        dsn=args.dsn,
        peer_port=args.peer_port or args.port,
        log_file=log_file,
        copy_config=args.copy_config,
    )
    api.log("info", "Running in production mode.")
    handler = type("BoundHandler", (Handler,), {"api": api})
    try:
        server = ThreadingHTTPServer((args.bind, args.port), handler)
    except OSError as exc:
        api.log("error", f"cannot listen on port {args.port}: {exc.strerror}")
        return 1
    server.daemon_threads = True
    api.log("info", f"Server has started on port {args.port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
