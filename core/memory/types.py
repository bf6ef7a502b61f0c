"""The values of the memory system: frozen, typed, safe to hand between threads."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Mapping

from core.records import MEMORY_TYPES, MemoryType

__all__ = ["MEMORY_TYPES", "MemoryType", "Memory", "Candidate", "ConsolidationReport",
           "Origin", "Change", "TypeCounts", "SELF"]

Origin = Literal["rules", "model", "person"]
# The subject of facts about the person themself (speaker "You", a note, the owner).
SELF = "self"


@dataclass(frozen=True)
class Memory:
    """A stored memory.

    ``fields`` holds the structured fields of its type:

    - core / semantic facts: ``subject`` ("self" or a name), ``subject_name``,
      ``attribute`` (e.g. ``lives_in``), ``value``;
    - episodic: ``kind`` (work session, conversation, files), ``apps``,
      ``participants``, ``conversation``, ``summary`` (sentences with the event
      each came from);
    - procedural: ``steps``, ``commands`` (bool), ``from_event``.

    ``valid_from``/``valid_until`` bound the time the memory was true;
    ``superseded_by`` names the newer memory that replaced it. Strength is not
    stored: it is computed from ``importance``, ``stability`` and
    ``reinforced_at`` by ``core.memory.forgetting`` for any "now".
    """

    id: int
    type: MemoryType
    title: str
    text: str
    fields: Mapping[str, Any]
    importance: float
    stability: float
    reinforced_at: datetime
    recall_count: int
    evidence_count: int
    created_at: datetime
    updated_at: datetime
    last_recalled: datetime | None
    valid_from: datetime
    valid_until: datetime | None
    started_at: datetime
    ended_at: datetime
    superseded_by: int | None
    pinned: bool
    origin: str
    fact_key: str | None = None
    group_key: str | None = None
    entities: str = ""
    sources: tuple[int, ...] = ()

    @property
    def current(self) -> bool:
        """True while no newer memory has replaced it."""
        return self.superseded_by is None and self.valid_until is None


@dataclass(frozen=True)
class Candidate:
    """A memory a builder proposes, before the policy compares it with what is stored.

    ``sources`` are event ids (never empty). ``valid_from`` is when the fact was
    stated / the episode began. ``extends`` (episodes only) names a stored
    episode this candidate continues, with its ``updated_at`` seen at planning
    time so a concurrent change is noticed.
    """

    type: MemoryType
    title: str
    text: str
    sources: tuple[int, ...]
    valid_from: datetime
    started_at: datetime
    ended_at: datetime
    importance: float
    origin: Origin = "rules"
    fields: Mapping[str, Any] = field(default_factory=dict)
    fact_key: str | None = None
    group_key: str | None = None
    entities: str = ""
    extends: int | None = None
    extends_updated: float | None = None


@dataclass(frozen=True)
class Change:
    """One row of a memory's history, for display and undo."""

    id: int
    change_id: int
    memory_id: int
    action: str
    actor: str
    at: datetime
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    sources_added: tuple[int, ...]
    sources_removed: tuple[int, ...]
    related_id: int | None
    note: str | None
    scrubbed: bool
    undone_by: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "change_id": self.change_id, "memory_id": self.memory_id,
            "action": self.action, "actor": self.actor, "at": self.at.isoformat(),
            "before": dict(self.before) if self.before else None,
            "after": dict(self.after) if self.after else None,
            "sources_added": list(self.sources_added),
            "sources_removed": list(self.sources_removed),
            "related_id": self.related_id, "note": self.note,
            "scrubbed": self.scrubbed, "undone_by": self.undone_by,
        }


ACTIONS = ("added", "merged", "superseded", "ignored", "rejected")


@dataclass(frozen=True)
class TypeCounts:
    """How many candidates of one memory type met each fate."""

    added: int = 0
    merged: int = 0
    superseded: int = 0
    ignored: int = 0
    rejected: int = 0

    def plus(self, action: str, n: int = 1) -> "TypeCounts":
        values = {a: getattr(self, a) for a in ACTIONS}
        values[action] += n
        return TypeCounts(**values)

    def __add__(self, other: "TypeCounts") -> "TypeCounts":
        return TypeCounts(**{a: getattr(self, a) + getattr(other, a) for a in ACTIONS})


@dataclass(frozen=True)
class ConsolidationReport:
    """What one consolidation run did.

    ``counts`` per memory type; ``rejected_reasons`` counts why model output was
    refused (no source, a source outside the batch, content not in the
    sources) and ``model_candidates`` how many passed; ``model_failures``
    counts chunks where the model produced no valid structured output at all.
    ``cancelled`` is True when the run stopped early on request; everything
    committed before that stays.
    """

    events: int = 0
    batches: int = 0
    counts: Mapping[str, TypeCounts] = field(default_factory=dict)
    rejected_reasons: Mapping[str, int] = field(default_factory=dict)
    model_used: bool = False
    model_candidates: int = 0
    model_failures: int = 0
    cancelled: bool = False
    pending: int = 0

    def count(self, memory_type: str) -> TypeCounts:
        return self.counts.get(memory_type, TypeCounts())

    def total(self, action: str) -> int:
        return sum(getattr(c, action) for c in self.counts.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events, "batches": self.batches,
            "counts": {t: {a: getattr(self.count(t), a) for a in ACTIONS} for t in MEMORY_TYPES},
            "totals": {a: self.total(a) for a in ACTIONS},
            "rejected_reasons": dict(self.rejected_reasons),
            "model_used": self.model_used, "model_candidates": self.model_candidates,
            "model_failures": self.model_failures,
            "cancelled": self.cancelled, "pending": self.pending,
        }
