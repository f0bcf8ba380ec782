"""The app's QSettings as :class:`pmc.inventory_upgrade.OldSettings`: what the inventory's
upgrade steps read of, and remove from, the settings an older PMC kept."""

from __future__ import annotations

from PySide6.QtCore import QSettings


class QtOldSettings:
    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def groups(self, prefix: str) -> list[str]:
        self.settings.beginGroup(prefix)
        try:
            return list(self.settings.childGroups())
        finally:
            self.settings.endGroup()

    def value(self, key: str) -> object:
        return self.settings.value(key)

    def set_value(self, key: str, value: object) -> None:
        self.settings.setValue(key, value)
        self.settings.sync()

    def remove(self, key: str) -> None:
        self.settings.remove(key)
        self.settings.sync()
