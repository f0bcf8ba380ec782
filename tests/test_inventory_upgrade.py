"""pmc.inventory_upgrade: steps registered by format version, run once each in order, the
version recorded only when every step up to it is done (settings in a dict: no Qt here)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from pmc import inventory_upgrade
from pmc.inventory import Inventory, SyncEngine, SyncSchedule
from pmc.inventory_upgrade import (
    UPGRADES,
    VERSION_KEY,
    StepResult,
    upgrade_inventory,
    upgrade_step,
)
from tests.test_workspace import STUDIO


class DictSettings:
    """QSettings' behaviour over a dict: keys are paths, groups are their folders."""

    def __init__(self, values: dict[str, object]) -> None:
        self.values = dict(values)

    def groups(self, prefix: str) -> list[str]:
        below = [k[len(prefix) + 1 :] for k in self.values if k.startswith(prefix + "/")]
        return sorted({k.split("/")[0] for k in below if "/" in k})

    def value(self, key: str) -> object:
        return self.values.get(key)

    def set_value(self, key: str, value: object) -> None:
        self.values[key] = value

    def remove(self, key: str) -> None:
        self.values = {
            k: v for k, v in self.values.items() if k != key and not k.startswith(key + "/")
        }


def test_old_schedules_move_into_clusters_without_one() -> None:
    settings = DictSettings({
        "sync/schedule/studio/every": "20", "sync/schedule/studio/on_drift": "true",
        "sync/schedule/studio/check": 3, "sync/schedule/studio/engine": "playout",
        "sync/schedule/elsewhere/every": 10, "tray/on_close": "tray",
    })  # fmt: skip
    upgrade = upgrade_inventory(Inventory((STUDIO,)), settings)
    wanted = SyncSchedule(
        every_minutes=20, on_drift=True, check_minutes=3, engine=SyncEngine.PLAYOUT
    )
    assert upgrade.inventory.cluster("studio").sync == wanted
    assert upgrade.notes == ["Sync schedules moved from PMC's settings into the inventory file"]
    assert "sync/schedule/studio/every" in settings.values  # nothing removed before the save
    upgrade.finish()
    assert settings.values == {"sync/schedule/elsewhere/every": 10, "tray/on_close": "tray"}

    # the cluster that was missing turns up: its schedule moves too, the version is recorded
    elsewhere = dataclasses.replace(STUDIO, name="elsewhere", sync=SyncSchedule(on_drift=True))
    upgrade = upgrade_inventory(Inventory((STUDIO, elsewhere)), settings)
    assert upgrade.inventory.cluster("elsewhere").sync == SyncSchedule(on_drift=True)  # kept
    assert upgrade.notes == []
    upgrade.finish()
    assert settings.values == {"tray/on_close": "tray", VERSION_KEY: 1}
    assert upgrade_inventory(Inventory((STUDIO,)), settings).reached is None  # nothing to run


def test_settings_that_never_held_anything_old_get_no_record() -> None:
    settings = DictSettings({"tray/on_close": "quit"})
    upgrade = upgrade_inventory(Inventory((STUDIO,)), settings)
    upgrade.finish()
    assert upgrade.inventory == Inventory((STUDIO,)) and settings.values == {
        "tray/on_close": "quit"
    }


@pytest.fixture
def registry() -> Iterator[dict[int, inventory_upgrade.UpgradeStep]]:
    saved = dict(UPGRADES)
    yield UPGRADES
    UPGRADES.clear()
    UPGRADES.update(saved)


def test_steps_run_in_version_order_from_the_version_recorded(
    registry: dict[int, inventory_upgrade.UpgradeStep], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory_upgrade, "FORMAT_VERSION", 3)
    ran: list[int] = []

    def step(version: int, done: bool) -> inventory_upgrade.UpgradeStep:
        def run(inventory: Inventory, _settings: object) -> StepResult:
            ran.append(version)
            return StepResult(inventory, found=True, done=done, cleanup=lambda: None)

        return run

    registry[1] = step(1, True)
    upgrade_step(3)(step(3, True))
    upgrade_step(2)(step(2, False))
    with pytest.raises(ValueError, match="version 2"):
        upgrade_step(2)(step(2, True))
    with pytest.raises(ValueError, match="version 4"):
        upgrade_step(4)(step(4, True))
    settings = DictSettings({VERSION_KEY: "1"})
    upgrade = upgrade_inventory(Inventory(), settings)
    assert ran == [2, 3]  # version 1 was recorded: its step does not run again
    assert upgrade.reached is None  # step 2 left something behind: 3 is not recorded either
    registry[2] = step(2, True)
    ran.clear()
    upgrade = upgrade_inventory(Inventory(), settings)
    upgrade.finish()
    assert ran == [2, 3] and settings.values[VERSION_KEY] == 3


def test_an_old_schedule_that_is_not_a_number_of_minutes_is_not_moved() -> None:
    """Settings edited by hand (nan, inf, 1e400): before, the schedule moved into the
    inventory as every_minutes = nan, which the inventory's own check then refused."""
    for every in ("nan", "inf", "1e400", "-inf"):
        settings = DictSettings({"sync/schedule/studio/every": every})
        assert inventory_upgrade.old_schedule(settings, "studio") is None, every
        settings = DictSettings(
            {"sync/schedule/studio/on_drift": "1", "sync/schedule/studio/check": every}
        )
        assert inventory_upgrade.old_schedule(settings, "studio") is None, every
