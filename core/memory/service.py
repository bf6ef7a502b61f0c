"""The memory system as the app, the CLI and other front ends use it: one typed service.

Reads return frozen records; every write returns a ``MemoryEdit`` whose
``changes`` say what moved, so a front end refreshes once from it. Counting
lives here once: "current" means not replaced (``superseded_by``) and not
ended (``valid_until``), for the Memories tabs and `engram status` alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from core.memory import edits, history, rows
from core.memory.consolidate import Extractor, consolidate
from core.memory.search import is_weak, list_memories, related, strength_of
from core.memory.types import MEMORY_TYPES, Change, ConsolidationReport, Memory
from core.pipeline import Pipeline
from core.progress import Cancel, ProgressFn
from core.records import Changes, Event, utcnow
from core.store import Store
from core.store import events as event_rows

CURRENT = "superseded_by IS NULL AND valid_until IS NULL"


@dataclass(frozen=True)
class MemoryItem:
    """A memory with how strong it is now (the forgetting curve) and whether it faded."""

    memory: Memory
    strength: float
    weak: bool

    @property
    def id(self) -> int:
        return self.memory.id


@dataclass(frozen=True)
class MemoryDetails:
    """Everything shown about one memory: its sources, history, replacement, relatives."""

    item: MemoryItem
    sources: tuple[Event, ...]            # oldest first
    history: tuple[Change, ...]           # oldest first
    replaced_by: Memory | None            # the newer memory, when superseded
    related: tuple[tuple[Memory, str], ...] = ()  # (memory, link kind)


@dataclass(frozen=True)
class MemoryEdit:
    """What a person's edit did: the memory, the undoable change, and what changed."""

    memory_id: int
    change_id: int
    changes: Changes


class MemoryService:
    """Memories over one store: list, count, show, edit, undo, build.

    ``settings`` is anything with ``get(key)`` (the owner's names for the rules).
    """

    def __init__(self, store: Store, pipeline: Pipeline, settings: Mapping[str, Any] | Any
                 ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.settings = settings

    # -- reading ---------------------------------------------------------------------------
    def item(self, memory: Memory, now: datetime | None = None) -> MemoryItem:
        """``memory`` with its strength at ``now``."""
        now = now or utcnow()
        return MemoryItem(memory, float(strength_of(memory, now)), bool(is_weak(memory, now)))

    def list(self, *types: str, include_all: bool = False, since: datetime | None = None,
             until: datetime | None = None) -> list[MemoryItem]:
        """Current, not faded memories (of these types, or all); with ``include_all`` every one."""
        now = utcnow()
        found = list_memories(self.store.reader(), types=types, include_all=include_all,
                              now=now, since=since, until=until)
        return [self.item(m, now) for m in found]

    def counts(self) -> dict[str, int]:
        """Current memories per type, in type order (the one definition of the count)."""
        found = dict(self.store.reader().execute(
            f"SELECT type, count(*) FROM memories WHERE {CURRENT} GROUP BY type").fetchall())
        return {t: int(found[t]) for t in MEMORY_TYPES if t in found}

    def pending(self) -> int:
        """Captured items not yet turned into memories."""
        return rows.pending_events(self.store.reader())

    def get(self, memory_id: int) -> Memory | None:
        return rows.get(self.store.reader(), memory_id)

    def details(self, memory_id: int) -> MemoryDetails | None:
        """One memory with its sources, history and relatives; None when it is gone."""
        db = self.store.reader()
        m = rows.get(db, memory_id)
        if m is None:
            return None
        events = event_rows.get_many(db, list(m.sources))
        sources = tuple(sorted(events.values(), key=lambda e: (e.started_at, e.id)))
        replaced = rows.get(db, m.superseded_by) if m.superseded_by else None
        return MemoryDetails(self.item(m), sources, tuple(history.of_memory(db, memory_id)),
                             replaced, tuple(related(db, memory_id, current_only=False)))

    def history(self, memory_id: int) -> tuple[Change, ...]:
        """A memory's recorded changes, oldest first (also after it was deleted)."""
        return tuple(history.of_memory(self.store.reader(), memory_id))

    def episodes_between(self, since: datetime, until: datetime) -> list[Memory]:
        """Current episodic memories overlapping [since, until), earliest first."""
        found = list_memories(self.store.reader(), types=("episodic",), include_all=True,
                              since=since, until=until)
        return sorted((m for m in found if m.superseded_by is None),
                      key=lambda m: (m.started_at, m.id))

    # -- writing ---------------------------------------------------------------------------
    def add(self, text: str, memory_type: str = "core") -> MemoryEdit:
        """A memory the person writes themself."""
        return self._edit(edits.add_memory(self, text, memory_type=memory_type))

    def edit(self, memory_id: int, text: str) -> MemoryEdit:
        return self._edit(edits.edit_memory(self, memory_id, text))

    def pin(self, memory_id: int, pinned: bool = True) -> MemoryEdit:
        return self._edit(edits.pin_memory(self, memory_id, pinned))

    def delete(self, memory_id: int, *, purge: bool = False) -> MemoryEdit:
        return self._edit(edits.delete_memory(self, memory_id, purge=purge))

    def undo(self, change_id: int) -> MemoryEdit:
        return self._edit(edits.undo_change(self, change_id))

    def build(self, *, extractor: Extractor | None = None, progress: ProgressFn | None = None,
              cancel: Cancel | None = None, batch_size: int | None = None
              ) -> ConsolidationReport:
        """Build memories from the items not consolidated yet (`engram consolidate`)."""
        extra = {"batch_size": batch_size} if batch_size else {}
        return consolidate(self, extractor=extractor, progress=progress, cancel=cancel, **extra)

    @staticmethod
    def _edit(result: edits.EditResult) -> MemoryEdit:
        return MemoryEdit(result.memory_id, result.change_id,
                          Changes(memories=(result.memory_id,)))


__all__ = ["CURRENT", "MemoryDetails", "MemoryEdit", "MemoryItem", "MemoryService"]
