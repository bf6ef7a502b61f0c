"""The Timeline's day tools on a real store: the calendar marks days with data,
a typed day is opened, and the day shows its time per app."""
from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.views.timeline import TimelineView
from core.records import Observation
from tests.gui.seed import at


def make_view(qtbot, ctx) -> TimelineView:
    view = TimelineView(ctx)
    qtbot.addWidget(view)
    view.resize(1300, 850)
    view.show()
    view.activate()
    qtbot.waitUntil(lambda: view.data is not None and view.data.day == date.today(),
                    timeout=15000)
    return view


def test_calendar_marks_days_with_data_and_a_typed_day_opens(qtbot, ctx, seeded):
    engine, _info = seeded
    today = date.today()
    earlier = today - timedelta(days=2)
    engine.pipeline.submit([Observation(source="note", captured_at=at(9, 0, earlier),
                                        text="Called the plumber about the boiler")])
    view = make_view(qtbot, ctx)
    marks = view.day_marks
    view.day_edit.calendarWidget().setCurrentPage(earlier.year, earlier.month)
    marks.refresh()
    qtbot.waitUntil(lambda: earlier in marks.marked, timeout=10000)
    assert today in marks.marked and marks.is_marked(earlier) and marks.is_marked(today)
    empty = today - timedelta(days=1)
    assert empty not in marks.marked and not marks.is_marked(empty)
    # Typed in words, Enter: that day opens.
    view.typed_day.setFocus()
    QTest.keyClicks(view.typed_day, "2 days ago")
    QTest.keyClick(view.typed_day, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.data is not None and view.data.day == earlier, timeout=15000)
    assert view.day() == earlier and view.typed_day.text() == ""
    assert [t.label for t in view.totals.totals] == ["Notes"]
    # ISO works too; nonsense says why and stays put.
    QTest.keyClicks(view.typed_day, today.isoformat())
    QTest.keyClick(view.typed_day, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.data is not None and view.data.day == today, timeout=15000)
    QTest.keyClicks(view.typed_day, "the day after pizza")
    QTest.keyClick(view.typed_day, Qt.Key.Key_Return)
    assert "Can't read" in view.typed_day.problem and view.day() == today
    assert view.typed_day.text() == "the day after pizza"  # nothing typed is lost
    QTest.keyClicks(view.typed_day, "x")
    assert view.typed_day.problem == ""


def test_the_day_shows_time_per_app(qtbot, ctx, seeded):
    view = make_view(qtbot, ctx)
    totals = {t.label: t.seconds for t in view.totals.totals}
    assert abs(totals["Firefox"] - 3600) < 1 and abs(totals["Terminal"] - 600) < 1
    assert view.totals.totals[0].label == "Firefox"
    text = view.totals.text()
    assert view.totals.isVisibleTo(view) and "Firefox" in text and "1 h 00 min" in text \
        and "Terminal" in text and "10 min" in text
    # The dot beside an app is the chart's colour for it.
    assert view.chart.color("Firefox").name() in text
