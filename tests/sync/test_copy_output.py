"""Golden tests: the seed's own copy_config.sh outputs, read into stages and failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmc.sync.copy_output import (
    STAGE_KEYS,
    CopyConfigProgress,
    FailureKind,
    parse_output,
    split_messages,
)

GOLDEN = Path(__file__).parent / "golden"


def lines(name: str) -> list[str]:
    return (GOLDEN / name).read_text(encoding="utf-8").splitlines()


def test_success_walks_every_stage_in_order() -> None:
    progress = parse_output(lines("success.txt"), 0)
    assert progress.succeeded
    assert progress.failure is None
    assert progress.stages == list(STAGE_KEYS)
    assert progress.fraction == 1.0


def test_success_progress_grows_line_by_line() -> None:
    progress = CopyConfigProgress()
    seen = []
    for line in lines("success.txt"):
        progress.feed(line)
        seen.append(progress.fraction)
    assert seen == sorted(seen)
    assert 0 < seen[0] < seen[len(seen) // 2] < seen[-1] == 1.0


def test_two_messages_on_one_line_are_both_read() -> None:
    line = (
        "/opt/playout/bin/copy_config.sh: Stop playout services on secondary... "
        "/opt/playout/bin/copy_config.sh: Start slon process for Primary"
    )
    assert split_messages(line) == [
        ("copy_config.sh", "Stop playout services on secondary..."),
        ("copy_config.sh", "Start slon process for Primary"),
    ]
    progress = CopyConfigProgress()
    started = progress.feed(line)
    assert [s.key for s in started] == ["stop-services", "slon-primary"]


def test_failure_127_is_the_failover_check() -> None:
    progress = parse_output(lines("failure_127.txt"), 1)
    assert not progress.succeeded
    assert progress.failure is not None
    assert progress.failure.kind is FailureKind.FAILOVER_NOT_CHECKED
    assert progress.failure.returned == 127
    assert "check_failover.sh" in progress.failure.explain()
    assert progress.warnings == ["warning: no managers specified"]
    assert progress.stages == ["in-progress-check", "started"]


def test_failure_255_is_the_secondary_database() -> None:
    progress = parse_output(lines("failure_255.txt"), 1)
    assert progress.failure is not None
    assert progress.failure.kind is FailureKind.SECONDARY_DATABASE
    assert progress.failure.returned == 255
    assert "pg_hba.conf" in progress.failure.explain()


def test_already_in_progress() -> None:
    progress = parse_output(lines("in_progress.txt"), 1)
    assert progress.failure is not None
    assert progress.failure.kind is FailureKind.ALREADY_IN_PROGRESS
    assert progress.failure.line == "Skip replication: replication is already in progress"


def test_another_failed_step_is_named() -> None:
    out = [
        "/opt/playout/bin/copy_config.sh: Copying av files to secondary... returned 2",
        "/opt/playout/bin/copy_config.sh: Failure, setting replication status to stopped.",
    ]
    progress = parse_output(out, 1)
    assert progress.failure is not None
    assert progress.failure.kind is FailureKind.STEP_FAILED
    assert progress.failure.step == "Copying av files to secondary"
    assert progress.failure.returned == 2


def test_silent_non_zero_exit_is_unknown() -> None:
    progress = parse_output([], 2)
    assert progress.failure is not None
    assert progress.failure.kind is FailureKind.UNKNOWN
    assert progress.failure.returned == 2


@pytest.mark.parametrize("cut", range(0, 36, 5))
def test_a_cut_success_output_never_claims_success(cut: int) -> None:
    progress = parse_output(lines("success.txt")[:cut], 0)
    assert not progress.succeeded
    assert progress.failure is not None


@given(st.lists(st.text(max_size=80), max_size=30))
def test_any_output_is_read_without_error(out: list[str]) -> None:
    progress = parse_output(out, 1)
    assert not progress.succeeded
    assert progress.failure is not None


def test_a_return_code_thousands_of_digits_long_is_no_return_code() -> None:
    """The copy config log (read by every status refresh) with a garbled "… returned N":
    before, a number past what int() reads from text raised ValueError out of the refresh."""
    garbled = [
        line.replace("returned 127", "returned " + "1" * 5000) for line in lines("failure_127.txt")
    ]
    progress = parse_output(garbled, 1)
    assert not progress.succeeded and progress.failure is not None
    assert progress.failure.kind is FailureKind.UNKNOWN  # its step unknown: the exit status
