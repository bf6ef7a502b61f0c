"""Days at a glance: which days hold anything, and where a day's time went per app.

Feeds the Timeline's date picker (days with data are marked) and its per-app
totals. Both count in the person's local time zone, like the rest of the
timeline (``core.activity.local_day_bounds``).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Sequence

import apsw

from core.activity import MIN_SCREEN_SECONDS, activity_label, local_day_bounds
from core.records import Event, to_epoch


def days_with_data(db: apsw.Connection, first: date, last: date) -> frozenset[date]:
    """The local days in [first, last] on which anything was stored."""
    since, _ = local_day_bounds(first)
    _, until = local_day_bounds(last)
    # 'localtime' is the process's own zone, the same one astimezone() uses.
    rows = db.execute("SELECT DISTINCT date(started_at, 'unixepoch', 'localtime') FROM events "
                      "WHERE started_at >= ? AND started_at < ?",
                      (to_epoch(since), to_epoch(until)))
    out = set()
    for (text,) in rows:
        try:
            out.add(date.fromisoformat(text))
        except (TypeError, ValueError):
            continue
    return frozenset(d for d in out if first <= d <= last)


@dataclass(frozen=True)
class AppTime:
    """Time spent with one app (or kind of source) on one day."""

    label: str
    seconds: float
    items: int


def app_totals(events: Sequence[Event], day: date, *,
               item_seconds: float = 60.0) -> tuple[AppTime, ...]:
    """Per app, the time its windows were on screen on local day ``day``, busiest first.

    Counted like the activity chart: a screen event for as long as it was seen
    (at least ``MIN_SCREEN_SECONDS``), clipped to the day; a file chunk, message
    or note as ``item_seconds``. Overlapping screen events (two monitors) are
    each counted, as each was on screen.
    """
    start, end = local_day_bounds(day)
    seconds: dict[str, float] = defaultdict(float)
    items: dict[str, int] = defaultdict(int)
    for event in events:
        if event.source == "screen":
            stop = max(event.ended_at,
                       event.started_at + timedelta(seconds=MIN_SCREEN_SECONDS))
        else:
            stop = event.started_at + timedelta(seconds=item_seconds)
        s, e = max(event.started_at, start), min(stop, end)
        if e <= s:
            continue
        label = activity_label(event)
        seconds[label] += (e - s).total_seconds()
        items[label] += 1
    ranked = sorted(seconds, key=lambda label: (-seconds[label], label.lower()))
    return tuple(AppTime(label, seconds[label], items[label]) for label in ranked)
