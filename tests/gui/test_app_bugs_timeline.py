"""Bug 4 (issue 15): the Timeline never shows a stale day.

Real Timeline view over a real encrypted store (seeded through the real pipeline).
"""
from __future__ import annotations

from datetime import date, timedelta

from app.views.timeline import TimelineView
from core.records import Observation
from tests.gui.seed import at, screen_observation


def make_view(qtbot, ctx, day: date) -> TimelineView:
    view = TimelineView(ctx)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    view.activate()
    view.set_day(day)
    qtbot.waitUntil(lambda: view.data is not None and view.data.day == day, timeout=15000)
    return view


def test_switching_days_leaves_nothing_of_the_old_day(qtbot, ctx, seeded):
    engine, info = seeded
    today = info["day"]
    other = today - timedelta(days=2)
    # The other day has items but no screenshots (a note).
    engine.pipeline.submit([Observation(source="note", captured_at=at(16, 0, other),
                                        text="Booked the dentist for the crown fitting")])
    view = make_view(qtbot, ctx, today)
    qtbot.waitUntil(lambda: view.detail.hit is not None, timeout=10000)
    view.on_hour_clicked(9)
    assert "09:00" in view.items_title.text() and view.items.count() == 2
    assert view.delete_moment.isEnabled()

    view.set_day(other)
    # At once, before the other day has loaded: nothing of today is on screen.
    assert view.detail.hit is None and not view.delete_moment.isEnabled()
    assert "09:00" not in view.items_title.text() and view.items.count() == 0
    qtbot.waitUntil(lambda: view.data is not None and view.data.day == other, timeout=15000)
    qtbot.wait(300)
    assert view.detail.hit is None
    assert not view.delete_moment.isEnabled() and not view.delete_hour.isEnabled()
    assert "09:00" not in view.items_title.text() and view.items.count() == 0
    assert view.scrubber.current() is None
    assert "1 items" in view.summary.text()


def test_new_captures_appear_without_leaving_the_day(qtbot, ctx, seeded):
    engine, info = seeded
    today = info["day"]
    ctx.watch(interval_ms=200)
    view = make_view(qtbot, ctx, today)
    assert len(view.data.moments) == 3
    qtbot.waitUntil(lambda: view.detail.hit is not None, timeout=10000)
    assert view.detail.hit.id == view.data.moments[-1].event_id
    # Capture stores a new screen moment (as the screen source does: pipeline, no UI signal).
    changes = engine.pipeline.submit([screen_observation(
        "Lisbon flights booked for the offsite in May", "Firefox", "Flights — Mozilla Firefox",
        at(10, 50, today), 5)])
    new_id = changes.added[0]
    qtbot.waitUntil(lambda: view.data is not None and len(view.data.moments) == 4,
                    timeout=15000)
    # The person was on the latest moment: the view follows to the new one.
    qtbot.waitUntil(lambda: view.detail.hit is not None and view.detail.hit.id == new_id,
                    timeout=10000)
    assert "4 screenshots" in view.summary.text()
    ctx.stop_watching()
