"""Empty states say what is true, and can be read whole at a laptop's window size."""
from __future__ import annotations

from datetime import date

from app.views.timeline import TimelineView


def fully_visible(label) -> bool:
    """Shown, inside its window, and given at least the room its text needs."""
    if not label.isVisibleTo(label.window()):
        return False
    needed = label.heightForWidth(label.width()) if label.wordWrap() else \
        label.sizeHint().height()
    return label.width() > 0 and label.height() >= needed - 1


def test_a_day_without_data_says_so_and_not_to_turn_capture_on(qtbot, ctx, seeded):
    view = TimelineView(ctx)
    qtbot.addWidget(view)
    view.resize(1180, 680)  # the views' share of a 1366x768 screen
    view.show()
    view.activate()
    empty_day = date(2020, 2, 3)
    view.set_day(empty_day)
    qtbot.waitUntil(lambda: view.data is not None and view.data.day == empty_day,
                    timeout=15000)
    assert view.summary.text() == "Nothing captured on this day."
    assert "Turn on" not in view.summary.text()
    assert view.detail.pages.currentWidget() is view.detail.empty
    assert view.detail.empty.title.text() == "Nothing captured on this day"
    for label in (view.summary, view.detail.empty.title, view.detail.empty.body):
        assert fully_visible(label), label.text()
        assert label.fontMetrics().horizontalAdvance(label.text()) <= label.width() or \
            label.wordWrap(), label.text()
    today = date.today()
    view.set_day(today)
    qtbot.waitUntil(lambda: view.data is not None and view.data.day == today, timeout=15000)
    assert view.detail.empty.title.text() == "Nothing selected"
