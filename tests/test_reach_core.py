"""Core services behind the desktop's reach features, on a real encrypted store:
days with data, per-app totals, the moment's pictures, "never record" with undo."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.activity import read_day
from core.days import app_totals, days_with_data
from core.exclusions import excluded_apps, is_excluded, never_record, undo
from core.moments import read_moment
from core.records import Observation
from tests.gui.seed import at, screen_observation, seed_day


def test_days_with_data_marks_only_days_that_hold_something(engine) -> None:
    today = date.today()
    seed_day(engine)
    engine.pipeline.submit([Observation(source="note", captured_at=at(8, 0, today - timedelta(
        days=3)), text="Booked the dentist for the 14th")])
    db = engine.store.reader()
    first = today - timedelta(days=10)
    assert days_with_data(db, first, today) == {today, today - timedelta(days=3)}
    assert days_with_data(db, today - timedelta(days=2), today - timedelta(days=1)) == set()


def test_app_totals_count_screen_time_per_app_busiest_first(engine) -> None:
    seed_day(engine)
    day = read_day(engine.memories, date.today())
    totals = {t.label: t for t in app_totals(day.events, date.today())}
    assert totals["Firefox"].seconds == pytest.approx(60 * 60)  # two 30-minute stretches
    assert totals["Firefox"].items == 2
    assert totals["Terminal"].seconds == pytest.approx(10 * 60)
    assert totals["Notes"].seconds == pytest.approx(60)  # an instant counts one minute
    labels = [t.label for t in app_totals(day.events, date.today())]
    assert labels[0] == "Firefox" and labels.index("Terminal") < labels.index("Notes")
    # A stretch over midnight counts only its part on the day asked for.
    late = screen_observation("late night reading about owls", "Reader", "Owls",
                              at(23, 30, date.today() - timedelta(days=1)), 60)
    engine.pipeline.submit([late])
    eve = read_day(engine.memories, date.today() - timedelta(days=1))
    (reader,) = app_totals(eve.events, date.today() - timedelta(days=1))
    assert reader.label == "Reader" and reader.seconds == pytest.approx(30 * 60)


def test_read_moment_returns_the_viewing_image_and_what_it_covers(engine) -> None:
    obs = screen_observation("Lisbon offsite agenda draft", "Editor", "agenda.md", at(9, 0), 5)
    view = b"RIFF\x10\x00\x00\x00WEBPVP8 fake-view-bytes"
    obs = Observation(**{**obs.__dict__, "full_image": view,
                         "meta": {**obs.meta, "full_shot": [0, 0, 1920, 1080],
                                  "full_kind": "view"}})
    (event_id,) = engine.pipeline.submit([obs]).added
    moment = read_moment(engine.store.reader(), event_id)
    assert moment is not None and moment.large == view and moment.large_kind == "view"
    assert moment.large_shot == (0, 0, 1920, 1080) and moment.best[0] == view
    assert moment.thumbnail is not None and moment.thumbnail[:4] == b"\x89PNG"
    engine.pipeline.forget([event_id])
    assert read_moment(engine.store.reader(), event_id) is None


def test_never_record_adds_once_and_undo_restores_the_list(engine) -> None:
    settings = engine.settings
    settings.set("screen_excluded_apps", ["Signal"])
    done = never_record(settings, "Slack")
    assert done.added and is_excluded(settings, "slack")
    assert excluded_apps(settings) == ["Signal", "Slack"]
    again = never_record(settings, " slack ")
    assert not again.added and excluded_apps(settings) == ["Signal", "Slack"]
    assert not undo(settings, again)  # it added nothing, so it takes nothing back
    assert undo(settings, done) and excluded_apps(settings) == ["Signal"]
    assert not undo(settings, done)
    with pytest.raises(ValueError):
        never_record(settings, "  ")


def test_typed_days_are_read_and_anything_else_is_none() -> None:
    from core.days import parse_day

    today = date(2026, 12, 6)  # a Sunday
    assert parse_day("2026-03-14", today) == date(2026, 3, 14)
    assert parse_day(" 14 March ", today) == date(2026, 3, 14)
    assert parse_day("14th mar", today) == date(2026, 3, 14)
    assert parse_day("March 14 2025", today) == date(2025, 3, 14)
    assert parse_day("dec 25", today) == date(2025, 12, 25)  # not in the future
    assert parse_day("yesterday", today) == date(2026, 12, 5)
    assert parse_day("3 days ago", today) == date(2026, 12, 3)
    assert parse_day("last friday", today) == date(2026, 12, 4)
    assert parse_day("in march", today) == date(2026, 3, 1)
    for bad in ("", "garbage", "31 feb", "friday at the lake", "13/45/2026"):
        assert parse_day(bad, today) is None, bad


def test_picture_cost_scales_stored_pictures_to_an_active_day(engine) -> None:
    from core.moments import picture_cost

    assert not picture_cost(engine.store.reader()).measured
    view = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"v" * 5000
    frame = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"f" * 9000
    obs = []
    for n, (extra, kind) in enumerate(((view, "view"), (view, "view"), (frame, "frame"))):
        o = screen_observation(f"moment number {n} of the afternoon", "Editor", f"doc {n}",
                               at(13, 20 * n), 20)
        obs.append(Observation(**{**o.__dict__, "full_image": extra,
                                  "meta": {**o.meta, "full_shot": [0, 0, 720, 450],
                                           "full_kind": kind}}))
    engine.pipeline.submit(obs)
    cost = picture_cost(engine.store.reader())
    assert cost.events == 3 and cost.active_seconds == pytest.approx(3600) and cost.measured
    assert cost.view_bytes == 2 * len(view) and cost.frame_bytes == len(frame)
    assert cost.thumbnail_bytes > 0
    assert cost.per_day(cost.view_bytes) == pytest.approx(2 * len(view) * 8)
