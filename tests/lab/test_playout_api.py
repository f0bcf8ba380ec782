"""The Playout API stand-in: start-up log, JSON endpoints, forwarding as a master."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pmc.lab.playout import seed
from tests.lab import playout_pg
from tests.wait import wait_until

pytestmark = pytest.mark.skipif(bool(playout_pg.available()), reason=str(playout_pg.available()))
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
PORT = 18081


@pytest.fixture(scope="module")
def dbs() -> Iterator[tuple[playout_pg.Instance, playout_pg.Instance]]:
    first, _ = playout_pg.address_pair()
    main = playout_pg.start(first.rsplit(".", 1)[0] + ".11")
    backup = playout_pg.start(first.rsplit(".", 1)[0] + ".12")
    try:
        seed.seed(main.dsn, 100, with_schema=True)
        seed.seed(backup.dsn, 100, with_schema=True, server="backup")
        yield main, backup
    finally:
        main.stop()
        backup.stop()


class Api:
    def __init__(self, tmp: Path, name: str, address: str, pg: playout_pg.Instance) -> None:
        self.config = tmp / name / "config"
        self.config.mkdir(parents=True)
        self.log = tmp / name / "playout-api.log"
        self.address = address
        self.pg = pg
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> int | None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pmc.lab.api_standin", "--config-dir", str(self.config),
             "--log", str(self.log), "--port", str(PORT), "--bind", self.address,
             "--own-address", self.address, "--dsn", self.pg.dsn],
        )  # fmt: skip
        proc, log = self.proc, self.log

        def started_or_ended() -> bool:
            if proc.poll() is not None:
                return True
            return wait and "Server has started" in log.read_text()

        wait_until(started_or_ended, timeout=60, ignoring=(FileNotFoundError,),
                   what="the API to start" if wait else "the API to exit")  # fmt: skip
        return proc.returncode if proc.poll() is not None else None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://{self.address}:{PORT}{path}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture
def apis(
    dbs: tuple[playout_pg.Instance, playout_pg.Instance], tmp_path: Path
) -> Iterator[tuple[Api, Api]]:
    main_pg, backup_pg = dbs
    for pg in dbs:
        pg.psql("DELETE FROM network_services WHERE service_id = 5; "
                "DELETE FROM dvb_services WHERE service_id = 5")  # fmt: skip
    main = Api(tmp_path, "main", main_pg.address, main_pg)
    backup = Api(tmp_path, "backup", backup_pg.address, backup_pg)
    yield main, backup
    main.stop()
    backup.stop()


def _spoolers(api: Api, *entries: tuple[str, str, str]) -> None:
    text = ",\n".join(f'  {{"name":"{n}","address":"{a}","type":"{t}"}}' for n, a, t in entries)
    (api.config / "spoolers.json").write_text(f"[\n{text}\n]\n")


def test_start_up_log_as_the_seed_shows(apis: tuple[Api, Api]) -> None:
    main, backup = apis
    _spoolers(main, ("main", main.address, "master"), ("backup", backup.address, "spooler"))
    assert main.start() is None
    lines = main.log.read_text().splitlines()
    bodies = [re.sub(f"^{STAMP} ", "", line) for line in lines]
    assert all(re.match(f"^{STAMP} ", line) for line in lines)
    assert bodies == [
        f"info: spoolers file: {main.config}/spoolers.json",
        f'info: spoolers: [{{"name":"main","address":"{main.address}","type":"master"}},'
        f'{{"name":"backup","address":"{backup.address}","type":"spooler"}}]',
        f'info: ipAddresses: ["{main.address}","{backup.address}"]',
        "info: Running in production mode.",
        f"info: Server has started on port {PORT}",
    ]
    status, body = main.call("GET", "/api/status")
    assert status == 200
    assert (body["name"], body["type"], body["database"]) == ("main", "master", "ok")


def test_master_forwards_changes_and_spooler_does_not(apis: tuple[Api, Api]) -> None:
    main, backup = apis
    _spoolers(main, ("main", main.address, "master"), ("backup", backup.address, "spooler"))
    _spoolers(backup, ("backup", backup.address, "spooler"), ("main", main.address, "master"))
    main.start()
    backup.start()
    status, body = main.call(
        "POST", "/api/services", {"service_id": 5, "name": "Icareus 5", "provider": "Icareus"}
    )
    assert status == 201
    assert body["replicated"] == [{"name": "backup", "address": backup.address, "status": 201}]
    assert backup.pg.psql("SELECT name, provider FROM dvb_services WHERE service_id = 5") == (
        "Icareus 5|Icareus"
    )
    status, services = backup.call("GET", "/api/services")
    assert {"service_id": 5, "name": "Icareus 5", "provider": "Icareus"} in services
    assert "replicated POST /api/services to backup" in main.log.read_text()
    # a duplicate is refused and changes nothing
    assert main.call("POST", "/api/services", {"service_id": 5, "name": "x"})[0] == 409
    assert main.call("POST", "/api/services", {"service_id": "five"})[0] == 400
    # the backup as spooler changes only itself
    status, body = backup.call("DELETE", "/api/services/5")
    assert (status, body["replicated"]) == (200, [])
    assert main.pg.psql("SELECT count(*) FROM dvb_services WHERE service_id = 5") == "1"
    assert main.call("DELETE", "/api/services/5")[0] == 200
    assert main.call("DELETE", "/api/services/5")[0] == 404


def test_fresh_master_alone_forwards_nothing(apis: tuple[Api, Api]) -> None:
    main, _ = apis
    (main.config / "spoolers.json").write_text(
        f'[{{"name":"master","address":"{main.address}","type":"master"}}]\n'
    )
    main.start()
    status, body = main.call("POST", "/api/services", {"service_id": 5, "name": "Icareus 5"})
    assert (status, body["replicated"]) == (201, [])


def test_unreachable_peer_is_logged(apis: tuple[Api, Api]) -> None:
    main, backup = apis
    _spoolers(main, ("main", main.address, "master"), ("backup", backup.address, "spooler"))
    main.start()  # backup's API is not running
    status, body = main.call("POST", "/api/services", {"service_id": 5, "name": "Icareus 5"})
    assert status == 201 and "error" in body["replicated"][0]
    assert re.search(
        f"{STAMP} error: replicating POST /api/services to backup .* failed", main.log.read_text()
    )


def test_malformed_spoolers_json_keeps_the_api_down(apis: tuple[Api, Api]) -> None:
    main, backup = apis
    (main.config / "spoolers.json").write_text(
        "[\n"
        f'  {{"name":"main","address":"{main.address}","type":"master"}}\n'
        f'  {{"name":"backup","address":"{backup.address}","type":"spooler"}}\n'
        "]\n"
    )  # the comma between the two objects is missing
    assert main.start(wait=False) == 1
    log = main.log.read_text()
    assert re.search(
        f"{STAMP} error: spoolers file .*spoolers.json is not valid JSON: "
        "Expecting ',' delimiter at line 3 column 3",
        log,
    )
    assert "Server has started" not in log
    (main.config / "spoolers.json").write_text('[{"name":"main","address":"x","type":"boss"}]')
    assert main.start(wait=False) == 1
    assert 'has type \'boss\', expected "master" or "spooler"' in main.log.read_text()
