"""Words on screen ready for translation, and times in the operator's locale.

Every visible string of ui/ goes through :func:`tr` (``QCoreApplication.translate`` in the
"PMC" context, so ``pyside6-lupdate`` finds them); a text with values is written with
``{name}`` fields and filled in *after* translation: ``tr("Cluster {name}").format(name=…)``,
so that the source text a translator sees is the same every time. Counted nouns use
:func:`count` (the plural helper of :mod:`pmc.words`, translated word by word).
:func:`install_translator` loads ``pmc_<locale>.qm`` from the resources and Qt's own
translations for the system locale; PMC ships English only, so today that finds nothing and
English shows. Dates and times are shown in the locale's short format (:func:`when`).
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import (
    QCoreApplication,
    QDateTime,
    QLibraryInfo,
    QLocale,
    QTranslator,
)

from pmc.words import plural

from .resource_files import RESOURCES_DIR

CONTEXT = "PMC"
_installed: list[QTranslator] = []  # kept alive: Qt does not own installed translators


def tr(text: str) -> str:
    """``text`` in the operator's language (English where no translation exists)."""
    return QCoreApplication.translate(CONTEXT, text)


def count(number: int, singular: str, plural_form: str | None = None) -> str:
    """``number`` with its noun in the right number, translated: "1 server", "2 servers"."""
    return plural(number, tr(singular), tr(plural_form) if plural_form else None)


def install_translator(app: QCoreApplication) -> list[str]:
    """Load PMC's and Qt's translations for the system locale; the files it loaded."""
    locale = QLocale.system()
    loaded: list[str] = []
    for name, folder in (
        ("pmc", str(RESOURCES_DIR)),
        ("qtbase", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)),
    ):
        translator = QTranslator(app)
        if translator.load(locale, name, "_", folder):
            app.installTranslator(translator)
            _installed.append(translator)
            loaded.append(translator.filePath())
    return loaded


ISO_FORMAT = "yyyy-MM-dd HH:mm"  # where no locale is set (the C locale writes "1 12 2026")


def _format(moment: QDateTime) -> str:
    locale = QLocale()
    if locale.language() == QLocale.Language.C:
        return moment.toString(ISO_FORMAT)
    return locale.toString(moment, QLocale.FormatType.ShortFormat)


def when(seconds: float | None) -> str:
    """A moment (seconds since the epoch) as the locale writes date and time, short."""
    if not seconds:
        return tr("never")
    return _format(QDateTime.fromSecsSinceEpoch(int(seconds)))


def clock(seconds: float) -> str:
    """The time of day of a moment, in the locale's short format."""
    time_of_day = QDateTime.fromSecsSinceEpoch(int(seconds)).time()
    if QLocale().language() == QLocale.Language.C:
        return time_of_day.toString("HH:mm")
    return QLocale().toString(time_of_day, QLocale.FormatType.ShortFormat)


def moment_text(moment: dt.datetime) -> str:
    """A server's local time stamp (no time zone) in the locale's short format."""
    stamp = QDateTime(moment.year, moment.month, moment.day, moment.hour, moment.minute,
                      moment.second)  # fmt: skip
    return _format(stamp)


def day_or_time(seconds: float) -> str:
    """Today's moments as a time of day, older ones with their date (the jobs list)."""
    moment = QDateTime.fromSecsSinceEpoch(int(seconds))
    if moment.date() == QDateTime.currentDateTime().date():
        return clock(seconds)
    return _format(moment)
