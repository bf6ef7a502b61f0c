"""The Timeline's day tools: a calendar that marks the days holding anything, a field
to type a day ("14 March", "last friday", 2026-03-14, the locale's own 14/03/2026),
and the day's time per app.

The marks are read per visible calendar month on a worker (``core.days
.days_with_data``) and drawn bold with a tinted background; the totals come
from the day the view already read (``core.days.app_totals``).
"""
from __future__ import annotations

import html
from datetime import date
from typing import Callable, Sequence

from PySide6.QtCore import QDate, QLocale, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPalette, QTextCharFormat
from PySide6.QtWidgets import QCalendarWidget, QDateEdit, QLabel, QLineEdit, QWidget

from app.tasks import run_in_background
from app.views.common import minutes_text
from core.days import AppTime, days_with_data, parse_day

SHOWN_APPS = 6


def read_typed_day(text: str, today: date | None = None) -> date | None:
    """The locale's own date formats first (14/03/2026 or 3/14/2026), then core's words."""
    value = text.strip()
    if not value:
        return None
    locale = QLocale()
    for fmt in (locale.dateFormat(QLocale.FormatType.ShortFormat),
                locale.dateFormat(QLocale.FormatType.LongFormat), "d.M.yyyy", "d/M/yyyy"):
        parsed = locale.toDate(value, fmt)
        if parsed.isValid():
            return parsed.toPython()
    return parse_day(value, today)


class DayMarks:
    """Marks the days with data in a date edit's calendar, month by month."""

    def __init__(self, edit: QDateEdit, store, owner: QWidget) -> None:
        self.calendar: QCalendarWidget = edit.calendarWidget()
        self.store = store
        self.owner = owner
        self.marked: set[date] = set()
        self._month: tuple[int, int] | None = None
        self._generation = 0
        self.calendar.currentPageChanged.connect(lambda y, m: self.load(y, m))

    def refresh(self) -> None:
        """Read the shown month again (new captures, a forget)."""
        self.load(self.calendar.yearShown(), self.calendar.monthShown())

    def load(self, year: int, month: int) -> None:
        self._generation += 1
        generation = self._generation
        first = date(year, month, 1)
        # The grid also shows a few days of the months around it.
        start = QDate(first.year, first.month, 1).addDays(-7).toPython()
        end = QDate(first.year, first.month, 1).addMonths(1).addDays(14).toPython()
        store = self.store

        def done(days: frozenset[date]) -> None:
            if generation == self._generation:
                self._month = (year, month)
                self.mark(days)

        run_in_background(lambda: days_with_data(store.reader(), start, end), done,
                          owner=self.owner)

    def mark(self, days: frozenset[date] | set[date]) -> None:
        for day in self.marked - set(days):
            self.calendar.setDateTextFormat(QDate(day.year, day.month, day.day),
                                            QTextCharFormat())
        fmt = QTextCharFormat()
        fmt.setFontWeight(QFont.Weight.Bold)
        highlight = self.calendar.palette().color(QPalette.ColorRole.Highlight)
        tint = QColor(highlight)
        tint.setAlpha(60)
        fmt.setBackground(QBrush(tint))
        fmt.setToolTip("Something was captured this day")
        for day in days:
            self.calendar.setDateTextFormat(QDate(day.year, day.month, day.day), fmt)
        self.marked = set(days)

    def is_marked(self, day: date) -> bool:
        return self.calendar.dateTextFormat(QDate(day.year, day.month, day.day)) \
            .fontWeight() == QFont.Weight.Bold


class TypedDay(QLineEdit):
    """Type a day and press Enter: ``day_entered(date)``, or a one-line hint why not."""

    day_entered = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("Go to a day…")
        self.setToolTip("Type a day: 2026-03-14, 14/03/2026, 14 March, yesterday, "
                        "3 days ago, last Friday — then Enter")
        self.setClearButtonEnabled(True)
        # Room for the whole hint (padding and the clear button besides): never "Go to… (…".
        self.setMinimumWidth(min(220, self.fontMetrics().horizontalAdvance(
            self.placeholderText()) + 48))
        self.setMaximumWidth(220)
        self.problem = ""
        self.returnPressed.connect(self.on_enter)
        self.textEdited.connect(lambda _t: self._show_problem(""))

    def on_enter(self) -> None:
        text = self.text().strip()
        if not text:
            return
        day = read_typed_day(text)
        if day is None:
            self._show_problem(f"Can't read “{text}” as a day; try 14 March or 2026-03-14.")
            return
        if day > date.today():
            self._show_problem("That day has not happened yet.")
            return
        self._show_problem("")
        self.clear()
        self.day_entered.emit(day)

    def _show_problem(self, text: str) -> None:
        self.problem = text
        self.setProperty("invalid", bool(text))
        self.setToolTip(text or "Type a day: 2026-03-14, 14/03/2026, 14 March, yesterday, "
                                "3 days ago, last Friday — then Enter")
        if text:
            self.setStyleSheet("QLineEdit { border: 1px solid #d0342c; }")
        else:
            self.setStyleSheet("")


class AppTotals(QLabel):
    """"● Firefox 1 h 00 min · ● Terminal 10 min · 3 more apps 4 min": where the day went."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("appTotals")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.totals: tuple[AppTime, ...] = ()

    def set_totals(self, totals: Sequence[AppTime], color: Callable[[str], QColor]) -> None:
        self.totals = tuple(totals)
        if not totals:
            self.setText("")
            self.setVisible(False)
            return
        parts = [f"<span style='color: {color(t.label).name()}'>●</span> "
                 f"<b>{html.escape(t.label)}</b> {minutes_text(t.seconds)}"
                 for t in totals[:SHOWN_APPS]]
        rest = totals[SHOWN_APPS:]
        if rest:
            parts.append(f"{len(rest)} more {'app' if len(rest) == 1 else 'apps'} "
                         f"{minutes_text(sum(t.seconds for t in rest))}")
        self.setText("Time per app: " + " · ".join(parts))
        self.setToolTip("\n".join(f"{t.label}: {minutes_text(t.seconds)} ({t.items} items)"
                                  for t in totals))
        self.setVisible(True)
