"""Words on screen go through Qt's translation (a translator installed for the locale changes
what the window says) and dates follow the operator's locale (ISO where none is set)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QDateTime, QLocale, QTranslator

from ui.translation import CONTEXT, count, when
from ui.welcome_page import WelcomePage

pytestmark = pytest.mark.gui

MOMENT = 1_764_612_000  # 2025-12-01 18:00 UTC


class Marking(QTranslator):
    """A translator that marks every PMC text it is asked for."""

    def translate(self, context: str, source: str, disambiguation: str | None = None,
                  n: int = -1) -> str:  # fmt: skip
        return f"«{source}»" if context == CONTEXT else ""


@pytest.fixture
def locale() -> Iterator[None]:
    before = QLocale()
    yield
    QLocale.setDefault(before)


@pytest.mark.parametrize(
    ("language", "country"),
    [
        (QLocale.Language.German, QLocale.Country.Germany),
        (QLocale.Language.English, QLocale.Country.UnitedStates),
        (QLocale.Language.Finnish, QLocale.Country.Finland),
    ],
)
def test_dates_are_written_as_the_locale_writes_them(
    qapp: Any, locale: None, language: QLocale.Language, country: QLocale.Country
) -> None:
    QLocale.setDefault(QLocale(language, country))
    moment = QDateTime.fromSecsSinceEpoch(MOMENT)
    assert when(MOMENT) == QLocale(language, country).toString(
        moment, QLocale.FormatType.ShortFormat
    )


def test_without_a_locale_dates_are_iso(qapp: Any, locale: None) -> None:
    QLocale.setDefault(QLocale.c())
    assert when(MOMENT) == QDateTime.fromSecsSinceEpoch(MOMENT).toString("yyyy-MM-dd HH:mm")
    assert when(None) == "never"


def test_a_translator_changes_what_the_window_says(qtbot: Any) -> None:
    translator = Marking()
    QCoreApplication.installTranslator(translator)
    try:
        page = WelcomePage()
        qtbot.addWidget(page)
        assert page.new_button.text() == "«Add a cluster…»"
        assert count(2, "server") == "2 «server»s"
    finally:
        QCoreApplication.removeTranslator(translator)
    english = WelcomePage()
    qtbot.addWidget(english)
    assert english.new_button.text() == "Add a cluster…"
