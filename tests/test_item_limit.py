"""The per-item size limit at the pipeline's door (core/item_limit.py), and what it
buys: keyword search and snippets stay fast whatever was imported."""
from __future__ import annotations

import random
import time

from core.item_limit import (DEFAULT_ITEM_CHARS, FIELD_CHARS, MAX_PARTS, item_chars,
                             split_observation, split_text)
from core.records import Observation, SearchFilters, utcnow


def _prose(n_chars: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    words = "alpha beta gamma delta river stone cloud paper engine window garden".split()
    out, size = [], 0
    while size < n_chars:
        w = rng.choice(words) + ("\n" if rng.random() < 0.02 else " ")
        out.append(w)
        size += len(w)
    return "".join(out)


def test_short_text_is_one_part_and_unchanged() -> None:
    obs = Observation(source="note", captured_at=utcnow(), text="hello", external_id="m1")
    assert split_observation(obs, 1000) == [obs]


def test_long_text_splits_at_boundaries_and_keeps_every_character() -> None:
    text = _prose(50_000)
    parts = split_text(text, 8192)
    assert all(len(p) <= 8192 for p in parts)
    assert "".join(parts) == text
    assert all(p.endswith((" ", "\n")) for p in parts[:-1])  # never inside a word


def test_parts_keep_identity_for_the_first_and_number_the_rest() -> None:
    obs = Observation(source="chat", captured_at=utcnow(), text=_prose(20_000),
                      external_id="conv/7", title="x" * (FIELD_CHARS + 500))
    parts = split_observation(obs, 8192)
    assert [p.external_id for p in parts] == ["conv/7"] + [f"conv/7#part{n}"
                                                         for n in range(2, len(parts) + 1)]
    assert [p.meta["part"] for p in parts] == list(range(1, len(parts) + 1))
    assert all(len(p.title or "") <= FIELD_CHARS + 1 for p in parts)


def test_a_redaction_marker_is_never_cut() -> None:
    text = ("x" * 8180) + "[redacted:card]" + ("y" * 100)
    parts = split_text(text, 8192)
    assert any("[redacted:card]" in p for p in parts)


def test_past_max_parts_the_rest_is_left_out_with_a_note() -> None:
    parts = split_text("z" * (5000 * 10), 5000, max_parts=4)
    assert len(parts) == 4
    assert "30,000 more characters not stored" in parts[-1]


def test_setting_is_read_safely() -> None:
    assert item_chars(None) == DEFAULT_ITEM_CHARS
    assert item_chars("lots") == DEFAULT_ITEM_CHARS
    assert item_chars(-3) == DEFAULT_ITEM_CHARS
    assert item_chars(64) == 64 * 1024
    assert item_chars(0.001) >= 4096


def test_a_huge_item_is_stored_in_bounded_parts_and_search_stays_fast(engine) -> None:
    """One 12 MB "message" (a hostile JSONL record, a runaway chat line): stored as
    parts no longer than the limit, the excess left out with a note, and keyword
    searches that hit every part answer in bounded time with short snippets."""
    limit = engine.pipeline.item_chars
    assert limit == DEFAULT_ITEM_CHARS  # the default from settings
    text = _prose(1_000_000) * 12  # past the cap of MAX_PARTS × the limit (8 M characters)
    started = time.monotonic()
    changes = engine.pipeline.submit([Observation(source="chat", captured_at=utcnow(),
                                                  text=text, external_id="huge/1",
                                                  thread="hostile")])
    stored_in = time.monotonic() - started
    assert 1 < len(changes.added) <= 2 * MAX_PARTS
    db = engine.store.reader()
    lengths = [r[0] for r in db.execute("SELECT length(text) FROM events")]
    assert max(lengths) <= limit + 200
    assert sum(lengths) <= limit * MAX_PARTS + 200 * len(lengths)
    last = db.execute("SELECT text FROM events ORDER BY id DESC LIMIT 1").fetchall()[0][0]
    assert "more characters not stored" in last
    assert stored_in < 120
    for query in ("river stone", "garden", "alpha"):
        started = time.monotonic()
        hits = engine.retriever.search(query, SearchFilters(), k=10)
        took = time.monotonic() - started
        assert hits and took < 3.0, (query, took)
        assert all(len(h.snippet) < 400 for h in hits)


def test_a_long_item_submitted_again_adds_nothing(engine) -> None:
    engine.pipeline.item_chars = 8192
    text = _prose(100_000, seed=2)
    for ext in ("m1", None):  # recognised by external id, and by content hash
        obs = Observation(source="chat", captured_at=utcnow(), text=text, external_id=ext,
                          thread="t")
        first = engine.pipeline.submit([obs])
        again = engine.pipeline.submit([obs])
        assert len(first.added) > 10
        assert not again.added and sorted(again.matched) == sorted(first.added)
