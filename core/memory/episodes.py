"""Episodes: events grouped by app / conversation / folder and split at time gaps (pure).

A screen episode is a stretch of work in one application; a chat episode is one
conversation session; a file episode is a stretch of editing files in one
folder. Grouping is by a *group key* plus a gap threshold, so a stored episode
can be continued by events that arrive in a later batch (``integrate`` looks up
the open episode with the same key whose end is within the gap).
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Sequence

from core.memory.facts import Voice, facts_from_text
from core.memory.text import shorten, summarize
from core.temporal import day_label
from core.records import Event

GAPS = {
    "screen": timedelta(minutes=10),   # away longer than this: a new work session
    "chat": timedelta(hours=2),        # a pause this long starts a new conversation
    "file": timedelta(minutes=30),
}
SESSION_GAP = timedelta(hours=12)      # chats that name their sessions: trust the session
MIN_SCREEN_SECONDS = 60.0


@dataclass(frozen=True)
class EpisodeDraft:
    """Events of one group, in time order, with no gap larger than the group's."""

    group_key: str
    kind: str
    events: tuple[Event, ...]

    @property
    def started_at(self):  # noqa: ANN201 - datetime
        return self.events[0].started_at

    @property
    def ended_at(self):  # noqa: ANN201 - datetime
        return max(e.ended_at for e in self.events)


@dataclass(frozen=True)
class EpisodeDescription:
    """What an episode says about itself: title, text and structured fields."""

    title: str
    text: str
    fields: dict[str, Any]
    entities: str
    importance: float


def group_key(event: Event) -> str | None:
    """The group an event's episode belongs to; None for sources without episodes."""
    if event.source == "screen":
        return f"screen|{event.app or '?'}"
    if event.source == "chat":
        session = str(event.meta.get("session") or "")
        return f"chat|{event.thread or '?'}|{session}"
    if event.source == "file":
        folder = os.path.dirname(event.path) if event.path else "?"
        return f"file|{folder}"
    return None


def kind_of(key: str) -> str:
    return key.split("|", 1)[0]


def gap_for(key: str) -> timedelta:
    """How far apart two events of ``key`` may be and still share an episode."""
    kind = kind_of(key)
    if kind == "chat" and not key.endswith("|"):
        return SESSION_GAP
    return GAPS.get(kind, timedelta(minutes=30))


def group_events(events: Sequence[Event]) -> list[EpisodeDraft]:
    """Split ``events`` into drafts: by group key, then at gaps (events in any order)."""
    by_key: dict[str, list[Event]] = {}
    for event in events:
        key = group_key(event)
        if key is not None:
            by_key.setdefault(key, []).append(event)
    drafts: list[EpisodeDraft] = []
    for key, group in by_key.items():
        group.sort(key=lambda e: (e.started_at, e.id))
        gap = gap_for(key)
        current: list[Event] = [group[0]]
        end = group[0].ended_at
        for event in group[1:]:
            if event.started_at - end > gap:
                drafts.append(EpisodeDraft(key, kind_of(key), tuple(current)))
                current, end = [], event.ended_at
            current.append(event)
            end = max(end, event.ended_at)
        drafts.append(EpisodeDraft(key, kind_of(key), tuple(current)))
    drafts.sort(key=lambda d: (d.started_at, d.group_key))
    return drafts


def worth_keeping(kind: str, events: Sequence[Event]) -> bool:
    """Too little to remember: a glance at a window, a one-message exchange."""
    if kind == "screen":
        span = (max(e.ended_at for e in events) - events[0].started_at).total_seconds()
        return span >= MIN_SCREEN_SECONDS
    if kind == "chat":
        return len(events) >= 2
    return bool(events)


def describe(key: str, events: Sequence[Event], *, owner_names: Sequence[str] = ()) -> EpisodeDescription:
    """Title, text (a lead sentence plus an extractive summary) and fields of an episode."""
    events = sorted(events, key=lambda e: (e.started_at, e.id))
    kind = kind_of(key)
    start, end = events[0].started_at, max(e.ended_at for e in events)
    minutes = (end - start).total_seconds() / 60.0
    day = day_label(start.astimezone().date())
    summary = _chat_summary(events, owner_names) if kind == "chat" else []
    if not summary:
        summary = summarize([(e.id, e.text) for e in events])
    fields: dict[str, Any] = {"kind": kind, "events": len(events),
                              "summary": [[eid, s] for eid, s in summary]}
    entities: list[str] = []
    if kind == "screen":
        app = events[0].app or "an application"
        titles = [t for t, _n in Counter(e.title for e in events if e.title).most_common(3)]
        title = f"{app}: {shorten(titles[0], 70)}" if titles else f"Working in {app}"
        lead = f"On {day} you spent {_duration(minutes).lower()} in {app}" + (
            f" ({'; '.join(titles)})" if titles else "") + "."
        fields.update(apps=[app], window_titles=titles)
        entities = [app]
    elif kind == "chat":
        speakers = [s for s, _n in Counter(e.speaker for e in events if e.speaker).most_common()]
        owners = {n.lower() for n in owner_names} | {"you"}
        others = [s for s in speakers if s.lower() not in owners]
        thread = events[0].thread
        app = events[0].app
        who = _names(others or speakers) or "someone"
        with_owner = any(s.lower() in owners for s in speakers)
        title = f"Conversation with {who}" if with_owner else f"Conversation between {who}"
        if thread and thread not in speakers:
            title += f" ({thread})"
        talked = f"you talked with {who}" if with_owner else (
            f"{_names(speakers)} talked" if len(speakers) > 1 else f"{who} wrote")
        lead = f"On {day} {talked}" + (f" on {app}" if app else "") + "."
        fields.update(participants=speakers, conversation=thread, apps=[app] if app else [])
        entities = speakers + ([thread] if thread else []) + ([app] if app else [])
    else:
        names = [os.path.basename(p) for p, _n in
                 Counter(e.path for e in events if e.path).most_common(5)]
        folder = key.split("|", 1)[1]
        title = f"Editing {names[0]}" + (f" and {len(names) - 1} more" if len(names) > 1 else "") \
            if names else f"Files in {folder}"
        lead = f"On {day} you worked on {', '.join(names) or 'files'} in {folder}."
        fields.update(paths=names, folder=folder)
        entities = names
    text = " ".join([lead] + [s for _eid, s in summary])
    importance = 0.3 + min(0.2, minutes / 300.0) + min(0.1, len(events) / 500.0)
    return EpisodeDescription(title=shorten(title, 120), text=text, fields=fields,
                              entities=" ".join(dict.fromkeys(entities)),
                              importance=round(importance, 3))


def _chat_summary(events: Sequence[Event], owner_names: Sequence[str]) -> list[tuple[int, str]]:
    """The most central facts the participants stated, already in the third person."""
    owners = {n.lower() for n in owner_names} | {"you", "me"}
    speakers = sorted({e.speaker for e in events if e.speaker})
    parts: dict[str, list[tuple[int, str]]] = {}
    for event in events:
        if not event.speaker:
            continue
        others = [s for s in speakers if s != event.speaker]
        own = event.speaker.lower() in owners
        name = "You" if own else event.speaker
        addressee = None if own or len(others) != 1 else (
            "you" if others[0].lower() in owners else others[0])
        for fact in facts_from_text(event.text, Voice(name, addressee),
                                    event.started_at.astimezone()):
            parts.setdefault(name, []).append((event.id, fact.text))
    # Each participant's most central facts, so the episode says what each one said.
    per = max(1, 4 // max(1, len(parts)))
    chosen = [p for said in parts.values() for p in summarize(said, max_sentences=per,
                                                              max_chars=130 * per)]
    order = {e.id: n for n, e in enumerate(events)}
    return sorted(chosen, key=lambda p: order.get(p[0], 0))


def _duration(minutes: float) -> str:
    if minutes < 1.5:
        return "A minute"
    if minutes < 90:
        return f"{round(minutes)} minutes"
    return f"{minutes / 60:.1f} hours"


def _names(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    if len(names) <= 3:
        return ", ".join(names[:-1]) + " and " + names[-1]
    return ", ".join(names[:3]) + f" and {len(names) - 3} others"
