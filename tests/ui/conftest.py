"""GUI test fixtures: Qt offscreen with Fusion at scale 1, a qasync loop on pytest-qt's
QApplication (pytest-qt does not run coroutines by itself), an in-memory keyring (unit tests
only; the Secret Service tests use the real one), PMC's folders in a temporary place."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_SCALE_FACTOR"] = "1"
os.environ.setdefault("QT_API", "pyside6")  # qasync binds to PySide6 whatever the import order

import pytest
from keyring.backend import KeyringBackend
from PySide6.QtWidgets import QApplication

from pmc import secrets
from pmc.inventory import Architecture, Cluster, Inventory, Role, Server
from pmc.inventory_file import save_inventory


class MemoryKeyring(KeyringBackend):
    """A keyring in memory: unit tests of the dialogs only."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.values.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    secrets.use_backend(backend)
    yield backend
    secrets.use_backend(None)


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop marked as running, so that tasks run while qtbot waits. Garbage is
    collected on this thread only (ui.gui_gc), as in the app."""
    from ui.app import make_app
    from ui.event_loop import PmcEventLoop
    from ui.gui_gc import GuiThreadCollector

    make_app()
    collector = GuiThreadCollector()
    event_loop = PmcEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    pending = [t for t in asyncio.all_tasks(event_loop) if not t.done()]
    for task in pending:
        task.cancel()
    deadline = 200
    while any(not t.done() for t in pending) and deadline:
        qapp.processEvents()
        deadline -= 1
    qapp.aboutToQuit.disconnect(event_loop._after_run_forever)
    event_loop._after_run_forever()
    event_loop._QEventLoop__is_running = False  # qasync has no public "not running any more"
    asyncio.events._set_running_loop(None)
    event_loop.close()
    asyncio.set_event_loop(None)
    collector.stop()
    collector.deleteLater()


@pytest.fixture
def pmc_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CONFIG", "DATA", "LOG"):
        monkeypatch.setenv(f"PMC_{name}_DIR", str(tmp_path / name.lower()))
    return tmp_path


SEED_LIKE = Inventory(
    (
        Cluster(
            "studio",
            Architecture.COMBINED,
            (
                Server("main", "127.168.1.105", "127.17.59.128", Role.MAIN),
                Server("backup", "127.168.1.108", "127.17.59.129", Role.BACKUP),
            ),
        ),
    )
)


@pytest.fixture
def inventory_file(pmc_dirs: Path) -> Path:
    path = pmc_dirs / "inventory.toml"
    save_inventory(SEED_LIKE, path)
    return path
