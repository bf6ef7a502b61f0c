"""Collapse repeated screen readings into one event that grows longer (pure).

The same window showing the same text for ten minutes is one event, not 200
rows. A reading from the same window (id, app, title, URL) continues the held
event when its text is:

- the same — the event just lasts longer;
- grown: every word of the held text is still there, except possibly a last
  word being typed ("hel" → "hello") — typing a paragraph is one event;
- edited: at least half of its lines are lines the held text has (a line
  changed in an editor, a message arrived in a chat, a page scrolled a bit).
  Lines that left the screen stay in the event (``Held.gone``), so nothing
  that was shown is lost, while an editor whose one line changes every few
  seconds is not stored as hundreds of near-identical rows, each with its own
  thumbnail and embedding. Drafts of a line being typed are not kept.

Anything else — another window, or mostly different text — ends the held event
and the caller submits it. An event is also cut after ``max_seconds``, and when
the lines it keeps from earlier outgrow what is on screen now (``gone_chars``),
so events stay about one screen and a crash loses at most that much.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, Mapping, Sequence, TypeVar

P = TypeVar("P")  # the picture kept for the event (opaque here)
Relation = Literal["same", "grew", "edited", "new"]

EDIT_SHARE = 0.5  # lines in common (of the larger of both) for an edit, not a new screen
_MARKER = re.compile(r"\[redacted:([a-z-]+)\]")


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


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


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
    old_lines, new_lines = _lines(old.text), _lines(new.text)
    shared = sum((Counter(old_lines) & Counter(new_lines)).values())
    if shared and shared >= EDIT_SHARE * max(len(old_lines), len(new_lines)):
        return "edited"
    return "new"


def _superseded(line: str, current: Sequence[str]) -> bool:
    """A draft of a line now on screen: the line as it was while being typed.

    Only forward typing counts (the current line starts with all but the last
    word of the old one, and is at least as long): an edited value ("3pm" →
    "4pm") or deleted words are kept, they may be what someone looks for.
    """
    words = line.split()
    stem = " ".join(words[:-1]) if len(words) > 1 else line
    return any(now.startswith(stem) and len(now) >= len(line) for now in current)


def gone_lines(held_text: str, held_gone: Sequence[str], new_text: str) -> tuple[str, ...]:
    """Lines shown earlier in the event and not on screen now (drafts left out)."""
    current = _lines(new_text)
    present = set(current)
    out: list[str] = []
    for line in [*_lines(held_text), *held_gone]:
        if line not in present and line not in out and not _superseded(line, current):
            out.append(line)
    return tuple(out)


@dataclass(frozen=True)
class Held(Generic[P]):
    """The event being extended: its first time, latest reading, lines gone, picture."""

    started_at: datetime
    last_seen: datetime
    reading: Reading
    picture: P | None
    ticks: int = 1
    gone: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """What the event stores: the screen as last seen, then lines seen before it."""
        return "\n".join([self.reading.text, *self.gone]) if self.gone else self.reading.text


@dataclass(frozen=True)
class Step(Generic[P]):
    """The outcome of one reading: what is held now, and what (if anything) is finished.

    ``needs_picture`` is True when the held event's picture should be taken
    from the current frame (a new event, or its text changed).
    """

    held: Held[P]
    finished: Held[P] | None
    relation: Relation
    needs_picture: bool


def advance(held: Held[P] | None, reading: Reading, *, max_seconds: float,
            gone_chars: int = 2000) -> Step[P]:
    """Merge ``reading`` into ``held``: extend it, or finish it and start anew.

    An edit that would make the kept earlier lines longer than both the screen
    now and ``gone_chars`` starts a new event instead.
    """
    if held is None:
        return Step(Held(reading.at, reading.at, reading, None), None, "new", True)
    rel = relation(held.reading, reading)
    too_long = reading.at - held.started_at >= timedelta(seconds=max_seconds)
    gone: tuple[str, ...] = held.gone
    if rel in ("grew", "edited"):
        gone = gone_lines(held.reading.text, held.gone, reading.text)
        if rel == "edited" and sum(len(g) + 1 for g in gone) > max(gone_chars,
                                                                   len(reading.text)):
            rel = "new"
    if rel == "new" or too_long:
        # A screen that did not change is cut at its last sighting; a change
        # means the old text was on screen until about now.
        end = held.last_seen if rel != "new" else reading.at
        finished = replace(held, last_seen=max(end, held.started_at))
        return Step(Held(reading.at, reading.at, reading, None), finished, rel, True)
    if rel in ("grew", "edited"):
        return Step(replace(held, last_seen=reading.at, reading=reading, ticks=held.ticks + 1,
                            gone=gone), None, rel, True)
    return Step(replace(held, last_seen=reading.at, ticks=held.ticks + 1), None, rel, False)


def seen(held: Held[P], at: datetime) -> Held[P]:
    """The screen did not change at ``at``: the held event lasts until then."""
    return replace(held, last_seen=max(held.last_seen, at), ticks=held.ticks + 1)


def finish(held: Held[P], at: datetime) -> Held[P]:
    """End the held event at ``at`` (stop, pause, another window; for idle, the last input)."""
    return replace(held, last_seen=max(held.started_at, at))


def meta_for(held: Held[Any], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-able details of a screen event (word boxes, window, sightings).

    ``boxes`` cover the tokens of the screen as last seen (the thumbnail's);
    the lines kept from earlier in the event come after them, without boxes.
    """
    r = held.reading
    meta: dict[str, Any] = {"ticks": held.ticks, "ocr_confidence": round(r.confidence, 1)}
    if r.window.process:
        meta["process"] = r.window.process
    if r.window.window_id is not None:
        meta["window_id"] = r.window.window_id
    if r.boxes:
        meta["boxes"] = r.boxes
    if held.gone:
        meta["earlier_lines"] = len(held.gone)
    # What the stored text holds, earlier lines included (their readings are gone).
    redacted = Counter(_MARKER.findall(held.text))
    if redacted:
        meta["redacted"] = dict(sorted(redacted.items()))
    meta.update(extra or {})
    return meta
