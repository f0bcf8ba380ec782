"""PMC's log file: secrets never reach it, paramiko's disconnect tracebacks stay out."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from pmc import redact
from pmc.cli import main
from pmc.log import configure_logging

SECRET = "Log-Secret-8830-xq"


@pytest.fixture
def clean_logging() -> Iterator[None]:
    """Leave the logging configuration as the test found it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    loggers = {n: logging.getLogger(n).level for n in ("pmc", "paramiko", "paramiko.transport")}
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    for name, old in loggers.items():
        logging.getLogger(name).setLevel(old)
    redact.forget(SECRET)


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_a_registered_secret_never_reaches_the_log_file(
    tmp_path: Path, clean_logging: None
) -> None:
    path = configure_logging(log_file=tmp_path / "logs" / "pmc.log", stderr=False)
    redact.register(SECRET)
    log = logging.getLogger("pmc.remote")
    log.info("logging in with %s", SECRET)
    log.warning("password was " + SECRET)
    log.info("as an argument: %r", {"password": SECRET})
    try:
        try:
            raise OSError(f"inner failure with {SECRET}")
        except OSError as inner:
            raise ValueError(f"the server said {SECRET!r}") from inner
    except ValueError:
        log.exception("login failed")
    logging.getLogger("paramiko.transport").error("Exception (client): auth %s", SECRET)
    logging.getLogger("some.library").warning("a library echoing %s", SECRET)
    log.info("stack", stack_info=True)
    _flush()
    text = path.read_text()
    assert SECRET not in text
    assert "logging in with ***" in text
    assert "ValueError: the server said '***'" in text
    assert "OSError: inner failure with ***" in text
    assert "a library echoing ***" in text
    assert (path.stat().st_mode & 0o777) == 0o600


def test_paramiko_disconnects_are_one_warning_without_traceback(
    tmp_path: Path, clean_logging: None
) -> None:
    path = configure_logging(log_file=tmp_path / "pmc.log", stderr=False)
    transport = logging.getLogger("paramiko.transport")
    transport.debug("starting thread (client mode)")  # below WARNING: not logged
    try:
        raise paramiko.SSHException("Error reading SSH protocol banner")
    except paramiko.SSHException as exc:
        # exactly what paramiko's Transport.run does on a dropped link
        transport.error(f"Exception (client): {exc}")
        for line in paramiko.util.tb_strings():
            transport.error(line)
    transport.error("Socket exception: Connection reset by peer (104)")
    try:
        raise RuntimeError("a real bug")
    except RuntimeError:
        transport.error("Unknown exception: a real bug")
        for line in paramiko.util.tb_strings():
            transport.error(line)
    _flush()
    lines = path.read_text().splitlines()
    assert not any("starting thread" in line for line in lines)
    banner = [line for line in lines if "Error reading SSH protocol banner" in line]
    assert len(banner) == 1 and " WARNING " in banner[0]
    assert any("Socket exception" in line and " WARNING " in line for line in lines)
    # the disconnect's traceback is gone; the bug keeps its own
    assert sum("Traceback" in line for line in lines) == 1
    assert any("RuntimeError: a real bug" in line for line in lines)
    assert not any("SSHException" in line for line in lines)


def test_the_cli_logs_to_the_log_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_logging: None
) -> None:
    monkeypatch.setenv("PMC_LOG_DIR", str(tmp_path / "log"))
    inventory = tmp_path / "inventory.toml"
    inventory.write_text("")
    main(["--verbose", "--inventory", str(inventory), "inventory", "validate", str(inventory)])
    logging.getLogger("pmc.test").debug("after the command")
    _flush()
    assert "after the command" in (tmp_path / "log" / "pmc.log").read_text()


def test_a_chained_paramiko_traceback_is_kept_at_debug_only(
    tmp_path: Path, clean_logging: None
) -> None:
    """Python 3.11 prints a chained exception's traceback after 'During handling of the above
    exception…' and an empty line: that too is a disconnect's traceback, not an error."""

    def disconnect(path_verbose: bool) -> list[str]:
        path = configure_logging(
            path_verbose, log_file=tmp_path / f"pmc-{path_verbose}.log", stderr=False
        )
        transport = logging.getLogger("paramiko.transport")
        try:
            try:
                raise EOFError
            except EOFError as inner:
                raise paramiko.SSHException("Error reading SSH protocol banner") from inner
        except paramiko.SSHException as exc:
            transport.error(f"Exception (client): {exc}")
            transport.error("During handling of the above exception, another exception occurred:")
            transport.error("")
            for line in paramiko.util.tb_strings():
                transport.error(line)
        _flush()
        return path.read_text().splitlines()

    quiet = disconnect(False)
    assert len(quiet) == 1 and " WARNING " in quiet[0] and "protocol banner" in quiet[0]
    verbose = disconnect(True)
    assert any("Traceback" in line and " DEBUG " in line for line in verbose)
    assert not any(" ERROR " in line for line in verbose)


def test_a_full_disk_under_the_log_file_is_one_line_not_a_traceback_per_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_logging: None
) -> None:
    """/dev/full answers every write with "No space left on device", as a full disk does;
    before, logging printed "--- Logging error ---" and a traceback for every message."""
    path = tmp_path / "logs" / "pmc.log"
    path.parent.mkdir()
    path.symlink_to("/dev/full")
    configure_logging(log_file=path, stderr=False)
    for n in range(3):
        logging.getLogger("pmc.test").warning("message %d", n)
    err = capsys.readouterr().err
    assert err == (
        f"pmc: cannot write the log file {path} (No space left on device); PMC goes on"
        " without it. Free some disk space\n"
    )
