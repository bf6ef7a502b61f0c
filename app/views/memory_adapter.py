"""The one place the app touches the memory system (``core.memory``, issue 6).

That package is being built alongside the app; everything the views need from
it goes through here, so when its API settles only this file changes, and
while a piece is missing the views say so instead of showing made-up data.
Functions run on worker threads and return frozen values.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from app.models.sessions import Episode


@dataclass(frozen=True)
class Availability:
    ok: bool
    why: str = ""


def _module(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def availability() -> Availability:
    rows = _module("core.memory.rows")
    if rows is None:
        return Availability(False, "The memory builder isn't part of this build yet.")
    return Availability(True)


def _rows():
    rows = _module("core.memory.rows")
    if rows is None:
        raise LookupError("memories unavailable")
    return rows


def list_memories(engine: Any, memory_type: str, *, include_weak: bool = False) -> list[Any]:
    rows = _rows()
    db = engine.store.reader()
    for name in ("list_memories", "list", "select"):
        fn = getattr(rows, name, None)
        if fn is not None:
            return list(fn(db, type=memory_type, include_weak=include_weak))
    raise LookupError("no list function in core.memory.rows")


def episodes_between(engine: Any, since: datetime, until: datetime) -> list[Episode] | None:
    """Episodic memories overlapping [since, until), or None if memories aren't available."""
    if not availability().ok:
        return None
    try:
        found = list_memories(engine, "episodic", include_weak=True)
    except LookupError:
        return None
    out = []
    for m in found:
        if m.ended_at < since or m.started_at >= until or m.superseded_by is not None:
            continue
        apps = m.fields.get("apps") if isinstance(m.fields, dict) else None
        label = (apps[0] if isinstance(apps, (list, tuple)) and apps
                 else str(m.fields.get("kind", "Episode")))
        out.append(Episode(title=m.title, label=label, start=m.started_at, end=m.ended_at,
                           event_ids=tuple(m.sources), summary=m.text, memory_id=m.id))
    return sorted(out, key=lambda e: e.start)


def episodes_from_sessions(sessions: Sequence[Any]) -> list[Episode]:
    return [Episode(title=s.title, label=s.label, start=s.start, end=s.end,
                    event_ids=s.event_ids) for s in sessions]
