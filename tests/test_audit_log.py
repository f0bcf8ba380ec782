"""The servers' audit log lines (pure): one ASCII JSON line per entry that reads back, never a
registered secret, and lines that are not entries are skipped by readers."""

from __future__ import annotations

import json

from pmc import redact
from pmc.audit_log import AuditEntry
from pmc.audit_trail import FileChange


def entry(**changes: object) -> AuditEntry:
    fields: dict[str, object] = {
        "time": 1_700_000_000.25, "cluster": "studio", "server": "backup", "user": "alice",
        "desktop": "desk-a", "version": "1.2.3", "job_id": "abc123", "job_kind": "sync",
        "job_title": "Synchronize studio: main → backup (delta)",
        "action": "sync backup from main (delta)", "result": "succeeded",
        "message": "copied 2 rows", "files": (FileChange("/etc/x", None, "ab" * 32),),
        "facts": {"tables": [{"table": "dvb_services", "rows_before": 4, "rows_after": 5}]},
    }  # fmt: skip
    fields.update(changes)
    return AuditEntry(**fields)  # type: ignore[arg-type]


def test_an_entry_is_one_ascii_line_that_reads_back() -> None:
    line = entry(message="Käyttäjä lisäsi palvelun").line()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert line.decode("ascii")  # non-ASCII text is escaped: one byte per character
    data = json.loads(line)
    assert data["time"] == "2023-11-14T22:13:20Z" and data["v"] == 1
    assert data["job"] == {"id": "abc123", "kind": "sync", "title": entry().job_title}
    assert data["files"] == [{"path": "/etc/x", "before": None, "after": "ab" * 32}]
    back = AuditEntry.parse(line.decode())
    assert back == entry(message="Käyttäjä lisäsi palvelun")


def test_an_entry_never_holds_a_registered_secret() -> None:
    redact.register("Tr0ub4dor&3-root")
    try:
        line = entry(message="login as root with Tr0ub4dor&3-root failed").line()
    finally:
        redact.forget("Tr0ub4dor&3-root")
    assert b"Tr0ub4dor" not in line
    assert AuditEntry.parse(line.decode()).message == "login as root with *** failed"  # type: ignore[union-attr]


def test_a_secret_that_json_escapes_is_masked_too() -> None:
    """A quote, a backslash and a non-ASCII letter are escaped in the line: the secret is
    masked in each text before it is encoded, wherever it is (message, a noted fact)."""
    secret = 'pä"ss\\w0rd'
    redact.register(secret)
    try:
        line = entry(
            message=f"login with {secret} refused", facts={"discarded": f"x {secret} y"}
        ).line()
    finally:
        redact.forget(secret)
    back = AuditEntry.parse(line.decode())
    assert back is not None
    assert (back.message, back.facts["discarded"]) == ("login with *** refused", "x *** y")
    for leak in (secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]):
        assert leak.encode("utf-8") not in line


def test_lines_that_are_not_entries_are_skipped() -> None:
    for line in ("", "not json", "[1, 2]", '{"v": 1}', '{"epoch": "x", "job": {}}'):
        assert AuditEntry.parse(line) is None


def test_a_line_a_colleague_or_the_server_mangled_is_skipped_not_raised() -> None:
    # the log is on the server: any line may be anything, and history must still open
    good = json.loads(entry().line())
    assert AuditEntry.parse(json.dumps(good)) is not None
    deep = '{"job": ' + "[" * 100_000 + "]" * 100_000 + "}"  # RecursionError in json
    assert AuditEntry.parse(deep) is None
    for epoch in ("NaN", "Infinity", "1e300", "true", '"1764000000"', "-5"):
        line = json.dumps(good).replace(f'"epoch": {good["epoch"]}', f'"epoch": {epoch}')
        assert line != json.dumps(good)
        assert AuditEntry.parse(line) is None, epoch  # a time no clock or calendar shows
