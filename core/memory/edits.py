"""A person's corrections: add, edit, pin, delete, and undo any recorded change.

Each is one write transaction with its history rows; embedding happens before
it. A person's wording is marked (``fields["edited"]``) so builders never
replace it. Undo restores the snapshots a change recorded, in reverse order,
and refuses when a memory changed after that change (undo the later one
first) or when the change's content was scrubbed because a source event was
forgotten.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

import apsw
import numpy as np

from core.errors import NotFound, UsageError
from core.memory import forgetting, history, rows
from core.memory.history import ChangeLog
from core.memory.types import MEMORY_TYPES, Candidate
from core.records import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EditResult:
    memory_id: int
    change_id: int


def _embed(engine: Any, texts: Sequence[str]) -> tuple[np.ndarray | None, Any]:
    pipeline = engine.pipeline
    embedder = getattr(pipeline, "embedder", None)
    if embedder is None or not texts:
        return None, None
    try:
        return embedder.embed(list(texts), interactive=True), pipeline.space()
    except Exception:
        log.exception("embedding an edited memory failed; it is re-embedded later")
        return None, None


def add_memory(engine: Any, text: str, *, memory_type: str = "core",
               now: datetime | None = None) -> EditResult:
    """A memory the person writes themself (no source events; forgetting never removes it)."""
    text = " ".join(text.split())
    if not text:
        raise UsageError("The memory is empty.")
    if memory_type not in MEMORY_TYPES:
        raise UsageError(f"Unknown memory type {memory_type!r}; one of {', '.join(MEMORY_TYPES)}.")
    now = now or utcnow()
    title = text.rstrip(".")[:120]
    vecs, space = _embed(engine, [rows.embedding_text(title, text)])
    cand = Candidate(type=memory_type, title=title, text=text, sources=(), valid_from=now,  # type: ignore[arg-type]
                     started_at=now, ended_at=now, importance=0.9, origin="person",
                     fields={"edited": True})

    def write(db: apsw.Connection) -> EditResult:
        mid = rows.insert(db, cand, stability=forgetting.initial_stability(memory_type, 0.9),
                          now=now)
        change = ChangeLog(db, actor="person", now=now)
        change.record(mid, "add", before=None, after=rows.snapshot(db, mid),
                      note="written by you")
        if vecs is not None and space is not None:
            rows.put_vectors(db, space, [mid], vecs)
        assert change.change_id is not None
        return EditResult(mid, change.change_id)

    return engine.store.write(write)


def edit_memory(engine: Any, memory_id: int, text: str, *, now: datetime | None = None) -> EditResult:
    """Replace a memory's text with the person's own words (recorded, undoable)."""
    text = " ".join(text.split())
    if not text:
        raise UsageError("The new text is empty; use `engram memories delete` to remove it.")
    now = now or utcnow()
    current = rows.get(engine.store.reader(), memory_id)
    if current is None:
        raise NotFound(f"No memory with id {memory_id}.")
    title = text.rstrip(".")[:120] if current.type in ("core", "semantic") else current.title
    vecs, space = _embed(engine, [rows.embedding_text(title, text)])

    def write(db: apsw.Connection) -> EditResult:
        m = rows.get(db, memory_id)
        if m is None:
            raise NotFound(f"No memory with id {memory_id}.")
        before = rows.snapshot(db, memory_id)
        curve = forgetting.Curve(m.type, m.importance, m.stability, m.reinforced_at,
                                 m.created_at, m.pinned)
        stability, anchor = forgetting.reinforce(curve, now, kind="recall")
        rows.update(db, memory_id, text=text, title=title, fields={**m.fields, "edited": True},
                    importance=max(m.importance, 0.7), updated_at=now, stability=stability,
                    reinforced_at=anchor)
        change = ChangeLog(db, actor="person", now=now)
        change.record(memory_id, "edit", before=before, after=rows.snapshot(db, memory_id),
                      note="edited by you")
        if vecs is not None and space is not None:
            rows.put_vectors(db, space, [memory_id], vecs)
        else:
            rows.drop_vectors(db, [memory_id])
        assert change.change_id is not None
        return EditResult(memory_id, change.change_id)

    return engine.store.write(write)


def pin_memory(engine: Any, memory_id: int, pinned: bool = True, *,
               now: datetime | None = None) -> EditResult:
    """Pin a memory (it never fades and leads the core profile) or unpin it."""
    now = now or utcnow()

    def write(db: apsw.Connection) -> EditResult:
        before = rows.snapshot(db, memory_id)
        if before is None:
            raise NotFound(f"No memory with id {memory_id}.")
        rows.update(db, memory_id, pinned=bool(pinned), updated_at=now)
        change = ChangeLog(db, actor="person", now=now)
        change.record(memory_id, "pin" if pinned else "unpin", before=before,
                      after=rows.snapshot(db, memory_id),
                      note="pinned by you" if pinned else "unpinned by you")
        assert change.change_id is not None
        return EditResult(memory_id, change.change_id)

    return engine.store.write(write)


def delete_memory(engine: Any, memory_id: int, *, purge: bool = False,
                  now: datetime | None = None) -> EditResult:
    """Delete a memory (undoable, unless ``purge`` also erases its history's content).

    Memories it had superseded become current again: deleting a wrong
    "lives in Porto" brings back "lives in Lisbon".
    """
    now = now or utcnow()

    def write(db: apsw.Connection) -> EditResult:
        m = rows.get(db, memory_id)
        if m is None:
            raise NotFound(f"No memory with id {memory_id}.")
        change = ChangeLog(db, actor="person", now=now)
        for (older,) in db.execute("SELECT id FROM memories WHERE superseded_by = ?",
                                   (memory_id,)).fetchall():
            before = rows.snapshot(db, older)
            rows.update(db, older, valid_until=None, superseded_by=None, updated_at=now)
            change.record(older, "revive", before=before, after=rows.snapshot(db, older),
                          related_id=memory_id, note=f"#{memory_id}, which had replaced it, was deleted")
        before = rows.snapshot(db, memory_id)
        rows.remove(db, memory_id)
        change.record(memory_id, "delete", before=before, after=None,
                      sources_removed=m.sources, note="deleted by you")
        if purge:
            history.scrub_memory(db, [memory_id])
        assert change.change_id is not None
        return EditResult(memory_id, change.change_id)

    return engine.store.write(write)


def undo_change(engine: Any, change_id: int, *, now: datetime | None = None) -> EditResult:
    """Undo a recorded change; returns the new change that did it (itself undoable)."""
    now = now or utcnow()
    first = _checked(engine.store.reader(), change_id)
    restoring = [r for r in first if r.before is not None]
    vecs, space = _embed(engine, [rows.embedding_text(str(r.before["title"]), str(r.before["text"]))
                                  for r in restoring])  # type: ignore[index]
    vec_of = {r.memory_id: vecs[n] for n, r in enumerate(restoring)} if vecs is not None else {}

    def write(db: apsw.Connection) -> EditResult:
        changes = _checked(db, change_id)
        log_ = ChangeLog(db, actor="person", now=now)
        for r in reversed(changes):
            current = rows.snapshot(db, r.memory_id)
            if not rows.same_content(current, r.after):
                later = history.latest_change_of(db, r.memory_id)
                raise UsageError(f"Memory #{r.memory_id} changed after change {change_id}; "
                                 f"undo change {later} first.")
            had = set(rows.sources_many(db, [r.memory_id]).get(r.memory_id, ()))
            if r.before is None:
                rows.remove(db, r.memory_id)
                log_.record(r.memory_id, "undo", before=current, after=None,
                            sources_removed=had, note=f"undid change {change_id} ({r.action})")
                continue
            snap = dict(r.before)
            if snap.get("superseded_by") is not None and rows.get(db, snap["superseded_by"]) is None:
                snap["superseded_by"], snap["valid_until"] = None, None
            rows.restore(db, snap)
            want = (had - set(r.sources_added)) | set(r.sources_removed)
            alive = {e for (e,) in db.execute(
                f"SELECT id FROM events WHERE id IN ({','.join('?' * len(want))})",
                sorted(want))} if want else set()
            rows.remove_sources(db, r.memory_id, had - alive)
            rows.add_sources(db, r.memory_id, alive - had)
            log_.record(r.memory_id, "undo", before=current, after=rows.snapshot(db, r.memory_id),
                        sources_added=alive - had, sources_removed=had - alive,
                        note=f"undid change {change_id} ({r.action})")
            if r.memory_id in vec_of and space is not None:
                rows.put_vectors(db, space, [r.memory_id], vec_of[r.memory_id][None, :])
            elif current is None or current.get("text") != snap.get("text"):
                rows.drop_vectors(db, [r.memory_id])
        assert log_.change_id is not None
        history.mark_undone(db, change_id, log_.change_id)
        return EditResult(changes[-1].memory_id, log_.change_id)

    return engine.store.write(write)


def _checked(db: apsw.Connection, change_id: int) -> list[history.Change]:
    changes = history.of_change(db, change_id)
    if not changes:
        raise NotFound(f"No change with id {change_id}.")
    if any(c.undone_by for c in changes):
        raise UsageError(f"Change {change_id} was already undone "
                         f"(by change {changes[0].undone_by}).")
    if any(c.scrubbed for c in changes):
        raise UsageError(f"Change {change_id} can't be undone: an event it drew on was forgotten.")
    if all(c.before is None and c.after is None for c in changes):
        raise UsageError(f"Change {change_id} ({changes[0].action}) has nothing to undo.")
    return changes


__all__ = ["EditResult", "add_memory", "edit_memory", "pin_memory", "delete_memory",
           "undo_change"]
