"""Apply one batch of candidates inside one write transaction.

The batch carries the cursor value it was planned from; if another
consolidation (the daemon and a CLI run at once) advanced the cursor
meanwhile, the batch is refused (``StaleBatch``) and re-planned, so no event
is processed twice. Candidates are decided one by one against neighbours read
on the writer connection, which already sees this batch's earlier inserts
(two statements of the same fact in one batch merge instead of duplicating).
The cursor moves in the same transaction: a crash loses the whole batch or
nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable, Mapping, Sequence

import apsw
import numpy as np

from core.memory import forgetting, rows
from core.memory.episodes import EpisodeDraft
from core.memory.history import ChangeLog
from core.memory.policy import Decision, Neighbour, decide
from core.memory.rules import RuleConfig, episode_candidate
from core.memory.types import Candidate, TypeCounts
from core.records import to_epoch
from core.store import events as event_rows
from core.store import vectors

NEIGHBOURS_K = 8
SUBJECT_NEIGHBOURS = 5
CORE_LIMIT = 60  # the core profile stays small: extra multi-valued facts become semantic


class StaleBatch(Exception):
    """The cursor moved since the batch was planned; plan it again."""


@dataclass(frozen=True)
class BatchPlan:
    """Everything one transaction needs: computed before it, on a reader."""

    cursor_before: int
    first_event_id: int
    last_event_id: int
    events: int
    candidates: tuple[Candidate, ...]
    vectors: np.ndarray | None
    space: vectors.Space | None
    config: RuleConfig = field(default_factory=RuleConfig)
    rejected: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchOutcome:
    counts: Mapping[str, TypeCounts]
    touched: tuple[int, ...]


def apply_batch(db: apsw.Connection, plan: BatchPlan, *, now: datetime,
                before_commit: Callable[[], None] | None = None) -> BatchOutcome:
    """Decide and write every candidate of ``plan``, then advance the cursor."""
    if rows.cursor(db) != plan.cursor_before:
        raise StaleBatch()
    counts: dict[str, TypeCounts] = {}
    for reason, n in plan.rejected.items():
        memory_type = reason.split(":", 1)[0] if ":" in reason else "semantic"
        counts[memory_type] = counts.get(memory_type, TypeCounts()).plus("rejected", n)
    alive = _alive(db, {s for c in plan.candidates for s in c.sources})
    touched: list[int] = []
    facts: list[int] = []  # non-episodic memories written: linked to their episodes below
    for i, cand in enumerate(plan.candidates):
        vec = plan.vectors[i] if plan.vectors is not None else None
        kept = tuple(s for s in cand.sources if s in alive)
        if not kept:
            continue  # its events were forgotten while the batch was planned
        if len(kept) < len(cand.sources):
            cand, vec = _without_forgotten(db, cand, kept, plan.config), None
            if cand is None:
                continue
        cand = _bounded_core(db, cand)
        decision = _decide(db, cand, vec, plan.space)
        memory_id = _apply(db, cand, decision, vec, plan.space, now)
        action = {"add": "added", "merge": "merged", "supersede": "superseded",
                  "add_superseded": "superseded", "ignore": "ignored"}[decision.action]
        counts[cand.type] = counts.get(cand.type, TypeCounts()).plus(action)
        if memory_id is not None:
            touched.append(memory_id)
            if cand.type != "episodic":
                facts.append(memory_id)
    _link_episodes(db, facts)
    rows.set_cursor(db, plan.last_event_id, now)
    db.execute("INSERT INTO memory_batches(first_event_id, last_event_id, events, counts, at) "
               "VALUES (?, ?, ?, ?, ?)",
               (plan.first_event_id, plan.last_event_id, plan.events,
                json.dumps({t: c.__dict__ for t, c in counts.items()}), to_epoch(now)))
    if before_commit is not None:
        before_commit()
    return BatchOutcome(counts=counts, touched=tuple(dict.fromkeys(touched)))


def neighbours(db: apsw.Connection, cand: Candidate, vec: np.ndarray | None,
               space: vectors.Space | None) -> list[Neighbour]:
    """Stored memories the policy must weigh: same key, same subject, nearest vectors."""
    found: dict[int, float] = {}
    if cand.fact_key:
        for (mid,) in db.execute("SELECT id FROM memories WHERE fact_key = ?", (cand.fact_key,)):
            found[mid] = 0.0
        subject = cand.fact_key.split("|", 1)[0] + "|"
        for (mid,) in db.execute(
                "SELECT id FROM memories WHERE fact_key >= ? AND fact_key < ? "
                "AND superseded_by IS NULL ORDER BY updated_at DESC LIMIT ?",
                (subject, subject + "\uffff", SUBJECT_NEIGHBOURS)):
            found.setdefault(mid, 0.0)
    if vec is not None and space is not None and rows.has_vector_table(db, space):
        for mid, distance in vectors.knn(db, space, rows.COLLECTION, vec, NEIGHBOURS_K):
            found[mid] = max(found.get(mid, 0.0), 1.0 - distance)
    memories = rows.get_many(db, list(found), with_sources=False)
    return [Neighbour(memories[i], found[i]) for i in found if i in memories]


def _decide(db: apsw.Connection, cand: Candidate, vec: np.ndarray | None,
            space: vectors.Space | None) -> Decision:
    if cand.extends is not None:
        target = rows.get(db, cand.extends)
        # Changed since planning (a person's edit, a forget): don't overwrite, decide afresh.
        if target is None or (cand.extends_updated is not None
                              and abs(to_epoch(target.updated_at) - cand.extends_updated) > 1e-6):
            cand = replace(cand, extends=None, extends_updated=None)
    return decide(cand, neighbours(db, cand, vec, space))


def _apply(db: apsw.Connection, cand: Candidate, d: Decision, vec: np.ndarray | None,
           space: vectors.Space | None, now: datetime) -> int | None:
    log = ChangeLog(db, actor=cand.origin, now=now)
    if d.action == "ignore":
        return None
    if d.action == "merge":
        assert d.target is not None
        _merge(db, log, d.target, cand, refine=d.refine, vec=vec, space=space, now=now)
        return d.target
    stability = forgetting.initial_stability(cand.type, cand.importance)
    if d.action == "add_superseded":
        assert d.target is not None
        successor = rows.get(db, d.target)
        until = successor.valid_from if successor else cand.valid_from
        new_id = rows.insert(db, cand, stability=stability, now=now, valid_until=until,
                             superseded_by=d.target)
        log.record(new_id, "add", before=None, after=rows.snapshot(db, new_id),
                   sources_added=cand.sources, related_id=d.target,
                   note=f"an older value, already replaced by #{d.target}")
        rows.link(db, new_id, d.target, "supersedes")
    else:
        new_id = rows.insert(db, cand, stability=stability, now=now)
        log.record(new_id, "add", before=None, after=rows.snapshot(db, new_id),
                   sources_added=cand.sources, note=d.reason)
    if d.action == "supersede":
        assert d.target is not None
        before = rows.snapshot(db, d.target)
        rows.update(db, d.target, valid_until=cand.valid_from, superseded_by=new_id,
                    updated_at=now)
        log.record(d.target, "supersede", before=before, after=rows.snapshot(db, d.target),
                   related_id=new_id, note=f"replaced by #{new_id}: {cand.text}")
        rows.link(db, new_id, d.target, "supersedes")
    for other, kind in d.links:
        rows.link(db, new_id, other, kind)
    if vec is not None and space is not None:
        rows.put_vectors(db, space, [new_id], vec[None, :])
    return new_id


def _merge(db: apsw.Connection, log: ChangeLog, target: int, cand: Candidate, *, refine: bool,
           vec: np.ndarray | None, space: vectors.Space | None, now: datetime) -> None:
    before = rows.snapshot(db, target)
    memory = rows.get(db, target)
    assert before is not None and memory is not None
    added = rows.add_sources(db, target, cand.sources)
    curve = forgetting.Curve(memory.type, memory.importance, memory.stability,
                             memory.reinforced_at, memory.created_at, memory.pinned)
    stability, anchor = forgetting.reinforce(curve, now, kind="evidence")
    values: dict[str, object] = dict(
        stability=stability, reinforced_at=anchor, updated_at=now,
        evidence_count=memory.evidence_count + max(1, len(added)),
        started_at=min(memory.started_at, cand.started_at),
        ended_at=max(memory.ended_at, cand.ended_at),
        valid_from=min(memory.valid_from, cand.valid_from),
        importance=max(memory.importance, cand.importance))
    edited = bool(memory.fields.get("edited"))
    if refine and not edited:  # a person's wording is never replaced by a builder's
        values.update(title=cand.title, text=cand.text, fields=dict(cand.fields),
                      entities=cand.entities)
    rows.update(db, target, **values)
    log.record(target, "merge", before=before, after=rows.snapshot(db, target),
               sources_added=added, note=("refined: " if refine else "") + (cand.text[:200]))
    if refine and not edited and vec is not None and space is not None:
        rows.put_vectors(db, space, [target], vec[None, :])
    elif refine and not edited:
        rows.drop_vectors(db, [target])


def _alive(db: apsw.Connection, ids: set[int]) -> set[int]:
    found: set[int] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        found.update(r[0] for r in db.execute(
            f"SELECT id FROM events WHERE id IN ({','.join('?' * len(chunk))})", chunk))
    return found


def _without_forgotten(db: apsw.Connection, cand: Candidate, kept: Sequence[int],
                       config: RuleConfig) -> Candidate | None:
    """A candidate whose events were partly forgotten during planning, re-derived."""
    if cand.type != "episodic":
        return replace(cand, sources=tuple(kept))
    events = list(event_rows.get_many(db, kept).values())
    if not events or cand.group_key is None:
        return None
    draft = EpisodeDraft(cand.group_key, cand.group_key.split("|", 1)[0], tuple(events))
    return episode_candidate(draft, config=config, extends=cand.extends,
                             extends_updated=cand.extends_updated)


def _bounded_core(db: apsw.Connection, cand: Candidate) -> Candidate:
    if cand.type != "core" or cand.fields.get("single"):
        return cand
    n = db.execute("SELECT count(*) FROM memories WHERE type = 'core' AND superseded_by IS NULL"
                   ).fetchall()[0][0]
    return replace(cand, type="semantic") if n >= CORE_LIMIT else cand


def _link_episodes(db: apsw.Connection, touched: Sequence[int]) -> None:
    """Facts and procedures are linked to the episodes their events belong to."""
    for mid in dict.fromkeys(touched):
        for (episode,) in db.execute(
                "SELECT DISTINCT m.id FROM memory_sources a "
                "JOIN memory_sources b ON b.event_id = a.event_id AND b.memory_id != a.memory_id "
                "JOIN memories m ON m.id = b.memory_id AND m.type = 'episodic' "
                "JOIN memories me ON me.id = a.memory_id AND me.type != 'episodic' "
                "WHERE a.memory_id = ? LIMIT 5", (mid,)):
            rows.link(db, mid, episode, "episode")


__all__ = ["BatchPlan", "BatchOutcome", "StaleBatch", "apply_batch", "neighbours"]
