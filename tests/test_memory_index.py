"""The memories' in-memory index: same results as exact search, keeps up with changes.

Real encrypted store, real embedding model, memories built by the real
consolidation; the retriever loads the index as the app and daemon do.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from core.memory import rows
from core.memory import search as memory_search
from core.memory.consolidate import consolidate
from core.memory.search import memory_terms, search_memories
from core.memory.vector_index import MemoryIndex
from core.records import Observation, SearchFilters
from core.store import vectors

T0 = datetime(2024, 3, 4, 10, 0, tzinfo=timezone.utc)
JULY = datetime(2024, 7, 2, 20, 0, tzinfo=timezone.utc)
LATER = JULY + timedelta(days=2)

LINES = [
    "I moved to Lisbon last month, the light here is lovely.",
    "I work at Siemens as a software engineer.",
    "My sister Maria lives in Berlin and teaches piano.",
    "I am allergic to peanuts, so no satay for me.",
    "My favourite band is Radiohead, saw them in 2019.",
    "We adopted a cat called Miso in January.",
    "I run five kilometres every Sunday morning by the river.",
    "My daughter starts school in September.",
    "I drive a blue Volkswagen Golf.",
    "I am learning Japanese on Tuesday evenings.",
    "Big news again: we moved to Porto this week!",
]
QUERIES = ["where does the user live", "what job do they have", "allergy food",
           "pets at home", "music taste", "exercise routine", "car", "languages",
           "family in Germany", "Porto", "Lisbon light"]


def chat(i: int, when: datetime, text: str) -> Observation:
    return Observation(source="chat", captured_at=when, text=text, speaker="You",
                       thread="Ana Souza", app="WhatsApp", external_id=f"wa:{i}",
                       meta={"conversation_id": "Ana Souza"})


def build(engine) -> None:
    obs = [chat(i, T0 + timedelta(days=i), t) for i, t in enumerate(LINES[:-1])]
    engine.pipeline.submit(obs + [chat(99, JULY, LINES[-1])])
    consolidate(engine, now=JULY + timedelta(days=1))


def ids(engine, query: str, index: MemoryIndex | None, **kw) -> list[int]:
    db = engine.store.reader()
    space = engine.pipeline.space()
    vec = engine.pipeline.embedder.embed([query], interactive=True)[0]
    return [h.id for h in search_memories(db, terms=memory_terms(query), query_vector=vec,
                                          space=space, index=index, now=LATER, **kw)]


def test_the_index_returns_what_exact_search_returns(engine) -> None:
    build(engine)
    db = engine.store.reader()
    space = engine.pipeline.space()
    index = MemoryIndex.load(db, space)
    assert len(index) == db.execute(
        f"SELECT count(*) FROM {space.table(rows.COLLECTION)}").fetchall()[0][0]
    answered = 0
    for query in QUERIES:
        exact = ids(engine, query, None)
        answered += bool(exact)
        assert ids(engine, query, index) == exact, query
        assert ids(engine, query, index, include_superseded=True) == \
            ids(engine, query, None, include_superseded=True), query
    assert answered >= len(QUERIES) // 2
    # Neighbours and their cosine distances agree with sqlite-vec's exact KNN.
    vec = engine.pipeline.embedder.embed(["where do I live"], interactive=True)[0]
    near = index.search(vec, 5, db=db)
    exact = vectors.knn(db, space, rows.COLLECTION, vec, 5)
    assert [i for i, _ in near] == [i for i, _ in exact]
    assert np.allclose([d for _, d in near], [d for _, d in exact], atol=0.02)


def test_the_retriever_keeps_the_index_up_to_date(engine) -> None:
    build(engine)
    retriever = engine.retriever
    loader = retriever.start_index()
    assert loader is not None
    loader.join()
    index = retriever._memory_index
    assert index is not None and len(index) > 5
    db = engine.store.reader()
    lisbon = next(m for m in rows.select(db) if m.fields.get("value") == "Lisbon")
    porto = next(m for m in rows.select(db) if m.fields.get("value") == "Porto")
    assert lisbon.superseded_by == porto.id  # superseded: not shown by default
    hits = [h.id for h in retriever.search("where do I live Lisbon Porto",
                                           SearchFilters(memory_types=("core",)))]
    assert porto.id in hits and lisbon.id not in hits

    # A new memory, written after the load, is found through the index.
    before = len(index)
    engine.pipeline.submit([chat(200, LATER, "I play the cello in an amateur orchestra.")])
    consolidate(engine, now=LATER)
    found = retriever._usable_memory_index(engine.store.reader(), engine.pipeline.space())
    assert found is index and len(index) > before
    cello = next(m for m in rows.select(engine.store.reader()) if "cello" in m.text.lower())
    assert cello.id in {i for i, _ in index.search(
        engine.pipeline.embedder.embed(["cello orchestra"], interactive=True)[0], 3)}
    assert cello.id in [h.id for h in retriever.search(
        "cello orchestra", SearchFilters(memory_types=("core", "semantic")))]

    # Forgetting its source event removes the memory from results and from the index.
    event = engine.store.reader().execute(
        "SELECT id FROM events WHERE external_id = 'wa:200'").fetchall()[0][0]
    engine.pipeline.forget([event], scrub=False)
    assert rows.get(engine.store.reader(), cello.id) is None
    retriever._usable_memory_index(engine.store.reader(), engine.pipeline.space())
    assert cello.id not in {i for i, _ in index.search(
        engine.pipeline.embedder.embed(["cello orchestra"], interactive=True)[0], 3)}
    assert cello.id not in [h.id for h in retriever.search(
        "cello orchestra", SearchFilters(memory_types=("core", "semantic")))]


def test_very_common_words_keep_the_rare_words_matches_first(engine) -> None:
    build(engine)
    db = engine.store.reader()
    texts = [m.text for m in rows.select(db)]
    assert len(texts) > 5
    # The most widespread content word, with a window it exceeds, beside a rare word.
    counts: dict[str, int] = {}
    for text in texts:
        for w in set(memory_terms(text).words):
            counts[w] = counts.get(w, 0) + 1
    common = max(counts, key=lambda w: (counts[w], w))
    assert counts[common] >= 3
    terms = memory_terms(f"siemens {common}")
    assert terms.words == ("siemens", common)
    old = memory_search.KEYWORD_WINDOW
    try:
        memory_search.KEYWORD_WINDOW = counts[common] - 1
        bounded = memory_search._keyword(db, terms, 50)
    finally:
        memory_search.KEYWORD_WINDOW = old
    full = memory_search._keyword(db, terms, 50)
    siemens = {r[0] for r in db.execute(
        "SELECT rowid FROM memories_fts WHERE memories_fts MATCH 'siemens'")}
    assert siemens and set(bounded[:len(siemens)]) == siemens == set(full[:len(siemens)])
    assert set(bounded) <= set(full) and len(bounded) >= len(siemens)


def test_hybrid_search_equals_its_parts_run_one_after_the_other(engine) -> None:
    """The retriever runs memories on a worker beside the events and makes event
    snippets after the merge: its hits are those of the plain composition (event
    hits with their snippets, memory hits, merge) for every query."""
    build(engine)
    engine.pipeline.submit([chat(300 + i, LATER + timedelta(minutes=i), text)
                            for i, text in enumerate(LINES)])  # events that share words
    retriever = engine.retriever
    retriever.start_index().join()
    assert retriever._memory_index is not None
    db = engine.store.reader()
    space = engine.pipeline.space()
    mixed = marked = 0
    for query in QUERIES + ["Lisbon light lovely", "cat Miso January", "piano Berlin"]:
        vec = engine.pipeline.embedder.embed([query], interactive=True)[0]
        got = retriever.search(query, SearchFilters(), k=8, query_vector=vec)
        events = retriever.search(query, SearchFilters(include_memories=False), k=8,
                                  query_vector=vec)
        memories = search_memories(db, terms=query, query_vector=vec, space=space, k=8,
                                   index=retriever._memory_index)
        sources = rows.sources_many(db, [h.id for h in memories])
        want = (memory_search.merge_hits(events, memories, 8, sources=sources)
                if memories else events)

        def shown(hits):
            return [(h.kind, h.id, h.snippet, h.title, h.score if h.kind == "event" else 0)
                    for h in hits]

        assert shown(got) == shown(want), query
        mixed += {h.kind for h in got} == {"event", "memory"}
        marked += sum(h.kind == "event" and "«" in h.snippet for h in got)
    assert mixed >= 3 and marked >= 3  # both kinds, and snippets made after the merge
