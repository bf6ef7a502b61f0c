"""Search over memories (keywords + vectors, fused by rank), recall, links, listing.

``search_memories`` is what ``Retriever.search`` merges with event hits: each
hit is display-ready (``kind="memory"``, ``memory_type``, title, marked
snippet, provenance of its first source event) and its score is the fused
rank scaled by strength and importance, so weak memories sink and, unless
``include_weak``, drop out. Superseded memories are left out unless asked for.
Searching does not count as recall: call ``mark_recalled`` for the memories
actually shown to or used for the person (that reinforces them).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Protocol, Sequence

import apsw
import numpy as np

from core.memory import forgetting, rows
from core.memory.text import STOPWORDS, words
from core.memory.types import Memory
from core.snippets import make_snippet
from core.records import (MEMORY_TYPES, Provenance, SearchFilters, SearchHit, from_epoch,
                          to_epoch, utcnow)
from core.store import events as event_rows
from core.store import vectors
from core.store.vector_index import VectorIndex

RRF_K = 60
CORE_PROFILE_LIMIT = 40
MIN_SIMILARITY = 0.3  # cosine below which a memory found only by meaning is not a hit
KEYWORD_MIN_SIMILARITY = 0.15  # … and below which a keyword match is not one either
KEYWORD_WINDOW = 2000  # matches bm25 may score per word (≈1.4 ms); see _keyword


class TermsLike(Protocol):
    """``core.retrieval.QueryTerms`` or ``MemoryTerms``: content words and an FTS5 query."""

    words: tuple[str, ...]
    fts: str | None


@dataclass(frozen=True)
class MemoryTerms:
    words: tuple[str, ...]
    fts: str | None


def memory_terms(query: str) -> MemoryTerms:
    """Content words of ``query`` and an OR query of them, each quoted for FTS5."""
    tokens = words(query)
    content = [t for t in tokens if t not in STOPWORDS] or tokens
    unique = tuple(dict.fromkeys(content))
    return MemoryTerms(unique, " OR ".join(f'"{t}"' for t in unique) if unique else None)


def strength_of(memory: Memory, now: datetime) -> float:
    return forgetting.strength(_curve(memory), now)


def is_weak(memory: Memory, now: datetime) -> bool:
    return forgetting.is_weak(_curve(memory), now)


def _curve(m: Memory) -> forgetting.Curve:
    return forgetting.Curve(m.type, m.importance, m.stability, m.reinforced_at, m.created_at,
                            m.pinned)


def search_memories(db: apsw.Connection, *, terms: TermsLike | str,
                    query_vector: np.ndarray | None, space: vectors.Space | None,
                    filters: SearchFilters = SearchFilters(), k: int = 10,
                    now: datetime | None = None, include_weak: bool = False,
                    include_superseded: bool = False,
                    index: VectorIndex | None = None,
                    near: Sequence[tuple[int, float]] | None = None) -> list[SearchHit]:
    """The ``k`` best memories for a query (see module doc).

    ``index``: a loaded ``MemoryIndex`` of ``space`` (long-running processes);
    without it, sqlite-vec's exact KNN. ``near``: the memories nearest the query
    (``nearest``, at least ``2 * max(50, 5 * k)`` of them), when the caller has them.
    """
    if not filters.include_memories:
        return []
    now = now or utcnow()
    if isinstance(terms, str):
        terms = memory_terms(terms)
    pool = max(50, k * 5)
    keyword = _keyword(db, terms, pool) if terms.fts else []
    ranked_lists = [keyword]
    if near is None:
        near = nearest(db, space, query_vector, pool * 2, index)
    else:
        near = list(near)[:pool * 2]
    if near is not None:
        similarity = {i: 1.0 - d for i, d in near}
        # KNN always returns k neighbours; with few memories most are unrelated,
        # and fused with event hits they would push relevant events out. A
        # keyword match must also be somewhat near in meaning: sharing only a
        # person's name with the query ("Caroline") does not make a fact relevant.
        ranked_lists = [[i for i in keyword if similarity.get(i, 0.0) >= KEYWORD_MIN_SIMILARITY],
                        [i for i, _d in near if similarity[i] >= MIN_SIMILARITY]]
    fused: dict[int, float] = {}
    for ranked in ranked_lists:
        for rank, mid in enumerate(ranked):
            fused[mid] = fused.get(mid, 0.0) + 1.0 / (RRF_K + rank + 1)
    # Rank on the few columns scoring needs (one light query); full rows, with
    # their sources, only for the k shown (building ~150 Memory objects cost ~3 ms).
    ranking = _ranking_rows(db, list(fused))
    allowed = _source_filter(db, list(ranking), filters)
    scored: list[tuple[float, int]] = []
    for mid, base in fused.items():
        r = ranking.get(mid)
        if r is None or mid not in allowed or not _passes(r, filters, include_superseded):
            continue
        s = forgetting.strength(r.curve, now)
        # is_weak computes the strength again: only asked when it can be weak.
        if not include_weak and s < forgetting.WEAK and forgetting.is_weak(r.curve, now):
            continue
        scored.append((base * forgetting.rank_factor(s, r.importance), mid))
    scored.sort(key=lambda t: (-t[0], -t[1]))
    full = rows.get_many(db, [mid for _s, mid in scored[:k]])
    best = [(sc, full[mid]) for sc, mid in scored[:k] if mid in full]
    return hits_for(db, [m for _s, m in best], [s for s, _m in best], terms.words)


def nearest(db: apsw.Connection, space: vectors.Space | None,
            query_vector: np.ndarray | None, limit: int,
            index: VectorIndex | None = None) -> list[tuple[int, float]] | None:
    """The ``limit`` memories nearest ``query_vector`` as (id, cosine distance), nearest
    first; None when there is no vector or no memory vectors in ``space``."""
    if query_vector is None or space is None:
        return None
    if index is not None and index.space.id == space.id:
        return list(index.search(query_vector, limit, db=db))
    if rows.has_vector_table(db, space):
        return vectors.knn(db, space, rows.COLLECTION, query_vector, limit)
    return None


def fact_sources(db: apsw.Connection, near: Sequence[tuple[int, float]]
                 ) -> list[tuple[int, float]]:
    """The source events of the current facts among ``near`` ((memory id, cosine
    distance), nearest first) as (event id, the fact's cosine similarity), in that order.

    A fact (a semantic or core memory from at most ``FACT_SOURCES`` events) is one
    sentence of its message, attributed and dated ("Tim read The Hobbit"): event
    search ranks the messages by their facts too (``core.retrieval``), where a
    long chatty message matches a question less well than its one sentence does.
    """
    distance = dict(near)
    if not distance:
        return []
    sources: dict[int, list[int]] = {}
    ids = list(distance)
    marks = ",".join("?" * len(ids))
    for mid, eid in db.execute(
            f"SELECT s.memory_id, s.event_id FROM memory_sources s JOIN memories m "
            f"ON m.id = s.memory_id WHERE s.memory_id IN ({marks}) AND m.type != 'episodic' "
            "AND m.superseded_by IS NULL AND m.valid_until IS NULL", ids):
        sources.setdefault(mid, []).append(eid)
    out: dict[int, float] = {}
    for mid in ids:
        own = sources.get(mid, ())
        if len(own) <= FACT_SOURCES:
            for eid in sorted(own):
                out.setdefault(eid, 1.0 - distance[mid])
    return list(out.items())


# A fact from one or two messages stands for them in a result list; an episode (a
# whole session) does not replace its messages.
FACT_SOURCES = 2
# How much a fact's rank adds to its messages' own. Small: on LoCoMo dev (conv-26)
# evidence recall@10 was 0.727 at full weight, 0.786 at 0.9, 0.811 at 0.0–0.6 (events
# alone 0.798) — the facts' wording helps show a message, not find it.
FACT_WEIGHT = 0.25


def merge_hits(event_hits: Sequence[SearchHit], memory_hits: Sequence[SearchHit], k: int, *,
               sources: Mapping[int, Sequence[int]] | None = None) -> list[SearchHit]:
    """Event and memory hits in one list of ``k``, fused by rank.

    Each hit counts 1 / (60 + its rank in its own list); raw scores are not
    compared (memories are few, so they sit high in their lists and would crowd
    events out). With ``sources`` (memory id → its source event ids):

    - a fact (a memory from at most ``FACT_SOURCES`` events) is shown in place of
      its messages (it says what they said, dated and attributed, and leads to
      them); its rank adds only ``FACT_WEIGHT`` to theirs;
    - other memories (episodes, procedures) compete as items of their own, and
      one whose sources are all event hits ranked above it is left out: it would
      only repeat them.
    """
    score: dict[tuple[str, int], float] = {}
    first: dict[tuple[str, int], tuple[int, int]] = {}  # item → (list order, rank) for ties
    event_by_id = {h.id: h for h in event_hits}
    stand_in: dict[int, SearchHit] = {}
    for rank, hit in enumerate(event_hits):
        key = ("event", hit.id)
        score[key] = score.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
        first.setdefault(key, (0, rank))
    for rank, hit in enumerate(memory_hits):
        own = tuple(sources.get(hit.id, ())) if sources is not None else ()
        if own and hit.memory_type != "episodic" and len(own) <= FACT_SOURCES:
            for event_id in own:
                key = ("event", event_id)
                score[key] = score.get(key, 0.0) + FACT_WEIGHT / (RRF_K + rank + 1)
                first.setdefault(key, (1, rank))
                stand_in.setdefault(event_id, hit)
            continue
        key = ("memory", hit.id)
        score[key] = 1.0 / (RRF_K + rank + 1)
        first[key] = (1, rank)
    memory_by_id = {h.id: h for h in memory_hits}
    out: list[SearchHit] = []
    shown_events: set[int] = set()
    shown_memories: set[int] = set()
    for kind, item in sorted(score, key=lambda key: (-score[key], first[key])):
        if kind == "event":
            hit = stand_in.get(item) or event_by_id.get(item)
            if hit is None or (hit.kind == "memory" and hit.id in shown_memories):
                shown_events.add(item)
                continue
            shown_events.add(item)
            if hit.kind == "memory":
                shown_memories.add(hit.id)
        else:
            hit = memory_by_id[item]
            own = set(sources.get(hit.id, ())) if sources is not None else set()
            if own and own <= shown_events:
                continue
        out.append(hit)
        if len(out) == k:
            break
    return out


def hits_for(db: apsw.Connection, memories: Sequence[Memory], scores: Sequence[float],
             query_words: Sequence[str] = ()) -> list[SearchHit]:
    """Display-ready hits, provenance from each memory's first source event."""
    firsts = {m.id: min(m.sources) for m in memories if m.sources}
    events = event_rows.get_many(db, list(set(firsts.values())))
    out = []
    for m, score in zip(memories, scores):
        event = events.get(firsts.get(m.id, -1))
        prov = Provenance(external_id=event.external_id, app=event.app, title=event.title,
                          url=event.url, path=event.path, thread=event.thread,
                          speaker=event.speaker) if event else Provenance()
        episodic = m.type == "episodic"
        out.append(SearchHit(
            id=m.id, kind="memory", source=event.source if event else "memory",
            time=m.started_at if episodic else m.valid_from,
            end_time=m.ended_at if episodic and m.ended_at != m.started_at else None,
            title=m.title or m.text[:80], snippet=snippet(m.text, query_words), score=score,
            provenance=prov, text=m.text, memory_type=m.type, sources=tuple(m.sources)))
    return out


def _keyword(db: apsw.Connection, terms: TermsLike, pool: int) -> list[int]:
    """The ``pool`` best keyword matches by bm25, at a bounded cost.

    bm25 scores every match before the LIMIT applies (≈0.7 µs each): a word in
    78% of 27k memories ("meeting") took 12–18 ms. As for events (``core.store.fts``):
    words with more than ``KEYWORD_WINDOW`` matches are left out while the rarer
    ones still fill the pool (they would only reorder it slightly, by a small
    IDF); if they don't, the query's matches are ranked among the most recent
    ``KEYWORD_WINDOW`` only, after every match of the rare words.
    """
    rank = "ORDER BY bm25(memories_fts, 2.0, 1.0, 1.0) LIMIT ?"
    exprs = [f'"{w}"' for w in terms.words]
    # Any other expression (a caller's own FTS query) is ranked whole.
    counts = ({e: _count_upto(db, e, KEYWORD_WINDOW + 1) for e in exprs}
              if terms.fts == " OR ".join(exprs) else {})
    if not counts or sum(counts.values()) <= KEYWORD_WINDOW:
        return [r[0] for r in db.execute(
            f"SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? {rank}",
            (terms.fts, pool))]
    rare = [e for e in exprs if counts[e] <= KEYWORD_WINDOW]
    first: list[int] = []
    if rare:
        first = [r[0] for r in db.execute(
            f"SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? {rank}",
            (" OR ".join(rare), pool))]
        if len(first) >= pool:
            return first
    floor = db.execute("SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? "
                       "ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                       (terms.fts, KEYWORD_WINDOW)).fetchall()
    recent = [r[0] for r in db.execute(
        f"SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? AND rowid >= ? {rank}",
        (terms.fts, floor[0][0] if floor else 0, pool))]
    seen = set(first)
    return (first + [i for i in recent if i not in seen])[:pool]


def _count_upto(db: apsw.Connection, expr: str, cap: int) -> int:
    return db.execute("SELECT count(*) FROM (SELECT rowid FROM memories_fts "
                      "WHERE memories_fts MATCH ? LIMIT ?)", (expr, cap)).fetchall()[0][0]


@dataclass(frozen=True)
class _Ranking:
    """What ranking a memory needs: its curve, importance, type, span and currency."""

    curve: forgetting.Curve
    importance: float
    type: str
    started_at: datetime
    ended_at: datetime
    current: bool


def _ranking_rows(db: apsw.Connection, ids: list[int]) -> dict[int, _Ranking]:
    out: dict[int, _Ranking] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for (mid, typ, importance, stability, reinforced, created, pinned, superseded,
             valid_until, started, ended) in db.execute(
                "SELECT id, type, importance, stability, reinforced_at, created_at, pinned, "
                "superseded_by, valid_until, started_at, ended_at FROM memories "
                f"WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            out[mid] = _Ranking(
                forgetting.Curve(typ, importance, stability, from_epoch(reinforced),
                                 from_epoch(created), bool(pinned)),
                importance, typ, from_epoch(started), from_epoch(ended),
                superseded is None and valid_until is None)
    return out


def _passes(m: Memory | _Ranking, f: SearchFilters, include_superseded: bool) -> bool:
    if not include_superseded and not m.current:
        return False
    if f.memory_types and m.type not in f.memory_types:
        return False
    if f.since is not None and m.ended_at < f.since:
        return False
    if f.until is not None and m.started_at >= f.until:
        return False
    return True


def _source_filter(db: apsw.Connection, ids: list[int], f: SearchFilters) -> set[int]:
    """Memories with a source event of the asked-for sources/apps (all, without such filters)."""
    if not (f.sources or f.apps):
        return set(ids)
    if not ids:
        return set()
    where, params = event_rows.time_source_clause(None, None, f.sources, f.apps)
    marks = ",".join("?" * len(ids))
    return {r[0] for r in db.execute(
        f"SELECT DISTINCT s.memory_id FROM memory_sources s JOIN events e ON e.id = s.event_id "
        f"WHERE s.memory_id IN ({marks}) AND {where}", (*ids, *params))}


snippet = make_snippet


def mark_recalled(store: Any, ids: Sequence[int], *, now: datetime | None = None) -> None:
    """Reinforce memories that were recalled (shown in an answer, opened by the person)."""
    now = now or utcnow()
    ids = list(dict.fromkeys(int(i) for i in ids))
    if not ids:
        return

    def write(db: apsw.Connection) -> None:
        for m in rows.get_many(db, ids, with_sources=False).values():
            stability, anchor = forgetting.reinforce(_curve(m), now, kind="recall")
            rows.update(db, m.id, stability=stability, reinforced_at=anchor,
                        recall_count=m.recall_count + 1, last_recalled=now)

    store.write(write)


def related(db: apsw.Connection, memory_id: int, *, current_only: bool = True
            ) -> list[tuple[Memory, str]]:
    """Memories linked to ``memory_id`` (same subject, same episode, supersedes, related)."""
    links = rows.links_of(db, memory_id)
    found = rows.get_many(db, [other for other, _kind in links])
    out = []
    for other, kind in links:
        m = found.get(other)
        if m is not None and (m.current or not current_only or kind == "supersedes"):
            out.append((m, kind))
    return out


def list_memories(db: apsw.Connection, *, types: Sequence[str] = (), include_all: bool = False,
                  now: datetime | None = None, limit: int | None = None,
                  since: datetime | None = None, until: datetime | None = None) -> list[Memory]:
    """Memories for "what Engram knows": current and not weak, unless ``include_all``.

    ``since``/``until`` keep memories whose time span overlaps [since, until)
    (the timeline's episodes of a day).
    """
    now = now or utcnow()
    where, params = "1", []
    if types:
        where = f"type IN ({','.join('?' * len(types))})"
        params = list(types)
    if since is not None:
        where += " AND ended_at >= ?"
        params.append(to_epoch(since))
    if until is not None:
        where += " AND started_at < ?"
        params.append(to_epoch(until))
    if not include_all:
        where += " AND superseded_by IS NULL AND valid_until IS NULL"
    order = ("CASE type " + " ".join(f"WHEN '{t}' THEN {n}" for n, t in enumerate(MEMORY_TYPES))
             + " END, pinned DESC, started_at DESC, id DESC")
    found = rows.select(db, where, params, order=order)
    if not include_all:
        found = [m for m in found if not is_weak(m, now)]
    return found[:limit] if limit is not None else found


def core_profile(db: apsw.Connection, *, limit: int = CORE_PROFILE_LIMIT) -> list[Memory]:
    """The person's current core memories: pinned first, then the most important."""
    return rows.select(db, "type = 'core' AND superseded_by IS NULL AND valid_until IS NULL",
                       order="pinned DESC, importance DESC, valid_from DESC", limit=limit)


def core_profile_text(db: apsw.Connection, *, limit: int = CORE_PROFILE_LIMIT) -> str:
    """The core profile as short lines, for the chat model's prompt ("" when empty)."""
    return "\n".join(f"- {m.text.rstrip('.')}." for m in core_profile(db, limit=limit))


def search_text(pipeline: Any, db: apsw.Connection, query: str, *,
                filters: SearchFilters = SearchFilters(), k: int = 10,
                now: datetime | None = None, include_weak: bool = False) -> list[SearchHit]:
    """``search_memories`` for a plain query: embeds it with the pipeline's embedder."""
    vec, space = None, None
    embedder = getattr(pipeline, "embedder", None)
    if embedder is not None:
        space = pipeline.space()
        if space is not None and space.state == "ready":
            vec = embedder.embed([query], interactive=True)[0]
    return search_memories(db, terms=memory_terms(query), query_vector=vec, space=space,
                           filters=filters, k=k, now=now, include_weak=include_weak)


__all__ = ["search_memories", "search_text", "hits_for", "merge_hits", "mark_recalled", "related",
           "nearest", "fact_sources",
           "list_memories", "core_profile", "core_profile_text", "memory_terms",
           "strength_of", "is_weak"]
