"""Where PMC keeps its own files on the operator's machine.

The folders come from :mod:`platformdirs` (``~/.config/pmc``, ``~/.local/share/pmc`` and
``~/.local/state/pmc/log`` on Linux; ``%LOCALAPPDATA%\\pmc`` on Windows). Each can be moved
with an environment variable, which is also how tests keep PMC away from the real folders:

``PMC_CONFIG_DIR``  the inventory (``inventory.toml``) and PMC's ``known_hosts``
``PMC_DATA_DIR``    local state (the SQLite file with job history and the audit log, the
                    automatic backups of imports: full database dumps)
``PMC_LOG_DIR``     log files

Nothing here creates a folder; call :func:`ensure_dir` before writing into one, or
:func:`private_dir` for PMC's own folders: they are the operator's alone (0700, and the
files in them 0600) whatever the umask.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import platformdirs

APP_NAME = "pmc"

CONFIG_DIR_ENV = "PMC_CONFIG_DIR"
DATA_DIR_ENV = "PMC_DATA_DIR"
LOG_DIR_ENV = "PMC_LOG_DIR"

INVENTORY_FILE_NAME = "inventory.toml"
KNOWN_HOSTS_FILE_NAME = "known_hosts"
STATE_DB_FILE_NAME = "pmc.sqlite3"


def _from_env(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    return Path(value).expanduser().absolute()


def config_dir() -> Path:
    """The folder for the operator's settings: the inventory and trusted host keys."""
    return _from_env(CONFIG_DIR_ENV) or Path(
        platformdirs.user_config_dir(APP_NAME, appauthor=False, roaming=False)
    )


def data_dir() -> Path:
    """The folder for PMC's local state (SQLite: job history, audit log)."""
    return _from_env(DATA_DIR_ENV) or Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """The folder for PMC's log files."""
    return _from_env(LOG_DIR_ENV) or Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def default_inventory_path() -> Path:
    """The inventory used when no ``--inventory FILE`` is given."""
    return config_dir() / INVENTORY_FILE_NAME


def known_hosts_path() -> Path:
    """PMC's own known_hosts file (OpenSSH format); never the operator's ``~/.ssh``."""
    return config_dir() / KNOWN_HOSTS_FILE_NAME


def state_db_path() -> Path:
    """The SQLite file with job history and the audit log."""
    return data_dir() / STATE_DB_FILE_NAME


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if missing, readable by the operator only; return it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def private_dir(path: Path) -> Path:
    """:func:`ensure_dir`, and a folder that exists already (made by an older PMC, or under
    another umask) is made the operator's alone (0700) too. For PMC's own folders only."""
    ensure_dir(path)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o700)
    return path
