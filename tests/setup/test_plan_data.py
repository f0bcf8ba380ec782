"""Plan and report objects as the operator reads them: masked arguments, notes, summaries."""

from __future__ import annotations

import json

from pmc.plan import NoChange, Plan, Step, StepKind, render_text
from pmc.redact import Masked
from pmc.setup.apply import ApplyReport


def test_masked_argument_never_shown() -> None:
    step = Step(
        StepKind.RUN,
        "main",
        "set a password",
        "because",
        argv=("chpasswd", Masked("s3cret-pw")),
        undo=(("true", Masked("s3cret-pw")),),
    )
    plan = Plan("c", "database", steps=(step,), notes=("mind the gap",))
    text = render_text(plan)
    assert "s3cret-pw" not in text and "s3cret-pw" not in str(plan.as_data())
    assert "run: chpasswd ***" in text
    assert text.endswith("Notes:\n   ! mind the gap\n")
    assert plan.as_data()["steps"] == [
        {
            "kind": "run",
            "server": "main",
            "title": "set a password",
            "reason": "because",
            "argv": ["chpasswd", "***"],
            "undo": [["true", "***"]],
        }
    ]


def test_plan_servers_fingerprints_and_no_diff_steps() -> None:
    steps = (
        Step(StepKind.RESTART, "backup", "restart x", "r", service="x"),
        Step(StepKind.RUN, "main", "run", "r", argv=("true",)),
        Step(StepKind.RESTART, "backup", "restart y", "r", service="y"),
    )
    plan = Plan("c", "web-one-way", steps=steps, fingerprints=(("main", "sha256:1"),))
    assert plan.servers == ("backup", "main")
    assert plan.fingerprint_of("main") == "sha256:1" and plan.fingerprint_of("x") is None
    assert [s.diff() for s in steps] == ["", "", ""]
    empty = Plan("c", "web-one-way", unchanged=(NoChange("main", "files", "all is well"),))
    assert render_text(empty, diffs=False) == (
        "Plan for cluster c (web-one-way):\n  Nothing to change.\nAlready right:\n"
        "   - [main] files: no change because all is well\n"
    )


def test_apply_report_sentences() -> None:
    report = ApplyReport("studio")
    assert report.ok and str(report) == "0 steps applied to cluster studio"
    assert report.rollback_summary() == "Nothing had been changed yet."
    report.failed_step, report.error = "[main] restart sshd", "sshd is failed after restart"
    report.rolled_back.append("main: restored /etc/ssh/sshd_config")
    report.rollback_problems.append("main: sshd did not come back: timeout")
    assert str(report) == (
        "step failed: [main] restart sshd: sshd is failed after restart. Rolled back: main:"
        " restored /etc/ssh/sshd_config. COULD NOT roll back: main: sshd did not come back:"
        " timeout."
    )


def test_a_plan_over_bytes_that_are_not_utf8_renders_and_keeps_them() -> None:
    """A Latin-1 byte in sshd_config (kept as a surrogate escape by observe): the plan renders
    as text, JSON and diff (the byte shown as \\xf3), and the text it writes is the same bytes
    but for the changed line."""
    raw = b"# G\xf3mez's server\nPermitRootLogin no\n"
    before = raw.decode("utf-8", "surrogateescape")
    after = before.replace("PermitRootLogin no", "PermitRootLogin prohibit-password")
    step = Step(
        StepKind.WRITE_FILE, "main", "edit sshd_config", "r", path="/x", before=before, after=after
    )
    note = "main: the Match block at /x:9 sets PermitRootLogin G\udcf3mez"  # a value read
    plan = Plan("c", "database", steps=(step,), notes=(note,))
    text = render_text(plan)
    text.encode("utf-8")  # printable on any UTF-8 terminal: no lone surrogates
    assert " # G\\xf3mez's server" in text
    assert "sets PermitRootLogin G\\xf3mez" in text
    assert "+PermitRootLogin prohibit-password" in step.diff()
    json.dumps(plan.as_data(), ensure_ascii=False).encode("utf-8")
    assert (step.after or "").encode("utf-8", "surrogateescape") == raw.replace(
        b"PermitRootLogin no", b"PermitRootLogin prohibit-password"
    )
