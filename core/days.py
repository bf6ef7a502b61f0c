"""Days at a glance: which days hold anything, where a day's time went per app, and
which day a person typed.

Feeds the Timeline's date picker (days with data are marked, a typed day is
read) and its per-app totals. Both count in the person's local time zone, like the rest of the
timeline (``core.activity.local_day_bounds``).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Sequence

import apsw

from core.activity import MIN_SCREEN_SECONDS, activity_label, local_day_bounds
from core.errors import UsageError
from core.records import Event, to_epoch
from core.timeparse import MONTHS, extract_time_range, parse_when


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


_MONTH_DAY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\.?\s+([a-z]+)\.?,?(?:\s+(\d{4}))?$")
_DAY_MONTH = re.compile(r"^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?(?:\s+(\d{4}))?$")


def parse_day(text: str, today: date | None = None) -> date | None:
    """A day a person typed: 2026-03-14, 14 March, March 14 2025, yesterday, 3 days ago,
    last Friday, in March (its first day). None when it names no day.

    Numeric forms that depend on the locale (14/03/2026) are the front end's to read.
    A day without a year is the most recent one not in the future.
    """
    today = today or date.today()
    value = " ".join(text.strip().lower().split())
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    for pattern, day_first in ((_MONTH_DAY, True), (_DAY_MONTH, False)):
        m = pattern.match(value)
        if m:
            day_text, month_text = (m.group(1), m.group(2)) if day_first else (m.group(2),
                                                                               m.group(1))
            month = MONTHS.get(month_text)
            if month is None:
                return None
            try:
                if m.group(3):
                    return date(int(m.group(3)), month, int(day_text))
                found = date(today.year, month, int(day_text))
                return found if found <= today else date(today.year - 1, month, int(day_text))
            except ValueError:
                return None
    now = datetime.combine(today, datetime.now().time()).astimezone()
    try:
        return parse_when(value, now=now).astimezone().date()
    except UsageError:
        pass
    found = extract_time_range(value, now=now)
    if found is None or found.phrase.strip() != value:
        return None  # only when the whole text is the time expression
    return found.since.astimezone().date()
