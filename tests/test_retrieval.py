"""Hybrid search: fusion, very common words, filters, snippets, the index path, the real model.

Logic tests register a deterministic fake embedder through ``open_engine``'s
``embedder`` parameter (the same path the real model takes); the last tests
use the real all-MiniLM-L6-v2 through the ``engine`` fixture.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from app.bootstrap import open_engine
from core import retrieval
from core.config import Settings, resolve_paths
from core.records import Observation, SearchFilters, utcnow
from core.retrieval import make_snippet, query_terms
from core.store import fts

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)


class WordEmbedder:
    """Bag of words in a fixed random space; a few synonyms share a vector."""

    identity = "test-words-384"
    dims = 384
    SYNONYMS = {"pulsar": "quasar", "stargazing": "observation", "novel": "book"}

    def embed(self, texts, *, interactive: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dims), np.float32)
        for n, text in enumerate(texts):
            for word in query_terms(text).words:
                word = self.SYNONYMS.get(word, word)
                seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
                out[n] += np.random.default_rng(seed).standard_normal(self.dims)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


FILLER = ("invoice dentist harbour kettle ledger mango orbit pencil quiet rocket saddle "
          "tulip umbrella velvet walnut yacht zinc anchor bridge candle").split()


def filler(i: int, words: int = 6) -> str:
    rng = np.random.default_rng(i)
    return " ".join(rng.choice(FILLER, size=words))


@pytest.fixture
def fake_engine(data_dir: Path):
    paths = resolve_paths(data_dir)
    eng = open_engine(paths, settings=Settings(paths.settings_path), ask=None,
                      embedder=WordEmbedder())
    yield eng
    eng.retriever.close()
    eng.close()


def note(text: str, hours: float = 0, source: str = "note", **kw) -> Observation:
    return Observation(source, T0 + timedelta(hours=hours), text, **kw)


def use_index(engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Load the in-memory index (and let keyword search use its id spans even when small)."""
    monkeypatch.setattr(retrieval, "SPAN_MIN_ITEMS", 0)
    loader = engine.retriever.start_index()
    assert loader is not None
    loader.join()
    assert engine.retriever.vector_index() is not None


@pytest.mark.parametrize("indexed", [False, True], ids=["exact-knn", "in-memory-index"])
def test_an_item_in_both_lists_ranks_first(fake_engine, indexed: bool,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    both = "quasar observation log from the roof"
    keyword_only = f"quasar {filler(1, 12)}"
    meaning_only = "pulsar stargazing log from the roof"
    fake_engine.pipeline.submit([note(t, i) for i, t in enumerate(
        [keyword_only, meaning_only, both] + [filler(i) for i in range(40)])])
    if indexed:
        use_index(fake_engine, monkeypatch)
    hits = fake_engine.retriever.search("quasar observation", k=5)
    texts = [h.text for h in hits]
    assert texts[0] == both
    assert keyword_only in texts and meaning_only in texts
    assert "«quasar»" in hits[0].snippet and "«observation»" in hits[0].snippet


def test_very_common_words_do_not_break_results(fake_engine,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # A small window makes 200 items behave like a million: "meeting" is in all.
    monkeypatch.setattr(fts, "WINDOW", 20)
    fake_engine.pipeline.embedder = None  # keywords alone, so the ranking is fts.rank's
    fake_engine.pipeline.submit(
        [note(f"meeting about {filler(i)}", i) for i in range(200)]
        + [note(f"meeting with zephyr team {i}", 300 + i) for i in range(3)])
    zephyr = {f"meeting with zephyr team {i}" for i in range(3)}
    hits = fake_engine.retriever.search("meeting zephyr", k=5)
    assert {h.text for h in hits[:3]} == zephyr
    assert all("«zephyr»" in h.snippet and "«meeting»" in h.snippet for h in hits[:3])
    # Only a very common word: the most recent items holding it.
    hits = fake_engine.retriever.search("meeting", k=5)
    assert len(hits) == 5 and all("«meeting»" in h.snippet for h in hits)
    assert [h.time for h in hits] == sorted((h.time for h in hits), reverse=True)
    # Unbounded ranking agrees on the best items.
    monkeypatch.setattr(fts, "WINDOW", 10**6)
    assert {h.text for h in fake_engine.retriever.search("meeting zephyr", k=3)} == zephyr


def test_keyword_search_past_its_deadline_returns_nothing(fake_engine) -> None:
    fake_engine.pipeline.submit([note(f"alpha {filler(i)}", i) for i in range(300)])
    db = fake_engine.store.reader()
    assert fts.rank(db, ["alpha"], "1", [], 10)
    assert fts.rank(db, ["alpha"], "1", [], 10, deadline_s=-1) == []
    # The connection is left without the deadline's handler.
    assert fts.rank(db, ["alpha"], "1", [], 10)


@pytest.mark.parametrize("indexed", [False, True], ids=["exact-knn", "in-memory-index"])
def test_filters_apply_to_both_lists(fake_engine, indexed: bool,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    obs = [note(f"quasar {filler(i)}", hours=i * 24, source="note" if i % 2 else "chat")
           for i in range(60)]
    fake_engine.pipeline.submit(obs)
    if indexed:
        use_index(fake_engine, monkeypatch)
    since, until = T0 + timedelta(days=10), T0 + timedelta(days=20)
    flt = SearchFilters(since=since, until=until, sources=("note",))
    hits = fake_engine.retriever.search("quasar harbour", flt, k=20)
    assert hits and len(hits) == 5  # odd days 11..19
    assert all(since <= h.time < until and h.source == "note" for h in hits)
    # Meaning-only queries (no word in the store) honour filters too.
    hits = fake_engine.retriever.search("pulsar", SearchFilters(since=since, until=until), k=20)
    assert len(hits) == 10 and all(since <= h.time < until for h in hits)


def test_index_follows_new_and_forgotten_items(fake_engine,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fake_engine.pipeline.submit([note(filler(i), i) for i in range(30)])
    use_index(fake_engine, monkeypatch)
    added = fake_engine.pipeline.submit([note("pulsar stargazing from the hill", 50)]).added
    # Found by meaning alone ("quasar observation" shares no word with it).
    assert fake_engine.retriever.search("quasar observation", k=1)[0].id == added[0]
    fake_engine.pipeline.forget(added)
    assert added[0] not in {h.id for h in fake_engine.retriever.search("quasar observation")}
    assert len(fake_engine.retriever.vector_index() or []) == 30


def test_snippet_marks_the_matched_words() -> None:
    text = "Before. " + "padding words here " * 20 + "Ana recommended Snow Crash, a novel. After."
    snippet = make_snippet(text, ("recommended", "novel"))
    assert "«recommended»" in snippet and "«novel»" in snippet
    assert snippet.startswith("…")
    assert make_snippet("short text", ()) == "short text"


def test_query_terms_quote_words_and_drop_stopwords() -> None:
    terms = query_terms('What did Ana say about "NEAR" AND title:x?')
    assert terms.words == ("ana", "say", "near", "title", "x")
    assert terms.fts == '"ana" OR "say" OR "near" OR "title" OR "x"'
    assert query_terms("the of").words == ("the", "of")
    assert query_terms("  ").fts is None


# -- the real embedding model ----------------------------------------------------------
NOTES = [
    "Ana suggested I read a wonderful book about a lighthouse keeper",
    "Dentist appointment moved to Thursday afternoon",
    "The build server runs out of disk every Monday",
    "Marco fixed the VPN by renewing the expired certificate",
]


@pytest.mark.parametrize("indexed", [False, True], ids=["exact-knn", "in-memory-index"])
def test_real_model_finds_meaning_without_shared_words(engine, indexed: bool) -> None:
    engine.pipeline.submit([Observation("note", utcnow(), t) for t in NOTES])
    if indexed:
        loader = engine.retriever.start_index()
        assert loader is not None
        loader.join()
        assert len(engine.retriever.vector_index() or []) == len(NOTES)
    try:
        assert engine.retriever.search("novel Ana recommended", k=1)[0].text == NOTES[0]
        assert engine.retriever.search("how did we repair the vpn", k=1)[0].text == NOTES[3]
        hit = engine.retriever.search("dentist", k=1)[0]
        assert hit.text == NOTES[1] and "«Dentist»" in hit.snippet
    finally:
        engine.retriever.close()


def test_a_chat_reply_is_found_by_the_turn_it_answers(fake_engine) -> None:
    from ingest.chats.common import ChatImport, make_observation

    def message(n: int, thread: str, speaker: str, text: str) -> Observation:
        return make_observation(captured_at=T0 + timedelta(minutes=n), text=text, thread=thread,
                                speaker=speaker, external_id=f"t:{thread}:{n}", app=None,
                                meta={})

    turns = [message(0, "trip", "Ana", "We watched the meteor shower at the lake"),
             message(1, "trip", "Carlos", "They were awestruck and humbled"),
             message(2, "trip", "Ana", "Same here")]
    others = [message(10 + i, "misc", "Rui", filler(i)) for i in range(30)]
    stream = ChatImport(Path("x.jsonl"), "jsonl", iter(turns[:2] + others + turns[2:]))
    observations = list(stream)
    reply = next(o for o in observations if o.external_id == "t:trip:1")
    assert reply.meta["context"] == {
        "before": "Ana: We watched the meteor shower at the lake", "after": "Ana: Same here"}
    fake_engine.pipeline.submit(observations)
    hits = fake_engine.retriever.search("how did they feel about the meteor shower", k=3)
    assert "They were awestruck and humbled" in [h.text for h in hits]


def test_what_the_named_person_said_ranks_first(fake_engine) -> None:
    fake_engine.pipeline.submit([
        Observation("chat", T0, "the ferry leaves at nine", thread="a", speaker="Ana Lima",
                    external_id="t:a:1"),
        Observation("chat", T0, "the ferry leaves at nine", thread="b", speaker="Carlos",
                    external_id="t:b:1"),
        *[note(filler(i), i) for i in range(20)]])
    def first_speaker(query: str) -> str | None:
        return fake_engine.retriever.search(query, k=2)[0].provenance.speaker

    assert first_speaker("What did Ana say about the ferry?") == "Ana Lima"
    assert first_speaker("When does Carlos's ferry leave?") == "Carlos"


def test_a_search_request_may_carry_the_query_vector(fake_engine) -> None:
    """The footprint benchmark searches given the vector; a bad vector is one clear line."""
    from core import access
    from core.errors import UsageError

    fake_engine.pipeline.submit([note("quasar observation log", 1), note(filler(2), 2)])
    vec = WordEmbedder().embed(["quasar"])[0]
    reply = access.run(fake_engine, {"op": "search", "query": "zzz nothing", "timing": True,
                                     "vector": [float(x) for x in vec]})
    assert "quasar" in reply["results"][0]["snippet"]  # found by the vector alone
    assert reply["took_ms"] > 0
    with pytest.raises(UsageError, match="384"):
        access.run(fake_engine, {"op": "search", "query": "q", "vector": [1.0, 2.0]})
    with pytest.raises(UsageError, match="list of up to 4096 numbers"):
        access.run(fake_engine, {"op": "search", "query": "q", "vector": "not a list"})


def chat_turn(when: datetime, speaker: str, text: str, n: int, thread: str = "ana") -> Observation:
    return Observation("chat", when, text, thread=thread, speaker=speaker,
                       external_id=f"t:{thread}:{n}")


def test_real_model_a_named_time_ranks_what_happened_then_first(engine) -> None:
    """"in April 2022" lifts April's message above an equally good one from September."""
    april, september = datetime(2022, 4, 9, tzinfo=timezone.utc), datetime(2022, 9, 3,
                                                                          tzinfo=timezone.utc)
    engine.pipeline.submit([
        chat_turn(april, "Ana", "We hiked up to the waterfall with the kids today", 1),
        chat_turn(april, "Rui", "Sounds lovely, how long was the trail?", 2),
        chat_turn(september, "Ana", "Today we hiked to the waterfall with the kids again", 3),
        chat_turn(september, "Rui", "Nice! Was the water cold?", 4),
        *[Observation("note", april + timedelta(days=i), t) for i, t in enumerate(NOTES)]])

    def first(query: str) -> str:
        return engine.retriever.search(query, k=3)[0].provenance.external_id or ""

    assert first("Where did Ana hike with her kids in April 2022?") == "t:ana:1"
    assert first("Where did Ana hike with her kids in September 2022?") == "t:ana:3"
    # Nothing from that time: the ranking is the plain one, nothing is filtered out.
    assert len(engine.retriever.search("Where did Ana hike with her kids in 2019?", k=3)) == 3


BOOK_CHAT = [("John", f"Practice went long today, coach made us run drills number {i}")
             for i in range(12)] + [
    ("John", "I read the news every morning before practice."),
    ("Tim", "My sister reads to her kids every night."),
    ("John", "Our team bus has a small shelf of novels nobody touches."),
    ("Tim", "The bookstore downtown closed, which is sad."),
    ("John", "Reading glasses are expensive these days."),
    ("Tim", "Hey John! How was your week?"),
    ("John", "Busy with practice, but good. We won the game on Friday, the crowd was wild."),
    ("Tim", "Mine was quiet, lots of rain and tea and naps on the sofa. I finally finished "
            "The Hobbit. My parents got a new dog, I am visiting them next weekend."),
    ("John", "Nice, I still need to read more. Any other plans?"),
    ("John", "The library near the gym has a great reading room, I go there after practice."),
    ("Tim", "I should check it out. Do they lend novels for free?"),
    ("John", "Yes, and they have a book club on Tuesdays where people read aloud."),
]


def test_real_model_a_message_ranks_by_its_fact_too(engine, monkeypatch) -> None:
    """A long chatty message is found through its one-sentence, attributed fact too.

    The message's meaning is diluted by rain, tea and a dog; its fact ("Tim
    finally finished The Hobbit.") is near "Which book did Tim finish?" and lifts
    the message above the chatter about books and reading.
    """
    from core.memory import search as memory_search
    from core.memory.consolidate import consolidate

    when = datetime(2023, 5, 8, 13, tzinfo=timezone.utc)
    engine.pipeline.submit([chat_turn(when + timedelta(minutes=n), who, text, n, "tim")
                            for n, (who, text) in enumerate(BOOK_CHAT)])
    consolidate(engine, now=when + timedelta(days=1))
    hobbit = next(n for n, (_, text) in enumerate(BOOK_CHAT) if "Hobbit" in text)
    query = "Which book did Tim finish?"

    def rank() -> int:
        hits = engine.retriever.search(query, SearchFilters(include_memories=False), k=30)
        ids = [h.provenance.external_id for h in hits]
        return ids.index(f"t:tim:{hobbit}")

    with_facts = rank()
    monkeypatch.setattr(retrieval, "FACT_LIST_WEIGHT", 0.0)
    assert with_facts < rank()
    assert with_facts <= 1

    # The facts' source messages, nearest first; an episode (a whole session) is no fact.
    db = engine.store.reader()
    space = engine.pipeline.space()
    qvec = engine.pipeline.embedder.embed([query], interactive=True)[0]
    near = memory_search.nearest(db, space, qvec, 50)
    assert near
    episodes = {r[0] for r in db.execute("SELECT id FROM memories WHERE type = 'episodic'")}
    assert episodes and episodes <= {i for i, _ in near}
    sources = [e for e, _sim in memory_search.fact_sources(db, near)]
    assert sources and len(sources) < len(BOOK_CHAT)  # not every message of the episode
    message = {r[0]: r[1] for r in db.execute("SELECT id, external_id FROM events")}
    assert f"t:tim:{hobbit}" in [message[s] for s in sources[:3]]
