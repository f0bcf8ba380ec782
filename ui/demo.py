"""``make demo``: a fresh two-server lab, its inventory, and PMC open on it.

Runs as root (the lab needs it). The app runs inside the lab's operator network namespace,
with the lab's root passwords held in memory for its SSH logins and the lab's host keys
already trusted; the lab goes down when the window closes.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings

from pmc.errors import PmcError
from pmc.store import Store
from ui.app import make_app, run_window
from ui.host_key_dialog import DialogTrustDecision
from ui.lab_session import lab_app_setup
from ui.main_window import MainWindow
from ui.session import Session
from ui.tasks import Tasks


def main(argv: list[str]) -> int:
    servers = int(argv[0]) if argv else 2
    with tempfile.TemporaryDirectory(prefix="pmc-demo-") as tmp:
        folder = Path(tmp)
        os.environ.setdefault("PMC_CONFIG_DIR", str(folder / "config"))
        os.environ.setdefault("PMC_DATA_DIR", str(folder / "data"))
        print(f"Starting the rehearsal lab (fresh, {servers} servers)…", flush=True)
        try:
            setup_cm = lab_app_setup(folder, servers=servers, lab_id="pmc-demo")
            setup = setup_cm.__enter__()
        except PmcError as exc:
            print(f"pmc demo: {exc}", file=sys.stderr)
            return 1
        try:
            print(f"Lab up. Inventory: {setup.inventory_path}", flush=True)
            app = make_app()
            trust = DialogTrustDecision(None)
            session = Session(
                setup.inventory_path, Tasks(), store=Store.open(), pool=setup.pool(trust)
            )
            window = MainWindow(session, QSettings())
            trust.parent = window
            window.setWindowTitle("Playout Management Console — rehearsal lab")
            seconds = float(os.environ.get("PMC_DEMO_SECONDS", "0"))
            if seconds:  # smoke runs: quit by itself
                from PySide6.QtCore import QTimer

                QTimer.singleShot(int(seconds * 1000), app.quit)
            return run_window(app, session, window)
        finally:
            setup_cm.__exit__(None, None, None)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
