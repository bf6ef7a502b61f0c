"""Timeline against a real engine: the chart's buckets and pixels, sessions, scrubber, delete."""
from __future__ import annotations

from datetime import date

from PySide6.QtGui import QColor

from core.activity import day_activity, local_day_bounds
from core.store.events import between as events_between
from app.views.timeline import TimelineView


def make_view(qtbot, ctx, day: date) -> TimelineView:
    view = TimelineView(ctx)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    view.activate()
    view.set_day(day)
    qtbot.waitUntil(lambda: view.data is not None and view.data.day == day, timeout=15000)
    return view


def test_the_chart_reflects_the_seeded_day(qtbot, ctx, seeded):
    _engine, info = seeded
    view = make_view(qtbot, ctx, info["day"])
    activity = view.chart.activity
    assert activity is not None and not activity.empty
    # Firefox 09:05–09:35 → 30 min in hour 9; Terminal 09:40–09:50 → 10 min in hour 9;
    # Firefox again 10:10–10:40 → 30 min in hour 10.
    assert abs(activity.seconds(9, "Firefox") - 30 * 60) < 1
    assert abs(activity.seconds(9, "Terminal") - 10 * 60) < 1
    assert abs(activity.seconds(10, "Firefox") - 30 * 60) < 1
    assert activity.seconds(14, "WhatsApp") > 0     # the conversation
    assert activity.total(3) == 0
    assert activity.counts[9] == 2 and activity.counts[14] == 4
    assert activity.labels[0] == "Firefox"          # busiest first in the legend

    # The picture: the bar of hour 10 is Firefox-coloured, hour 3 is background.
    image = view.chart.grab().toImage()
    (label, rect), = view.chart.segments(10)
    assert label == "Firefox"
    centre = rect.center().toPoint()
    firefox = view.chart.color("Firefox").name()
    assert QColor(image.pixel(centre)).name() == firefox
    assert len({view.chart.color(label).name() for label in activity.labels}) == \
        len(activity.labels)  # every app its own colour
    empty_slot = view.chart.bar_rect(3)
    probe = empty_slot.center().toPoint()
    probe.setY(int(empty_slot.bottom() - 3))
    assert QColor(image.pixel(probe)).name() != firefox
    # Stacked: Terminal sits on top of Firefox in hour 9.
    seg9 = dict(view.chart.segments(9))
    assert seg9["Terminal"].bottom() <= seg9["Firefox"].top() + 0.01


def test_sessions_scrubber_and_details(qtbot, ctx, seeded):
    _engine, info = seeded
    view = make_view(qtbot, ctx, info["day"])
    data = view.data
    assert len(data.moments) == 3  # three screenshots
    labels = [e.label for e in data.episodes]
    assert labels[:3] == ["Firefox", "Terminal", "Firefox"]
    # The scrubber starts at the latest screenshot and shows its details.
    qtbot.waitUntil(lambda: view.detail.loaded is not None, timeout=10000)
    assert view.detail.hit.id == data.moments[-1].event_id
    view.scrubber.slider.setValue(0)
    qtbot.waitUntil(lambda: view.detail.hit is not None
                    and view.detail.hit.id == data.moments[0].event_id, timeout=10000)
    # Clicking an episode lists its sources.
    view.episodes.setCurrentIndex(view.episode_model.index(1, 0))
    assert view.items.count() == 1 and "Terminal" in view.items.item(0).text()


def test_delete_this_hour_forgets_it(qtbot, ctx, seeded, confirm_yes):
    engine, info = seeded
    day = info["day"]
    view = make_view(qtbot, ctx, day)
    view.on_hour_clicked(9)
    assert view.items.count() == 2
    view.on_delete_hour()
    assert confirm_yes == ["Delete this hour?"]
    qtbot.waitUntil(lambda: view.data is not None and view.data.activity.total(9) == 0,
                    timeout=15000)
    events = events_between(engine.store.reader(), *local_day_bounds(day))
    assert all(e.started_at.astimezone().hour != 9 for e in events)
    assert day_activity(events, day).total(10) > 0  # the next hour is untouched


def test_an_empty_day_offers_the_latest_day(qtbot, ctx, seeded):
    from datetime import timedelta

    _engine, info = seeded
    view = make_view(qtbot, ctx, info["day"] - timedelta(days=3))
    assert view.data.activity.empty
    assert view.jump.isVisibleTo(view)
    view.jump.click()
    qtbot.waitUntil(lambda: view.data.day == info["day"], timeout=15000)
