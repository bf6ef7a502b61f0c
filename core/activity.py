"""Activity over time: what a day looked like, per hour and per app, and its episodes.

The Timeline view and any other front end read a day through ``read_day``: one
frozen ``DayData`` (events, hourly activity, episodes, the newest item when the
day is empty), computed on a worker thread with its own reader connection.
Episodes are the episodic memories of that day; until memories exist, sessions
grouped by app and gaps stand in for them.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Sequence

import apsw

from core.memory.service import MemoryService
from core.records import Event, from_epoch, to_epoch
from core.store import events as event_rows

# A screen event seen once (no later frame extended it) still stood for about
# one capture interval of looking at that window.
MIN_SCREEN_SECONDS = 5.0
SESSION_GAP = timedelta(minutes=5)
OTHER_LABEL = "other"


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local calendar day as an aware [start, end) pair (DST-safe)."""
    start = datetime.combine(day, time.min).astimezone()
    end = datetime.combine(day + timedelta(days=1), time.min).astimezone()
    return start, end


def distinct_apps(db: apsw.Connection, limit: int = 200) -> list[str]:
    """Apps that have anything stored, most frequent first."""
    rows = db.execute("SELECT app FROM events WHERE app IS NOT NULL AND app != '' "
                      "GROUP BY app ORDER BY count(*) DESC LIMIT ?", (limit,))
    return [r[0] for r in rows]


def latest_event_time(db: apsw.Connection) -> datetime | None:
    """When the newest stored item started, or None for an empty store."""
    rows = db.execute("SELECT max(started_at) FROM events").fetchall()
    if not rows or rows[0][0] is None:
        return None
    return from_epoch(rows[0][0])


def conversation_around(db: apsw.Connection, event: Event, before: int = 8,
                        after: int = 8) -> list[Event]:
    """The messages of ``event``'s conversation just before and after it, in order."""
    if not event.thread:
        return [event]
    at = to_epoch(event.started_at)
    older = db.execute(
        f"SELECT {event_rows.COLUMNS} FROM events WHERE source = ? AND thread = ? "
        "AND (started_at < ? OR (started_at = ? AND id < ?)) "
        "ORDER BY started_at DESC, id DESC LIMIT ?",
        (event.source, event.thread, at, at, event.id, before)).fetchall()
    newer = db.execute(
        f"SELECT {event_rows.COLUMNS} FROM events WHERE source = ? AND thread = ? "
        "AND (started_at > ? OR (started_at = ? AND id > ?)) "
        "ORDER BY started_at, id LIMIT ?",
        (event.source, event.thread, at, at, event.id, after)).fetchall()
    return ([event_rows.row_to_event(r) for r in reversed(older)] + [event]
            + [event_rows.row_to_event(r) for r in newer])


def activity_label(event: Event) -> str:
    """What a bar segment is called: the app, or the kind of source."""
    if event.app:
        return event.app
    return {"file": "Files", "chat": "Chats", "note": "Notes"}.get(event.source, event.source)


@dataclass(frozen=True)
class DayActivity:
    """Per local hour: seconds of activity per label; what the chart paints."""

    day: date
    hours: tuple[tuple[tuple[str, float], ...], ...]  # 24 × ((label, seconds), …)
    labels: tuple[str, ...]                            # legend order: busiest first
    counts: tuple[int, ...]                            # items per hour (all sources)

    def seconds(self, hour: int, label: str) -> float:
        return dict(self.hours[hour]).get(label, 0.0)

    def total(self, hour: int) -> float:
        return sum(s for _, s in self.hours[hour])

    @property
    def empty(self) -> bool:
        return not any(self.counts)


def day_activity(events: Sequence[Event], day: date, *, max_labels: int = 7,
                 item_seconds: float = 60.0) -> DayActivity:
    """Bucket a day's events per local hour and label.

    Screen events count for the time they were on screen (split across hours,
    at least ``MIN_SCREEN_SECONDS``); a file chunk, message or note is an
    instant, counted as ``item_seconds`` of activity so a chat-only hour still
    shows. The ``max_labels - 1`` busiest labels keep their own colour, the
    rest become "other".
    """
    start, end = local_day_bounds(day)
    buckets: list[dict[str, float]] = [defaultdict(float) for _ in range(24)]
    counts = [0] * 24
    for event in events:
        label = activity_label(event)
        s = max(event.started_at, start)
        if event.source == "screen":
            e = max(event.ended_at, event.started_at + timedelta(seconds=MIN_SCREEN_SECONDS))
        else:
            e = event.started_at + timedelta(seconds=item_seconds)
        e = min(e, end)
        if s >= end or e <= start:
            continue
        hour_of = _hour_index(s, start)
        if 0 <= hour_of < 24:
            counts[hour_of] += 1
        while s < e:
            hour = _hour_index(s, start)
            hour_end = min(e, _hour_start(start, hour + 1))
            if hour_end <= s:  # a repeated wall-clock hour (DST ends): no progress otherwise
                hour_end = e
            if 0 <= hour < 24:
                buckets[hour][label] += (hour_end - s).total_seconds()
            s = hour_end
    totals: Counter[str] = Counter()
    for bucket in buckets:
        totals.update(bucket)
    ranked = [label for label, _ in totals.most_common()]
    keep = ranked if len(ranked) <= max_labels else ranked[:max_labels - 1]
    labels = tuple(keep) + ((OTHER_LABEL,) if len(ranked) > len(keep) else ())
    hours = []
    for bucket in buckets:
        merged: dict[str, float] = defaultdict(float)
        for label, secs in bucket.items():
            merged[label if label in keep else OTHER_LABEL] += secs
        hours.append(tuple((label, merged[label]) for label in labels if merged.get(label)))
    return DayActivity(day, tuple(hours), labels, tuple(counts))


def _hour_start(day_start: datetime, hour: int) -> datetime:
    # Wall-clock hours: on a DST day the local hour boundaries are what a person reads.
    naive = datetime.combine(day_start.date(), time.min) + timedelta(hours=hour)
    return naive.astimezone()


def _hour_index(moment: datetime, day_start: datetime) -> int:
    local = moment.astimezone()
    if local.date() != day_start.date():
        return 24 if local > day_start else -1
    return local.hour


@dataclass(frozen=True)
class Session:
    """A stretch of one app without a long gap: the fallback for episodes."""

    label: str
    start: datetime
    end: datetime
    event_ids: tuple[int, ...]
    title: str            # the window title seen most, or the first line
    image_ids: tuple[int, ...] = ()


def group_sessions(events: Sequence[Event], gap: timedelta = SESSION_GAP) -> list[Session]:
    """Consecutive events of the same label, split where nothing happened for ``gap``."""
    sessions: list[Session] = []
    current: list[Event] = []

    def close() -> None:
        if not current:
            return
        titles = Counter(e.title for e in current if e.title)
        title = titles.most_common(1)[0][0] if titles else (
            current[0].text.strip().splitlines()[0][:80] if current[0].text.strip() else "")
        sessions.append(Session(
            label=activity_label(current[0]), start=current[0].started_at,
            end=max(e.ended_at for e in current), event_ids=tuple(e.id for e in current),
            title=title, image_ids=tuple(e.id for e in current if e.has_image)))

    for event in sorted(events, key=lambda e: (e.started_at, e.id)):
        if current:
            last_end = max(e.ended_at for e in current)
            if (activity_label(event) != activity_label(current[0])
                    or event.started_at - last_end > gap):
                close()
                current = []
        current.append(event)
    close()
    return sessions


@dataclass(frozen=True)
class Episode:
    """One stretch of a day: an episodic memory, or a session grouped from the events."""

    title: str
    label: str            # app or source
    start: datetime
    end: datetime
    event_ids: tuple[int, ...]
    summary: str = ""
    memory_id: int | None = None  # set when it is an episodic memory


def episode_of_memory(m: Any) -> Episode:
    """An episodic memory as a timeline row: labelled by its first app or participant."""
    fields = m.fields if isinstance(m.fields, dict) else dict(m.fields)
    apps = fields.get("apps") or fields.get("participants")
    label = (str(apps[0]) if isinstance(apps, (list, tuple)) and apps
             else str(fields.get("kind") or "episode").capitalize())
    return Episode(title=m.title, label=label, start=m.started_at, end=m.ended_at,
                   event_ids=tuple(m.sources), summary=m.text, memory_id=m.id)


def episode_of_session(s: Session) -> Episode:
    return Episode(title=s.title, label=s.label, start=s.start, end=s.end, event_ids=s.event_ids)


@dataclass(frozen=True)
class DayData:
    """One local day, read once: what the chart, the episode list and the scrubber draw."""

    day: date
    activity: DayActivity
    episodes: tuple[Episode, ...]
    episodes_are_memories: bool
    events: tuple[Event, ...]
    latest: datetime | None  # the newest stored item, to offer a jump when the day is empty


def read_day(memories: MemoryService, day: date) -> DayData:
    """Everything about local day ``day``: events, hourly activity, episodes."""
    since, until = local_day_bounds(day)
    db = memories.store.reader()
    events = event_rows.between(db, since, until)
    episodes = [episode_of_memory(m) for m in memories.episodes_between(since, until)]
    from_memories = bool(episodes)
    if not episodes:
        episodes = [episode_of_session(s) for s in group_sessions(events)]
    latest = latest_event_time(db) if not events else None
    return DayData(day, day_activity(events, day), tuple(episodes), from_memories,
                   tuple(events), latest)
