"""The one place the app touches the memory system (``core.memory``, issue 6).

That package is being built alongside the app; everything the views need from
it goes through here, so when its API moves only this file changes, and while
a piece is missing the views say so instead of showing made-up data.
Functions run on worker threads and return frozen values.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from app.models.sessions import Episode
from core.records import Event, utcnow


@dataclass(frozen=True)
class Availability:
    ok: bool
    why: str = ""
    can_pin: bool = False


@dataclass(frozen=True)
class MemoryItem:
    """A memory as the Memories view shows it."""

    memory: Any            # core.memory.types.Memory (frozen)
    strength: float
    weak: bool

    @property
    def id(self) -> int:
        return self.memory.id


@dataclass(frozen=True)
class MemoryDetails:
    item: MemoryItem
    sources: tuple[Event, ...]
    history: tuple[Any, ...]   # core.memory.types.Change, oldest first
    replaced_by: Any | None    # the newer memory, when superseded


def _module(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def availability() -> Availability:
    search, edits = _module("core.memory.search"), _module("core.memory.edits")
    history = _module("core.memory.history")
    if not (search and edits and history and hasattr(search, "list_memories")
            and hasattr(edits, "edit_memory")):
        return Availability(False, "The memory builder isn't part of this build yet.")
    return Availability(True, can_pin=hasattr(edits, "pin_memory"))


def _item(m: Any, now: datetime) -> MemoryItem:
    search = importlib.import_module("core.memory.search")
    return MemoryItem(m, float(search.strength_of(m, now)), bool(search.is_weak(m, now)))


def list_memories(engine: Any, memory_type: str, *, include_all: bool = False) -> list[MemoryItem]:
    search = importlib.import_module("core.memory.search")
    now = utcnow()
    found = search.list_memories(engine.store.reader(), types=(memory_type,),
                                 include_all=include_all, now=now)
    return [_item(m, now) for m in found]


def counts(engine: Any) -> dict[str, int]:
    """Current memories per type (for the tab titles)."""
    db = engine.store.reader()
    try:
        rows = db.execute("SELECT type, count(*) FROM memories WHERE superseded_by IS NULL "
                          "AND valid_until IS NULL GROUP BY type").fetchall()
    except Exception:  # no memories table yet in this store
        return {}
    return {r[0]: r[1] for r in rows}


def details(engine: Any, memory_id: int) -> MemoryDetails | None:
    from core.store import events as event_rows

    rows = importlib.import_module("core.memory.rows")
    history = importlib.import_module("core.memory.history")
    db = engine.store.reader()
    m = rows.get(db, memory_id)
    if m is None:
        return None
    events = event_rows.get_many(db, list(m.sources))
    sources = tuple(sorted(events.values(), key=lambda e: e.started_at))
    replaced = rows.get(db, m.superseded_by) if m.superseded_by else None
    return MemoryDetails(_item(m, utcnow()), sources, tuple(history.of_memory(db, memory_id)),
                         replaced)


def edit(engine: Any, memory_id: int, text: str) -> int:
    edits = importlib.import_module("core.memory.edits")
    return edits.edit_memory(engine, memory_id, text).change_id


def delete(engine: Any, memory_id: int) -> int:
    return importlib.import_module("core.memory.edits").delete_memory(engine, memory_id).change_id


def undo(engine: Any, change_id: int) -> int:
    return importlib.import_module("core.memory.edits").undo_change(engine, change_id).change_id


def add(engine: Any, text: str, memory_type: str) -> int:
    return importlib.import_module("core.memory.edits").add_memory(
        engine, text, memory_type=memory_type).memory_id


def pin(engine: Any, memory_id: int, pinned: bool) -> None:
    edits = importlib.import_module("core.memory.edits")
    if not hasattr(edits, "pin_memory"):
        raise LookupError("pinning is not available in this build")
    edits.pin_memory(engine, memory_id, pinned)


def episodes_between(engine: Any, since: datetime, until: datetime) -> list[Episode] | None:
    """Episodic memories overlapping [since, until), or None if memories aren't available."""
    if not availability().ok:
        return None
    search = importlib.import_module("core.memory.search")
    try:
        found = search.list_memories(engine.store.reader(), types=("episodic",),
                                     include_all=True)
    except Exception:  # a store without the memories tables: fall back to sessions
        return None
    out = []
    for m in found:
        if m.ended_at < since or m.started_at >= until or m.superseded_by is not None:
            continue
        fields = m.fields if isinstance(m.fields, dict) else dict(m.fields)
        apps = fields.get("apps") or fields.get("participants")
        label = (str(apps[0]) if isinstance(apps, (list, tuple)) and apps
                 else str(fields.get("kind") or "episode").capitalize())
        out.append(Episode(title=m.title, label=label, start=m.started_at, end=m.ended_at,
                           event_ids=tuple(m.sources), summary=m.text, memory_id=m.id))
    return sorted(out, key=lambda e: e.start)


def episodes_from_sessions(sessions: Sequence[Any]) -> list[Episode]:
    return [Episode(title=s.title, label=s.label, start=s.start, end=s.end,
                    event_ids=s.event_ids) for s in sessions]


def pending(engine: Any) -> int:
    """Captured items not yet turned into memories."""
    rows = importlib.import_module("core.memory.rows")
    try:
        return int(rows.pending_events(engine.store.reader()))
    except Exception:  # a store without the memories tables yet
        return 0


def consolidate(engine: Any, job: Any) -> Any:
    """Build memories from new items now (what `engram consolidate` does), cancellable.

    Uses the chat model's extractor when one is set up, like the CLI; ``job``
    reports progress and its ``cancel`` stops between batches.
    """
    consolidate_mod = importlib.import_module("core.memory.consolidate")
    extractor = engine.memory_extractor()
    return consolidate_mod.consolidate(
        engine, extractor=extractor, cancel=job.cancel,
        progress=lambda p: job.report(p.done, p.total, "items"))
