"""Hybrid search: keywords (FTS5 bm25) + meaning (vector KNN), fused by rank.

Each list ranks candidates on its own; reciprocal-rank fusion combines them
without having to calibrate bm25 scores against cosine distances. Every hit is
display-ready: title, snippet with matched words marked «like this», time and
provenance.

At a million items neither list is cheap, so (figures from
``tests/benchmarks/bench_search.py``): the keyword list runs on a worker thread
while this thread embeds the query and ranks by meaning (SQLite and numpy both
release the GIL, so the two use both cores), and memories are searched on a
third thread meanwhile (``_memory_hits``); keyword ranking has a bounded cost
(``core/store/fts.py``); and long-running processes keep an in-memory vector
index (``core/store/vector_index.py``, started by ``start_index``). While it
loads (newest items first), meaning search uses what is loaded so far; in
one-shot processes such as the CLI it is sqlite-vec's exact KNN.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Sequence

import apsw
import numpy as np

from core.memory import rows as memory_rows
from core.memory import search as memory_search
from core.memory.vector_index import MemoryIndex
from core.errors import Cancelled, UsageError
from core.pipeline import Pipeline
from core.progress import Cancel
from core.records import Event, Provenance, SearchFilters, SearchHit, to_epoch
from core.snippets import MARK_CLOSE, MARK_OPEN, make_snippet
from core.store import events as event_rows
from core.store import fts, vector_codes, vectors
from core.store.vector_index import NeedsReload, VectorIndex
from core.textnorm import normalize_text
from core.timeparse import extract_time_range

log = logging.getLogger(__name__)

# Fusion and re-ranking, measured on LoCoMo dev (tests/benchmarks/bench_locomo.py):
# a smaller RRF constant trusts each list's top ranks more (k=60 → 15: recall@10
# +0.02), and keywords outweigh meaning (×1.6: +0.02). ×2.0 scored ≈0.005 more on
# LoCoMo dev with the wider neighbour lift below, but then a name in three notes
# outweighs the meaning of "novel Ana recommended" (tests/test_store.py).
RRF_K = 15
KEYWORD_WEIGHT = 1.6
FTS_SNIPPET_MAX_CHARS = 32_000
# A chat message gets this share of its neighbours' scores (by distance in
# turns); the neighbours of the best NEIGHBOUR_SEEDS candidates are candidates too.
# (0.3/0.1 → 0.5/0.2: LoCoMo dev recall@10 +0.01; an answer is often the turn
# after the one that shares the question's words.)
NEIGHBOUR_WEIGHTS = {1: 0.5, 2: 0.2}
NEIGHBOUR_SPAN = max(NEIGHBOUR_WEIGHTS)
NEIGHBOUR_SEEDS = 30
# Candidates each list brings to the fusion (at least 5 per hit asked for). Keywords
# 50 → 200 and meaning 50 → 100 lift LoCoMo dev recall@10 by ≈0.01 (an answer a few
# turns from a match comes with it). Meaning 200 adds nothing more there and doubles
# the int8 re-rank of the vector index (≈2.5 ms of CPU per search at 100k items in
# all, tests/benchmarks/footprint_profile.py); bm25 scores every match anyway.
KEYWORD_CANDIDATES = 200
MEANING_CANDIDATES = 100
# Memories nearest the query whose facts rank their source messages, as a third
# list beside keywords and meaning (``memory_search.fact_sources``), with this
# weight: LoCoMo dev recall@10 +0.006 overall, multi-hop +0.02, every conversation
# at least as good (more weight lifts multi-hop further but loses adversarial
# questions, whose evidence is the other person's message).
FACT_CANDIDATES = 100
FACT_LIST_WEIGHT = 0.3
# What the person a query names said counts this much more.
SPEAKER_BOOST = 0.3
# A query naming a time ("in April 2022", "on 9 October, 2022", "last week") ranks
# what happened then higher without filtering the rest out (Ask filters; search
# ranks): ×2 on LoCoMo dev lifts recall@10 of the 126 questions naming a date
# (single-hop +0.01, temporal +0.02, adversarial +0.01 over all questions).
TIME_BOOST = 1.0
# The relevance floor: when no word of the query occurs in any item, a hit found by
# meaning alone must be at least this similar (cosine) to count. Measured with the
# built-in MiniLM: gibberish ("zxqvbn", "asdkjh qwpoei") peaks at 0.19–0.26 against a
# LoCoMo conversation and 0.25 against a day of screen text, while a paraphrase
# without shared words ("printer problem", "shed bill") scores 0.46–0.62. With
# keyword matches the meaning list is left as it is: a quarter of LoCoMo's gold
# evidence sits below 0.2 and is found through the words it shares.
MEANING_ONLY_FLOOR = 0.30
# Below this many items a time filter is cheap to apply row by row.
SPAN_MIN_ITEMS = 50_000
# After a failed index load, wait this long before trying again.
RETRY_LOAD_S = 300.0

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for
from further had has have having he her here hers herself him himself his how i if in
into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your
yours yourself yourselves did does doing ever also get got
""".split())

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class QueryTerms:
    words: tuple[str, ...]     # content words, lower-case
    fts: str | None            # FTS5 MATCH expression, None if nothing to match


def query_terms(query: str) -> QueryTerms:
    tokens = [t.lower() for t in _WORD.findall(query)]
    content = [t for t in tokens if t not in STOPWORDS] or tokens
    unique = tuple(dict.fromkeys(content))
    if not unique:
        return QueryTerms((), None)
    # Quoted terms can't be read as FTS operators (AND, NEAR, column filters).
    return QueryTerms(unique, " OR ".join(f'"{t}"' for t in unique))


class Retriever:
    """Reads only: search over stored events (memories join in later)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.store = pipeline.store
        self._index: VectorIndex | None = None
        self._stale: VectorIndex | None = None  # needs a reload; skip its catch-up
        self._loading: VectorIndex | None = None  # filling: searches use what is in
        self._index_wanted = False
        self._loader: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop = Cancel()
        self._workers: dict[str, ThreadPoolExecutor] = {}
        self._failed_at = -RETRY_LOAD_S
        self._asked_at: float | None = None
        self.index_load_s: float | None = None  # start_index → loaded (status, benchmarks)
        self._memory_index: MemoryIndex | None = None

    # -- the in-memory vector index -----------------------------------------------------
    def start_index(self) -> threading.Thread | None:
        """Load the in-memory vector index in the background, and keep it loaded.

        For long-running processes (desktop app, daemon): seconds at a million
        items, ≈125 B of RAM per item. Searches meanwhile use the items loaded
        so far (newest first) besides keywords.
        Returns the loading thread (None if there is nothing to load yet).
        """
        self._index_wanted = True
        if self._asked_at is None:
            self._asked_at = time.monotonic()
        space = self.pipeline.space()
        if space is None or space.state != "ready":
            return None  # loaded on the first search once the space is ready
        return self._start_loading(space)

    def vector_index(self) -> VectorIndex | None:
        """The loaded in-memory index, if any (status and benchmarks)."""
        return self._index

    def close(self) -> None:
        """Stop a running index load and the keyword worker (before the store closes)."""
        self._stop.cancel()
        loader = self._loader
        if loader is not None:
            loader.join(timeout=30)
        for pool in list(self._workers.values()):
            pool.shutdown(wait=True)
        self._index = self._memory_index = None

    def _start_loading(self, space: vectors.Space) -> threading.Thread | None:
        with self._lock:
            idle = self._loader is None or not self._loader.is_alive()
            retry = time.monotonic() - self._failed_at >= RETRY_LOAD_S
            if idle and retry and not self._stop.cancelled:
                self._loader = threading.Thread(target=self._load, args=(space,),
                                                name="vector-index", daemon=True)
                self._loader.start()
            return self._loader

    def _load(self, space: vectors.Space) -> None:
        db = self.store.reader()
        # Searches use this index while it fills (keywords carry the rest).
        index = self._loading = VectorIndex(space)
        try:
            if not vector_codes.exists(db, space.id):
                # A store written before the codes existed: make them once, from
                # the float vectors (one write transaction, seconds per 100k items).
                built = self.store.write(lambda w: vector_codes.build(
                    w, space.id, space.dims, space.table("events"), cancel=self._stop))
                log.info("vector codes built for %d items", built)
            index.fill(db, cancel=self._stop)
            index.catch_up(db, wait=True)
            self._index, self._stale = index, None
            if self.index_load_s is None and self._asked_at is not None:
                self.index_load_s = time.monotonic() - self._asked_at
            self._load_memories(db, space)
        except Cancelled:
            return
        except Exception:
            self._failed_at = time.monotonic()
            log.exception("loading the vector index failed; meaning search stays exact")
            return
        finally:
            self._loading = None
            # This thread's connection stays open until the store closes: give
            # back the page cache the scan filled (up to 128 MB).
            try:
                db.execute("PRAGMA shrink_memory")
            except apsw.Error:
                pass  # the store was closed under us; nothing to give back
        log.info("vector index ready: %d items, %.0f MB", len(index), index.nbytes() / 1e6)

    def _load_memories(self, db: apsw.Connection, space: vectors.Space) -> None:
        """Load the memories' index (under a second at 30k memories; after the events')."""
        index = MemoryIndex.load(db, space, cancel=self._stop)
        index.catch_up(db, wait=True)
        self._memory_index = index
        log.info("memory index ready: %d memories, %.0f MB", len(index), index.nbytes() / 1e6)

    def _usable_memory_index(self, db: apsw.Connection,
                             space: vectors.Space | None) -> MemoryIndex | None:
        """The memories' in-memory index, caught up; None means exact search."""
        index = self._memory_index
        if index is None or space is None or index.space.id != space.id:
            return None
        try:
            index.catch_up(db)
        except NeedsReload as exc:
            # Exact search until the next index load brings the memories back in.
            log.info("memory index dropped (%s)", exc)
            self._memory_index = None
            self._start_loading(space)
            return None
        return index

    def _usable_index(self, db: apsw.Connection, space: vectors.Space) -> VectorIndex | None:
        index = self._index
        if index is None or index.space.id != space.id:
            if self._index_wanted:
                self._start_loading(space)
                loading = self._loading
                if loading is not None and loading.space.id == space.id:
                    return loading  # partly filled: what is in, newest first
            return None
        if index is self._stale:
            self._start_loading(space)  # no-op while a reload runs
            return index
        try:
            index.catch_up(db)
        except NeedsReload as exc:
            # Serve the slightly stale index until the reload is done:
            # forgotten items are dropped when hits are read anyway.
            log.info("vector index reloads (%s)", exc)
            self._stale = index
            self._start_loading(space)
        return index

    # -- search ---------------------------------------------------------------------------
    def search(self, query: str, filters: SearchFilters = SearchFilters(),
               k: int = 10, query_vector: np.ndarray | None = None) -> list[SearchHit]:
        """The ``k`` best hits (events and memories) for ``query`` within ``filters``.

        Setting ``filters.memory_types`` searches memories only. ``query_vector``:
        the query's embedding, when the caller has it already (else it is embedded).
        """
        query = normalize_text(query.strip())  # stored text is NFKC-folded: so is the query
        if not query:
            return []
        db = self.store.reader()
        terms = query_terms(query)
        when = _time_named(query)
        pool = max(KEYWORD_CANDIDATES, k * 5)
        want_events = filters.include_events and not filters.memory_types
        pending = None
        if terms.fts is not None and want_events:
            pending = self._worker().submit(
                lambda: self._keyword(self.store.reader(), terms, filters, pool))
        space, qvec = (self._query_vector(query) if query_vector is None
                       else self._given_vector(query_vector))
        # Memories are searched on a third thread meanwhile: their SQLite reads and
        # numpy scans let go of the GIL (hybrid p50 at 100k items, 27k memories:
        # ≈8 ms of one thread's work in a row before).
        # First the memories nearest the query: their facts rank events too, and
        # memory search goes on from them (the same one-thread worker, in order).
        nearest = (self._worker("memories").submit(self._nearest_memories, qvec, space, k)
                   if want_events or filters.include_memories else None)
        memories = (self._worker("memories").submit(
            self._memory_hits, query, qvec, space, filters, k, nearest)
            if filters.include_memories else None)
        near = (self._semantic(db, space, qvec, filters, max(MEANING_CANDIDATES, k * 5))
                if want_events else [])
        keyword = pending.result() if pending is not None else []
        floor = -1.0
        if not keyword:  # nothing shares a word with the query: only close meanings count
            floor = MEANING_ONLY_FLOOR
            near = [(i, d) for i, d in near if 1.0 - d >= floor]
        semantic = [i for i, _ in near]
        facts = ([e for e, sim in nearest.result()[1] if sim >= floor]
                 if want_events and nearest is not None else [])
        # With memories, snippets wait for the merge: only the events it keeps need one.
        event_hits = (self._event_hits(db, terms, keyword, semantic, k, filters, when,
                                       snippets=memories is None, facts=facts)
                      if want_events else [])
        if memories is None:
            return event_hits
        memory_hits, sources = memories.result()
        merged = (memory_search.merge_hits(event_hits, memory_hits, k, sources=sources)
                  if memory_hits else event_hits)
        return self._with_snippets(db, terms, set(keyword), merged,
                                   {id(h) for h in event_hits})

    def _nearest_memories(self, qvec: np.ndarray | None, space: vectors.Space | None, k: int
                          ) -> tuple[list[tuple[int, float]] | None, list[tuple[int, float]]]:
        """The memories nearest the query (enough for ``search_memories``) and the facts'
        source events among the first ``FACT_CANDIDATES`` (on the memories' worker)."""
        db = self.store.reader()
        near = memory_search.nearest(db, space, qvec, max(FACT_CANDIDATES, 2 * max(50, k * 5)),
                                     self._usable_memory_index(db, space))
        return near, (memory_search.fact_sources(db, near[:FACT_CANDIDATES]) if near else [])

    def _memory_hits(self, query: str, qvec: np.ndarray | None, space: vectors.Space | None,
                     filters: SearchFilters, k: int, nearest: Future | None = None,
                     ) -> tuple[list[SearchHit], dict[int, tuple[int, ...]]]:
        """The memory hits of a search and their source events (on the memories' worker)."""
        db = self.store.reader()
        hits = memory_search.search_memories(
            db, terms=query, query_vector=qvec, space=space, filters=filters, k=k,
            index=self._usable_memory_index(db, space),
            near=nearest.result()[0] if nearest is not None else None)
        return hits, (memory_rows.sources_many(db, [h.id for h in hits]) if hits else {})

    def _event_hits(self, db: apsw.Connection, terms: QueryTerms, keyword: list[int],
                    semantic: list[int], k: int, filters: SearchFilters = SearchFilters(),
                    when: tuple[float, float] | None = None,
                    snippets: bool = True, facts: Sequence[int] = ()) -> list[SearchHit]:
        """The ``k`` best events; without ``snippets`` their snippet is left empty
        (``_with_snippets`` makes it). ``facts``: events ranked by their facts."""
        fused: dict[int, float] = {}
        for weight, ranked in ((KEYWORD_WEIGHT, keyword), (1.0, semantic),
                               (FACT_LIST_WEIGHT, facts)):
            for rank, event_id in enumerate(ranked):
                fused[event_id] = fused.get(event_id, 0.0) + weight / (RRF_K + rank + 1)
        fused = self._rerank(db, terms, fused, filters, when)
        # A few spare candidates: identical screen moments collapse into one below.
        best = sorted(fused, key=lambda i: (-fused[i], -i))[:k + max(5, k // 2)]
        rows = event_rows.get_many(db, best)
        best = _distinct_screens(best, rows)[:k]
        hits = [event_hit(rows[i], "", fused[i]) for i in best
                if i in rows]  # a missing row was forgotten between the two reads
        if not snippets:
            return hits
        return self._with_snippets(db, terms, set(keyword), hits, {id(h) for h in hits})

    def _with_snippets(self, db: apsw.Connection, terms: QueryTerms, keyword_ids: set[int],
                       hits: list[SearchHit], bare: set[int]) -> list[SearchHit]:
        """``hits`` with a snippet made for each of the hits whose ``id()`` is in ``bare``."""
        todo = [h for h in hits if id(h) in bare]
        # FTS5's snippet() scores every match of a document: on a 256 K-character item
        # that is seconds per hit. Long items get the linear Python snippet instead.
        found = self._fts_snippets(db, terms, [
            h.id for h in todo if h.id in keyword_ids and len(h.text) <= FTS_SNIPPET_MAX_CHARS])
        made = {id(h): replace(h, snippet=found.get(h.id) or make_snippet(h.text, terms.words))
                for h in todo}
        return [made.get(id(h), h) for h in hits]

    def _rerank(self, db: apsw.Connection, terms: QueryTerms, fused: dict[int, float],
                filters: SearchFilters,
                when: tuple[float, float] | None = None) -> dict[int, float]:
        """Conversation-aware re-ranking of fused scores (one indexed lookup).

        A chat message often only makes sense with the turns around it ("They
        were awestruck" answers the message before it), so each message also
        is lifted toward stronger neighbours (same conversation, adjacent ids:
        a chat is stored in order; never past a lone stronger neighbour, so
        the message that matched stays first), and neighbours of strong hits
        become candidates. When the query names someone who speaks in the
        candidates, what that person said counts more.
        """
        if not fused:
            return fused
        top = sorted(fused, key=lambda i: -fused[i])[:NEIGHBOUR_SEEDS]
        wanted = set(fused)
        for event_id in top:
            wanted.update(event_id + d for d in range(-NEIGHBOUR_SPAN, NEIGHBOUR_SPAN + 1))
        where, params = event_rows.time_source_clause(
            filters.since, filters.until, filters.sources, filters.apps)
        info: dict[int, tuple[str, str | None, str | None, float, float]] = {}
        ids = sorted(wanted)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for event_id, source, thread, speaker, began, ended in db.execute(
                    f"SELECT e.id, e.source, e.thread, e.speaker, e.started_at, e.ended_at "
                    f"FROM events e WHERE e.id IN ({','.join('?' * len(chunk))}) AND {where}",
                    (*chunk, *params)):
                info[event_id] = (source, thread, speaker, began, ended)
        out: dict[int, float] = {}
        for event_id in info:
            source, thread = info[event_id][:2]
            own = score = fused.get(event_id, 0.0)
            if source == "chat" and thread is not None:
                for d, weight in NEIGHBOUR_WEIGHTS.items():
                    for other in (event_id - d, event_id + d):
                        near = info.get(other)
                        if near is not None and near[1] == thread and near[0] == "chat":
                            score += weight * max(0.0, fused.get(other, 0.0) - own)
            if score > 0:
                out[event_id] = score
        named = _named_speakers(terms.words, (v[2] for v in info.values()))
        if named:
            for event_id in out:
                speaker = info[event_id][2]
                if speaker and speaker.lower() in named:
                    out[event_id] *= 1.0 + SPEAKER_BOOST
        if when is not None:
            since, until = when
            for event_id in out:
                began, ended = info[event_id][3:]
                if began < until and ended >= since:
                    out[event_id] *= 1.0 + TIME_BOOST
        return out

    def _query_vector(self, query: str) -> tuple[vectors.Space | None, np.ndarray | None]:
        """The query's embedding in the ready vector space, or (space, None)."""
        pipeline = self.pipeline
        if pipeline.embedder is None:
            return None, None
        space = pipeline.space()
        if space is None or space.state != "ready":
            return space, None  # vectors are being rebuilt: keywords only meanwhile
        try:
            return space, pipeline.embedder.embed([query], interactive=True)[0]
        except Exception:
            log.exception("query embedding failed; keyword results only")
            return space, None

    def _given_vector(self, qvec: np.ndarray) -> tuple[vectors.Space | None, np.ndarray | None]:
        space = self.pipeline.space()
        if space is None or space.state != "ready":
            return space, None
        if qvec.shape != (space.dims,):
            raise UsageError(f"The query vector has {qvec.size} numbers; the model's "
                             f"vectors have {space.dims}.")
        return space, qvec

    def _worker(self, name: str = "keywords") -> ThreadPoolExecutor:
        """The one-thread pool for a part of every search (it keeps its own warm read
        connection: Store.reader is per thread)."""
        with self._lock:
            pool = self._workers.get(name)
            if pool is None:
                pool = self._workers[name] = ThreadPoolExecutor(
                    1, thread_name_prefix=f"search-{name}")
            return pool

    # -- the two rankings -----------------------------------------------------------
    def _keyword(self, db: apsw.Connection, terms: QueryTerms, filters: SearchFilters,
                 limit: int) -> list[int]:
        if terms.fts is None:
            return []
        where, params = event_rows.time_source_clause(
            filters.since, filters.until, filters.sources, filters.apps)
        index = self._index
        span = None
        if index is not None and len(index) >= SPAN_MIN_ITEMS:
            # Only large stores: an item still waiting for its vector is not in
            # the index and could fall outside the span.
            span = index.id_span(filters)
        return fts.rank(db, terms.words, where, params, limit, ids=span)

    def _semantic(self, db: apsw.Connection, space: vectors.Space | None,
                  qvec: np.ndarray | None, filters: SearchFilters,
                  limit: int) -> list[tuple[int, float]]:
        """(event id, cosine distance), nearest first."""
        if space is None or qvec is None:
            return []
        index = self._usable_index(db, space)
        if index is not None:
            return list(index.search(qvec, limit, filters, db=db))
        return self._exact_knn(db, space, qvec, filters, limit)

    def _exact_knn(self, db: apsw.Connection, space: vectors.Space, qvec,
                   filters: SearchFilters, limit: int) -> list[tuple[int, float]]:
        """sqlite-vec's exact KNN, filtered afterwards (no index loaded)."""
        filtered = bool(filters.since or filters.until or filters.sources or filters.apps)
        fetch = min(4096, limit * (20 if filtered else 1))
        found = vectors.knn(db, space, "events", qvec, fetch)
        if not filtered:
            return found[:limit]
        ids = [i for i, _ in found]
        where, params = event_rows.time_source_clause(
            filters.since, filters.until, filters.sources, filters.apps)
        allowed = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            allowed.update(r[0] for r in db.execute(
                f"SELECT e.id FROM events e WHERE e.id IN ({','.join('?' * len(chunk))}) "
                f"AND {where}", (*chunk, *params)))
        return [(i, d) for i, d in found if i in allowed][:limit]

    def _fts_snippets(self, db: apsw.Connection, terms: QueryTerms,
                      ids: Sequence[int]) -> dict[int, str]:
        if not ids or terms.fts is None:
            return {}
        marks = ",".join("?" * len(ids))
        sql = (f"SELECT rowid, snippet(events_fts, 1, '{MARK_OPEN}', '{MARK_CLOSE}', '…', 32) "
               f"FROM events_fts WHERE events_fts MATCH ? AND rowid IN ({marks})")
        out = {}
        for rowid, snip in db.execute(sql, (terms.fts, *ids)):
            if MARK_OPEN in snip:
                out[rowid] = snip
        return out


def _distinct_screens(ids: Sequence[int], rows: dict[int, Event]) -> list[int]:
    """``ids`` without repeats of the same screen: a screen event whose app, title and
    words equal a better-ranked one's (OCR often differs only in line breaks and stray
    punctuation) adds nothing to a list of results."""
    seen: set[tuple[str | None, str | None, tuple[str, ...]]] = set()
    out = []
    for event_id in ids:
        event = rows.get(event_id)
        if event is not None and event.source == "screen":
            key = (event.app, event.title, tuple(_WORD.findall(event.text.casefold())))
            if key in seen:
                continue
            seen.add(key)
        out.append(event_id)
    return out


def _time_named(query: str) -> tuple[float, float] | None:
    """The span (epoch seconds, [since, until)) of the first time the query names."""
    found = extract_time_range(query)
    return None if found is None else (to_epoch(found.since), to_epoch(found.until))


def _named_speakers(words: Sequence[str], speakers) -> set[str]:
    """Speakers (lower-case) the query names by full or first name."""
    wanted = set(words)
    named = set()
    for speaker in speakers:
        if not speaker:
            continue
        low = speaker.lower()
        parts = _WORD.findall(low)
        if low in wanted or (parts and parts[0] in wanted):
            named.add(low)
    return named


def event_title(event: Event) -> str:
    """A short human title for an event, from what its source knows."""
    if event.source == "chat":
        who = event.speaker or "someone"
        # A one-to-one chat is named after the other person: "Ana", not "Ana in Ana".
        if not event.thread or event.thread.casefold() == who.casefold():
            return who
        return f"{who} · {event.thread}"
    if event.source == "file" and event.path:
        name = event.path.rsplit("/", 1)[-1]
        if event.title and event.title.startswith(name):
            return event.title  # chunk titles already start with the file name
        return f"{name} › {event.title}" if event.title else name
    if event.source == "screen":
        return " — ".join(p for p in (event.app, event.title) if p) or "Screen"
    if event.title:
        return event.title
    first_line = event.text.strip().splitlines()[0] if event.text.strip() else ""
    return first_line[:80] + ("…" if len(first_line) > 80 else "")


def event_hit(event: Event, snippet: str, score: float) -> SearchHit:
    return SearchHit(
        id=event.id, kind="event", source=event.source, time=event.started_at,
        end_time=event.ended_at if event.ended_at != event.started_at else None,
        title=event_title(event), snippet=snippet, score=score, text=event.text,
        has_image=event.has_image,
        provenance=Provenance(external_id=event.external_id, app=event.app,
                              title=event.title, url=event.url, path=event.path,
                              thread=event.thread, speaker=event.speaker),
    )
