"""Consolidation: new events → memories, in resumable batches.

Events are read in id order after the cursor, ``batch_size`` at a time. For
each batch, everything slow happens before the write transaction, on a reader:
the rule builder, the model extractor (when one is given), finishing episodes
against stored ones, embedding. Then one transaction decides and writes every
candidate and moves the cursor (``integrate.apply_batch``). A crash, a kill
or a cancel loses at most the batch in flight, which the next run redoes: no
event is processed twice and none is skipped.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol, Sequence

import numpy as np

from core.errors import Cancelled
from core.memory import rows
from core.memory.episodes import EpisodeDraft, gap_for, group_key
from core.memory.extract import Extraction
from core.memory.grounding import similar_to_sources
from core.memory.integrate import BatchPlan, StaleBatch, apply_batch
from core.memory.model_facts import rule_sentences
from core.memory.rules import RuleConfig, build, episode_candidate
from core.memory.types import Candidate, ConsolidationReport, TypeCounts
from core.progress import Cancel, Progress, ProgressFn
from core.records import Event, to_epoch, utcnow
from core.store import events as event_rows
from core.store import vectors

log = logging.getLogger(__name__)

DEFAULT_BATCH = 200
# With a chat model a batch is what one model call reads: committed (and resumable)
# within a minute or so even at well under one event per second.
MODEL_BATCH = 16
# Bounds the index range when looking back for an episode's earlier events: an
# event (one collapsed screen observation) is assumed to last at most this long.
LONGEST_EVENT = 86400.0


class Extractor(Protocol):
    """A model builder (``extract.ModelExtractor``) or a stand-in with the same face."""

    def extract(self, events: Sequence[Event], cancel: Cancel | None = None, *,
                covered: dict[int, list[str]] | None = None) -> Extraction: ...


class EngineLike(Protocol):
    store: Any
    pipeline: Any


def rule_config(settings: Any) -> RuleConfig:
    """Owner names from settings (``owner_names``: the names the person chats under)."""
    names = settings.get("owner_names") if settings is not None else None
    return RuleConfig(owner_names=tuple(str(n) for n in names or ()))


def consolidate(engine: EngineLike, *, now: datetime | None = None,
                progress: ProgressFn | None = None, cancel: Cancel | None = None,
                extractor: Extractor | None = None, batch_size: int = DEFAULT_BATCH,
                max_batches: int | None = None, config: RuleConfig | None = None
                ) -> ConsolidationReport:
    """Build memories from the events not consolidated yet; return what was done.

    ``now`` fixes the clock (tests); ``cancel`` is checked between batches and passed to the
    model; ``max_batches`` bounds one call (the background runner does one).
    """
    store = engine.store
    if extractor is not None and batch_size == DEFAULT_BATCH:
        batch_size = int(getattr(extractor, "batch_size", MODEL_BATCH))
    config = config or rule_config(getattr(engine, "settings", None))
    began = time.monotonic()
    counts: dict[str, TypeCounts] = {}
    rejected: Counter[str] = Counter()
    failures = events_done = batches = model_candidates = 0
    total = rows.pending_events(store.reader())
    cancelled = False
    while max_batches is None or batches < max_batches:
        if cancel is not None and cancel.cancelled:
            cancelled = True
            break
        reader = store.reader()
        start = rows.cursor(reader)
        ids = [r[0] for r in reader.execute(
            "SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?", (start, batch_size))]
        if not ids:
            break
        found = event_rows.get_many(reader, ids)
        batch = [found[i] for i in ids if i in found]
        clock = now or utcnow()
        try:
            plan, extraction = _plan(engine, reader, start, ids, batch, config, extractor, cancel)
        except Cancelled:
            cancelled = True
            break
        try:
            outcome = store.write(lambda db: apply_batch(db, plan, now=clock))
        except StaleBatch:
            continue  # someone else consolidated this stretch meanwhile
        for memory_type, c in outcome.counts.items():
            counts[memory_type] = counts.get(memory_type, TypeCounts()) + c
        for key, n in extraction.rejected.items():  # "type:reason" → reason
            rejected[key.split(":", 1)[-1]] += n
        failures += extraction.failures
        model_candidates += len(extraction.candidates)
        events_done += len(ids)
        batches += 1
        if progress:
            progress(Progress(events_done, total, rate_label(events_done, total,
                                                             time.monotonic() - began)))
    if not cancelled:
        fill_vectors(engine)  # memories written while embedding failed, or after a model change
    return ConsolidationReport(
        events=events_done, batches=batches, counts=counts, rejected_reasons=dict(rejected),
        model_used=extractor is not None, model_candidates=model_candidates,
        model_failures=failures, cancelled=cancelled,
        pending=rows.pending_events(store.reader()))


def rate_label(done: int, total: int | None, seconds: float) -> str:
    """"12.5 events/s, about 3 min left" for a progress line."""
    if done <= 0 or seconds <= 0:
        return ""
    rate = done / seconds
    label = f"{rate:.1f} events/s"
    if total and total > done:
        left = (total - done) / rate
        label += f", about {round(left)} s left" if left < 90 else f", about {round(left / 60)} min left"
    return label


def _plan(engine: EngineLike, reader: Any, start: int, ids: list[int], batch: list[Event],
          config: RuleConfig, extractor: Extractor | None, cancel: Cancel | None
          ) -> tuple[BatchPlan, Extraction]:
    candidates, drafts = build(batch, config)
    extraction = Extraction()
    if extractor is not None and batch:
        # The model works on what the rules could not read (``covered``: their sentences).
        extraction = _by_meaning(engine.pipeline, extractor.extract(
            batch, cancel, covered=rule_sentences(candidates)), batch)
        candidates += list(extraction.candidates)
    candidates += _episodes(reader, drafts, start, config)
    pipeline = engine.pipeline
    vecs, space = _embed(pipeline, candidates)
    plan = BatchPlan(cursor_before=start, first_event_id=ids[0], last_event_id=ids[-1],
                     events=len(ids), candidates=tuple(candidates), vectors=vecs, space=space,
                     config=config, rejected=dict(extraction.rejected))
    return plan, extraction


def _by_meaning(pipeline: Any, extraction: Extraction, batch: Sequence[Event]) -> Extraction:
    """Refuse model memories unlike every event they cite (``unlike_source``).

    The extractor's lexical check passes a memory whose words are spread over its
    sources; this one compares meaning. Without an embedder the lexical check stands.
    """
    embedder = getattr(pipeline, "embedder", None)
    if embedder is None or not extraction.candidates:
        return extraction
    by_id = {e.id: e for e in batch}
    cited = sorted({s for c in extraction.candidates for s in c.sources if s in by_id})
    try:
        vecs = embedder.embed([c.text for c in extraction.candidates]
                              + [_said(by_id[s]) for s in cited], interactive=False)
    except Exception:
        log.exception("embedding model memories failed; only the lexical check applied")
        return extraction
    n = len(extraction.candidates)
    row = {s: n + i for i, s in enumerate(cited)}
    kept: list[Candidate] = []
    rejected: Counter[str] = Counter(extraction.rejected)
    for i, cand in enumerate(extraction.candidates):
        sources = vecs[[row[s] for s in cand.sources if s in row]]
        if similar_to_sources(vecs[i], sources):
            kept.append(cand)
        else:
            rejected[f"{cand.type}:unlike_source"] += 1
    return replace(extraction, candidates=tuple(kept), rejected=dict(rejected))


def _said(event: Event) -> str:
    # "Ana: I work at Siemens" — the speaker makes "I" comparable with "Ana works at …".
    return f"{event.speaker}: {event.text}" if event.speaker else event.text


def _embed(pipeline: Any, candidates: Sequence[Candidate]) -> tuple[np.ndarray | None, Any]:
    embedder = getattr(pipeline, "embedder", None)
    if embedder is None or not candidates:
        return None, None
    try:
        vecs = embedder.embed([rows.embedding_text(c.title, c.text) for c in candidates],
                              interactive=False)
        return vecs, pipeline.space()
    except Exception:
        # Memories are stored anyway; fill_vectors embeds them later.
        log.exception("embedding memories failed; their vectors will be filled in later")
        return None, None


def _episodes(reader: Any, drafts: Sequence[EpisodeDraft], cursor_before: int,
              config: RuleConfig) -> list[Candidate]:
    """Finish drafts: continue a stored episode within the gap, else start a new one."""
    out: list[Candidate] = []
    claimed: set[int] = set()
    for draft in drafts:
        events = list(draft.events) + _leftovers(reader, draft, cursor_before)
        gap = gap_for(draft.group_key).total_seconds()
        first = min(e.started_at for e in events)
        last = max(e.ended_at for e in events)
        rows_ = reader.execute(
            "SELECT id, updated_at FROM memories WHERE type = 'episodic' AND group_key = ? "
            "AND superseded_by IS NULL AND ended_at >= ? AND started_at <= ? "
            "ORDER BY ended_at DESC", (draft.group_key, to_epoch(first) - gap,
                                       to_epoch(last) + gap)).fetchall()
        target = next(((mid, upd) for mid, upd in rows_ if mid not in claimed), None)
        extends = updated = None
        if target is not None:
            extends, updated = target
            claimed.add(extends)
            stored = rows.sources_many(reader, [extends]).get(extends, ())
            known = {e.id for e in events}
            more = event_rows.get_many(reader, [s for s in stored if s not in known])
            events += list(more.values())
        cand = episode_candidate(replace(draft, events=tuple(events)), config=config,
                                 extends=extends, extends_updated=updated)
        if cand is not None:
            out.append(cand)
    return out


def _leftovers(reader: Any, draft: EpisodeDraft, cursor_before: int) -> list[Event]:
    """Earlier events of the same group, just before the draft, that no episode took
    (too short to keep on their own at the end of the previous batch)."""
    found: list[Event] = []
    source = draft.kind
    gap = gap_for(draft.group_key).total_seconds()
    begin = to_epoch(draft.started_at)
    known = {e.id for e in draft.events}
    for _round in range(8):  # each round reaches one gap further back
        ids = [r[0] for r in reader.execute(
            "SELECT e.id FROM events e WHERE e.source = ? AND e.id <= ? "
            "AND e.started_at >= ? AND e.ended_at >= ? AND e.started_at <= ? AND NOT EXISTS ("
            "  SELECT 1 FROM memory_sources s JOIN memories m ON m.id = s.memory_id "
            "  WHERE s.event_id = e.id AND m.type = 'episodic')",
            (source, cursor_before, begin - gap - LONGEST_EVENT, begin - gap, begin))]
        events = [e for e in event_rows.get_many(reader, ids).values()
                  if e.id not in known and group_key(e) == draft.group_key]
        if not events:
            break
        found += events
        known.update(e.id for e in events)
        begin = min(to_epoch(e.started_at) for e in events)
    return found


def fill_vectors(engine: EngineLike, *, batch: int = 64, limit: int | None = None) -> int:
    """Embed memories that have no vector in the current space; return how many."""
    pipeline = engine.pipeline
    embedder = getattr(pipeline, "embedder", None)
    if embedder is None:
        return 0
    space = pipeline.space()
    if space is None:
        return 0
    store = engine.store
    if not rows.has_vector_table(store.reader(), space):
        store.write(lambda db: rows.ensure_vector_table(db, space))
    done = 0
    while limit is None or done < limit:
        # Counts first, then vec0's rowid table: probing vec0 reads its vectors.
        ids = vectors.missing(store.reader(), space, rows.COLLECTION, batch)
        if not ids:
            break
        found = rows.get_many(store.reader(), ids, with_sources=False)
        ids = [i for i in ids if i in found]
        try:
            vecs = embedder.embed([rows.embedding_text(found[i].title, found[i].text)
                                   for i in ids], interactive=False)
        except Exception:
            log.exception("embedding memories failed; retrying later")
            break
        texts = {i: found[i].text for i in ids}

        def write(db: Any) -> None:
            # Only memories still there with the same text get the vector.
            now_rows = rows.get_many(db, ids, with_sources=False)
            keep = [n for n, i in enumerate(ids) if i in now_rows and now_rows[i].text == texts[i]]
            rows.put_vectors(db, space, [ids[n] for n in keep], vecs[keep])

        store.write(write)
        done += len(ids)
    return done
