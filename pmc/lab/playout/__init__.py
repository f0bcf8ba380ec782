"""Playout's side of the rehearsal lab: the ``playout`` database, its seed, scripts and files.

The table lists below are what later engines (bundle export, delta sync) import: configuration
tables in foreign-key order (a table comes after every table it references), the EPG tables,
and the per-server tables that copy config never replicates.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CONFIG_TABLES: tuple[str, ...] = (
    "general_settings",
    "networks",
    "transport_streams",
    "eit_sources",
    "dvb_services",
    "network_services",
    "psi_si_tables",
    "descriptors",
    "carousels",
    "carousel_files",
    "ait_applications",
    "stream_events",
    "playlists",
    "playlist_items",
    "cas_settings",
)
"""Configuration tables, in foreign-key order."""

EPG_TABLES: tuple[str, ...] = ("eit_event",)
"""EPG tables (reference ``dvb_services``); copy config replicates them too."""

LOCAL_TABLES: tuple[str, ...] = ("ts_outputs", "replication_status")
"""Per-server tables: never replicated, never in a bundle's configuration."""

REPLICATED_TABLES: tuple[str, ...] = CONFIG_TABLES + EPG_TABLES
"""What ``copy_config.sh`` puts in its Slony set, in this order."""

DATABASE = "playout"

SCRIPTS: tuple[str, ...] = (
    "copy_config.sh",
    "check_failover.sh",
    "check_peer_status.sh",
    "replication_started.sh",
    "replication_stopped.sh",
    "setup-firewall.sh",
)
"""The scripts of ``bin/``, installed into ``/opt/playout/bin``."""


def schema_sql() -> str:
    """The SQL that creates the ``playout`` database's tables (run it in an empty database)."""
    return resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")


def bin_dir() -> Path:
    """The folder holding the scripts of :data:`SCRIPTS` (copy them to ``/opt/playout/bin``)."""
    return Path(__file__).parent / "bin"
