"""Collapse repeated screen readings into one event that grows longer (pure).

The same window showing the same text for ten minutes is one event, not 200
rows. A reading *continues* the held event when it comes from the same window
(id, app, title, URL) and its text is the same — or has only grown: every word
of the held text is still there, except possibly a last word that was being
typed ("hel" → "hello"). Growth keeps nothing from being lost (the new text
contains the old) while typing a paragraph makes one event, not one per tick.
Any other difference ends the held event, and the caller submits it.

An event is also cut after ``max_seconds``, so a screen left on for hours is
several events and a crash loses at most that much.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, Mapping, TypeVar

P = TypeVar("P")  # the picture kept for the event (opaque here)
Relation = Literal["same", "grew", "new"]


@dataclass(frozen=True)
class WindowIdentity:
    """What makes two readings come from "the same window"."""

    window_id: int | None
    app: str | None
    title: str | None
    url: str | None = None
    process: str | None = None

    def same_window(self, other: WindowIdentity) -> bool:
        return (self.window_id, self.app, self.title, self.url) == \
            (other.window_id, other.app, other.title, other.url)


@dataclass(frozen=True)
class Reading:
    """One tick's view of the active window; text and title already redacted."""

    at: datetime
    window: WindowIdentity
    text: str
    boxes: str = ""  # screentext.encode_boxes, aligned with text.split()
    redacted: Mapping[str, int] = field(default_factory=dict)
    confidence: float = 0.0


def relation(old: Reading, new: Reading) -> Relation:
    """How ``new`` relates to the held ``old`` reading."""
    if not old.window.same_window(new.window):
        return "new"
    if old.text == new.text:
        return "same"
    old_words, new_words = old.text.split(), new.text.split()
    missing = Counter(old_words) - Counter(new_words)
    if not missing:
        return "grew"
    if sum(missing.values()) == 1 and old_words:
        (word,) = missing
        # The word being typed: the held text's last word, now longer.
        if word == old_words[-1] and any(w.startswith(word) and w != word for w in new_words):
            return "grew"
    return "new"


@dataclass(frozen=True)
class Held(Generic[P]):
    """The event being extended: its first time, latest reading and picture."""

    started_at: datetime
    last_seen: datetime
    reading: Reading
    picture: P | None
    ticks: int = 1


@dataclass(frozen=True)
class Step(Generic[P]):
    """The outcome of one reading: what is held now, and what (if anything) is finished.

    ``needs_picture`` is True when the held event's picture should be taken
    from the current frame (a new event, or its text grew).
    """

    held: Held[P]
    finished: Held[P] | None
    relation: Relation
    needs_picture: bool


def advance(held: Held[P] | None, reading: Reading, *,
            max_seconds: float) -> Step[P]:
    """Merge ``reading`` into ``held``: extend it, or finish it and start anew."""
    if held is None:
        return Step(Held(reading.at, reading.at, reading, None), None, "new", True)
    rel = relation(held.reading, reading)
    too_long = reading.at - held.started_at >= timedelta(seconds=max_seconds)
    if rel == "new" or too_long:
        # A screen that did not change is cut at its last sighting; a change
        # means the old text was on screen until about now.
        end = held.last_seen if rel != "new" else reading.at
        finished = replace(held, last_seen=max(end, held.started_at))
        return Step(Held(reading.at, reading.at, reading, None), finished, rel, True)
    if rel == "grew":
        return Step(replace(held, last_seen=reading.at, reading=reading, ticks=held.ticks + 1),
                    None, rel, True)
    return Step(replace(held, last_seen=reading.at, ticks=held.ticks + 1), None, rel, False)


def seen(held: Held[P], at: datetime) -> Held[P]:
    """The screen did not change at ``at``: the held event lasts until then."""
    return replace(held, last_seen=max(held.last_seen, at), ticks=held.ticks + 1)


def finish(held: Held[P], at: datetime) -> Held[P]:
    """End the held event at ``at`` (stop, pause, another window; for idle, the last input)."""
    return replace(held, last_seen=max(held.started_at, at))


def meta_for(held: Held[Any], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-able details of a screen event (word boxes, window, sightings)."""
    r = held.reading
    meta: dict[str, Any] = {"ticks": held.ticks, "ocr_confidence": round(r.confidence, 1)}
    if r.window.process:
        meta["process"] = r.window.process
    if r.window.window_id is not None:
        meta["window_id"] = r.window.window_id
    if r.boxes:
        meta["boxes"] = r.boxes
    if r.redacted:
        meta["redacted"] = dict(r.redacted)
    meta.update(extra or {})
    return meta
