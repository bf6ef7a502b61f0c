"""What forgetting events does to the memories built from them.

``on_events_forgotten`` runs inside the transaction that deletes the events
(``core.pipeline.Pipeline.forget`` calls it), so an event and what was learned
only from it disappear together or not at all:

- a memory whose every source was forgotten is removed (row, keyword index,
  vectors); memories it had superseded become current again;
- a memory with other sources keeps them and is re-derived from what remains
  when its text quoted the forgotten event: an episode's summary and time span
  are rebuilt, a procedure is re-read from another source (or removed when
  none has it), a model-written memory is removed unless its words are still
  found in the remaining sources; its vector is dropped for re-embedding;
- history rows that held content from the forgotten events lose their
  snapshots (they can no longer be undone), and the removal is logged without
  content.

``on_events_expired`` is the gentler path of retention (captures past their
keep-for age or over the disk budget) when the person chose to keep what was
learned: memories stay as they are and only lose their links to the expired
events, noted in their history.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import apsw

from core.memory import history, rows
from core.memory.episodes import describe
from core.memory.grounding import grounded
from core.memory.history import ChangeLog
from core.memory.procedures import procedures, steps_signature
from core.memory.text import overlap
from core.memory.types import Memory
from core.records import utcnow
from core.store import events as event_rows


@dataclass(frozen=True)
class ForgetOutcome:
    removed: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()


def on_events_forgotten(db: apsw.Connection, event_ids: Sequence[int]) -> ForgetOutcome:
    """Update memories after ``event_ids`` were deleted (writer connection, same transaction)."""
    ids = sorted({int(e) for e in event_ids})
    if not ids:
        return ForgetOutcome()
    affected: dict[int, set[int]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for mid, eid in db.execute(
                f"SELECT memory_id, event_id FROM memory_sources WHERE event_id IN ({marks})", chunk):
            affected.setdefault(mid, set()).add(eid)
        db.execute(f"DELETE FROM memory_sources WHERE event_id IN ({marks})", chunk)
    # Content that drew on the forgotten events leaves history first.
    history.scrub_memory(db, list(affected))
    history.scrub_for_events(db, ids)
    log = ChangeLog(db, actor="forget", now=utcnow())
    removed: list[int] = []
    updated: list[int] = []
    for mid in sorted(affected):
        memory = rows.get(db, mid)
        if memory is None:
            continue
        gone = affected[mid]
        if not memory.sources or not _refresh(db, memory, gone):
            _remove(db, log, memory)
            removed.append(mid)
            continue
        log.record(mid, "forget-source", before=None, after=None,
                   note=f"{len(gone)} source{'s' if len(gone) != 1 else ''} forgotten")
        updated.append(mid)
    _fix_cursor(db)
    if removed or updated:
        # Merge index segments so deleted terms are gone from the index pages too.
        db.execute("INSERT INTO memories_fts(memories_fts) VALUES ('optimize')")
    return ForgetOutcome(tuple(removed), tuple(updated))


def on_events_expired(db: apsw.Connection, event_ids: Sequence[int]) -> ForgetOutcome:
    """Unlink memories from expired events, keeping the memories (same transaction)."""
    ids = sorted({int(e) for e in event_ids})
    affected: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for (mid,) in db.execute(
                f"DELETE FROM memory_sources WHERE event_id IN ({marks}) RETURNING memory_id",
                chunk).fetchall():
            affected[mid] = affected.get(mid, 0) + 1
    log = ChangeLog(db, actor="retention", now=utcnow())
    for mid, n in sorted(affected.items()):
        log.record(mid, "forget-source", before=None, after=None,
                   note=f"{n} source{'s' if n != 1 else ''} expired (kept by your retention "
                        "settings; the memory stays)")
    return ForgetOutcome(updated=tuple(sorted(affected)))


def _remove(db: apsw.Connection, log: ChangeLog, memory: Memory) -> None:
    for (older,) in db.execute("SELECT id FROM memories WHERE superseded_by = ?",
                               (memory.id,)).fetchall():
        before = rows.snapshot(db, older)
        rows.update(db, older, valid_until=None, superseded_by=None, updated_at=utcnow())
        log.record(older, "revive", before=before, after=rows.snapshot(db, older),
                   related_id=memory.id, note=f"#{memory.id}, which had replaced it, was forgotten")
    rows.remove(db, memory.id)
    history.scrub_memory(db, [memory.id])
    log.record(memory.id, "forgotten", before=None, after=None,
               note="removed: the events it came from were forgotten")


def _refresh(db: apsw.Connection, memory: Memory, gone: set[int]) -> bool:
    """Re-derive ``memory`` from its remaining sources; False when it must go."""
    remaining = event_rows.get_many(db, list(memory.sources))
    if not remaining:
        return False
    values: dict[str, Any] = {"evidence_count": max(1, memory.evidence_count - len(gone)),
                              "updated_at": utcnow()}
    edited = bool(memory.fields.get("edited"))
    if memory.origin == "model" and not edited:
        texts = [f"{e.speaker or ''} {e.thread or ''} {e.title or ''} {e.text}"
                 for e in remaining.values()]
        claims = [str(memory.fields.get("value") or "")] if memory.fields.get("value") \
            else list(memory.fields.get("steps") or [memory.text])
        if not grounded(claims, texts):
            return False
    elif memory.type == "episodic" and memory.group_key and not edited:
        events = sorted(remaining.values(), key=lambda e: (e.started_at, e.id))
        d = describe(memory.group_key, events)
        values.update(title=d.title, text=d.text, fields=d.fields, entities=d.entities,
                      started_at=events[0].started_at,
                      ended_at=max(e.ended_at for e in events),
                      valid_from=events[0].started_at)
        rows.drop_vectors(db, [memory.id])
    elif memory.type == "procedural" and memory.fields.get("from_event") in gone and not edited:
        wanted = steps_signature(list(memory.fields.get("steps") or []))
        best = None
        for event in remaining.values():
            context = event.title or event.thread or event.app
            for proc in procedures(event.text, context=context):
                score = overlap(wanted, steps_signature(list(proc.steps)))
                if best is None or score > best[0]:
                    best = (score, proc, event)
        if best is None:
            return False
        _score, proc, event = best
        values.update(title=proc.title, text=proc.text,
                      fields={**memory.fields, "steps": list(proc.steps), "from_event": event.id})
        rows.drop_vectors(db, [memory.id])
    rows.update(db, memory.id, **values)
    return True


def _fix_cursor(db: apsw.Connection) -> None:
    """Event ids are reused after the newest events are deleted (no AUTOINCREMENT on
    events): pull the cursor back to the newest remaining event so a new event
    that takes a freed id is still consolidated."""
    newest = db.execute("SELECT max(id) FROM events").fetchall()[0][0] or 0
    if rows.cursor(db) > newest:
        rows.set_cursor(db, newest, utcnow())


__all__ = ["ForgetOutcome", "on_events_expired", "on_events_forgotten"]
