"""Retention by age and by disk budget, on the real encrypted store.

Old screen captures expire, other sources stay unless listed, memories learned
from expired captures stay (or go, as the person chose), the keyword index
forgets the words, and the file on disk shrinks.
"""
from __future__ import annotations

import os
from datetime import timedelta

import pytest

from core import retention
from core.memory import rows as memory_rows
from core.memory.consolidate import consolidate
from core.records import Observation, SearchFilters, utcnow
from core.retention import RetentionPolicy

NOW = utcnow()


def screen(text: str, days_ago: float, *, image: bytes | None = None, app: str = "Firefox"
           ) -> Observation:
    start = NOW - timedelta(days=days_ago)
    return Observation(source="screen", captured_at=start, ended_at=start + timedelta(minutes=5),
                       text=text, app=app, title=f"{app} window", image=image)


def other(source: str, text: str, days_ago: float) -> Observation:
    start = NOW - timedelta(days=days_ago)
    return Observation(source=source, captured_at=start, ended_at=start, text=text,
                       thread="Ana" if source == "chat" else None,
                       speaker="Ana" if source == "chat" else None)


def texts(engine) -> set[str]:
    return {r[0] for r in engine.store.reader().execute("SELECT text FROM events")}


def test_policy_reads_settings_and_ignores_nonsense() -> None:
    p = RetentionPolicy.from_settings({"retention_days": "30", "retention_budget_mb": 512,
                                       "retention_sources": ["chat", "bogus", "screen"],
                                       "retention_keep_memories": "false"})
    assert (p.days, p.budget_bytes, p.sources, p.keep_memories) == (
        30, 512 * 1024 * 1024, ("screen", "chat"), False)
    assert p.active
    broken = RetentionPolicy.from_settings({"retention_days": "a month",
                                            "retention_budget_mb": -5,
                                            "retention_sources": "screen"})
    assert (broken.days, broken.budget_bytes, broken.sources) == (0, 0, ("screen",))
    assert not broken.active
    assert RetentionPolicy.from_settings({}).keep_memories is True


def test_old_screen_captures_expire_and_the_rest_stays(engine) -> None:
    engine.pipeline.submit([
        screen("quarterly zebrafinch report draft", 40),
        screen("ticket triage board for the release", 10),
        screen("reading the tenacity retry docs", 0.1),
        other("chat", "Ana: the zebrafinch numbers look fine", 40),
        other("note", "old zebrafinch note to self", 45),
    ])
    policy = RetentionPolicy(days=30)
    assert retention.preview(engine.store.reader(), policy).expired == 1

    report = retention.apply(engine.pipeline, policy)

    assert (report.expired, report.over_budget, report.still_over_budget) == (1, 0, False)
    left = texts(engine)
    assert "quarterly zebrafinch report draft" not in left
    assert {"ticket triage board for the release", "reading the tenacity retry docs",
            "Ana: the zebrafinch numbers look fine", "old zebrafinch note to self"} <= left
    # Gone from search too (keyword index and vectors), the chat and note still found.
    hits = engine.retriever.search("zebrafinch report", k=10,
                                   filters=SearchFilters(include_memories=False))
    assert all("report draft" not in h.snippet for h in hits)
    assert {h.source for h in hits} >= {"chat", "note"}
    # Nothing more to do the second time.
    assert retention.apply(engine.pipeline, policy).removed == 0


def test_listed_sources_expire_too(engine) -> None:
    engine.pipeline.submit([screen("old screen text here", 50),
                            other("chat", "Ana: an old chat message", 50),
                            other("note", "an old note", 50)])
    report = retention.apply(engine.pipeline, RetentionPolicy(days=7, sources=("screen", "chat")))
    assert report.expired == 2
    assert texts(engine) == {"an old note"}


@pytest.mark.parametrize("keep", [True, False])
def test_memories_learned_from_expired_captures(engine, keep: bool) -> None:
    engine.pipeline.submit([
        screen("Editing budget spreadsheet for the Lisbon offsite in LibreOffice", 40,
               app="LibreOffice Calc"),
        screen("Editing budget spreadsheet Lisbon offsite hotel costs", 40 - 0.003,
               app="LibreOffice Calc"),
        screen("Lisbon offsite flights compared in the budget sheet", 40 - 0.006,
               app="LibreOffice Calc"),
    ])
    consolidate(engine, now=NOW)
    db = engine.store.reader()
    old_ids = {r[0] for r in db.execute("SELECT id FROM events")}
    learned = {mid for (mid,) in db.execute(
        f"SELECT DISTINCT memory_id FROM memory_sources WHERE event_id IN "
        f"({','.join(map(str, old_ids))})")}
    assert learned, "consolidation built no memory from the screen captures"

    retention.apply(engine.pipeline, RetentionPolicy(days=30, keep_memories=keep))

    assert texts(engine) == set()
    remaining = {m for m in learned if memory_rows.get(engine.store.reader(), m) is not None}
    if keep:
        assert remaining == learned
        # Kept, but no longer pointing at items that are gone; the history says why.
        assert not engine.store.reader().execute(
            "SELECT count(*) FROM memory_sources").fetchall()[0][0]
        notes = [r[0] for r in engine.store.reader().execute(
            "SELECT note FROM memory_history WHERE actor = 'retention'")]
        assert notes and all("expired" in n for n in notes)
    else:
        assert remaining == set()


def test_disk_budget_forgets_the_oldest_until_it_fits_and_the_file_shrinks(engine) -> None:
    mb = 1024 * 1024
    # 60 captures with a 100 KB picture each (random bytes: like WebP, incompressible).
    engine.pipeline.submit([screen(f"capture number {n} of the day", 60 - n,
                                   image=os.urandom(100 * 1024)) for n in range(60)],
                           embed=False)
    store = engine.store
    store.compact(merge_index=False)
    usage = retention.measure(store.reader(), store.path)
    assert usage.image_bytes == 60 * 100 * 1024
    assert usage.items == {"screen": 60}
    assert usage.used_bytes > 6 * mb
    before_file = usage.file_bytes

    policy = RetentionPolicy(budget_bytes=3 * mb)
    estimate = retention.preview(store.reader(), policy)
    assert estimate.budget_reachable and 25 <= estimate.over_budget <= 45

    report = retention.apply(engine.pipeline, policy)

    after = retention.measure(store.reader(), store.path)
    assert after.used_bytes <= 3 * mb
    assert not report.still_over_budget
    assert report.over_budget == 60 - after.items["screen"]
    # The newest stayed, the oldest went, and not more than needed (>= 2 MB of pictures kept).
    left = texts(engine)
    assert "capture number 59 of the day" in left and "capture number 0 of the day" not in left
    assert after.image_bytes >= 2 * mb
    # Freed pages went back to the file system.
    assert after.file_bytes < before_file - 3 * mb
    assert report.freed_bytes > 3 * mb


def test_budget_out_of_reach_forgets_nothing_and_says_so(engine) -> None:
    """Notes alone fill the budget: forgetting every screen capture would not help,
    so none is forgotten (not the whole screen history every hour)."""
    engine.pipeline.submit([other("note", f"note {n} " + "words " * 200, 5) for n in range(20)]
                           + [screen("one screen capture", 3)], embed=False)
    policy = RetentionPolicy(budget_bytes=1024)
    preview = retention.preview(engine.store.reader(), policy)
    assert (preview.over_budget, preview.budget_reachable) == (0, False)
    report = retention.apply(engine.pipeline, policy)
    assert report.removed == 0 and report.still_over_budget and report.budget_unreachable
    assert len(texts(engine)) == 21
    assert "none was forgotten for it" in report.describe()


def test_budget_counts_bytes_not_characters(engine) -> None:
    """Text in a non-Latin script takes 3 bytes a character: the estimate must not
    think a capture is a third of its size (and then forget three times too many)."""
    engine.pipeline.submit([screen(f"画面 {n} " + "漢字" * 20_000, 30 - n) for n in range(10)],
                           embed=False)
    store = engine.store
    store.compact()
    used = retention.measure(store.reader(), store.path).used_bytes
    policy = RetentionPolicy(budget_bytes=used - 200 * 1024)  # about 1.7 captures over
    assert retention.preview(store.reader(), policy).over_budget <= 3
    report = retention.apply(engine.pipeline, policy)
    assert 1 <= report.over_budget <= 3 and not report.still_over_budget


def test_inactive_policy_does_nothing(engine) -> None:
    engine.pipeline.submit([screen("ancient capture", 900)])
    assert retention.apply(engine.pipeline, RetentionPolicy()).removed == 0
    assert retention.apply(engine.pipeline, RetentionPolicy(days=1, sources=())).removed == 0
    assert texts(engine) == {"ancient capture"}


def test_runner_applies_settings_on_start_and_when_asked(engine) -> None:
    import time

    from core.retention import RetentionRunner

    engine.pipeline.submit([screen("two months old capture", 60), screen("ten days old", 10),
                            screen("fresh capture", 0.01)])
    engine.settings.set("retention_days", 30)
    done = []
    runner = RetentionRunner(engine.pipeline, engine.settings, first_delay=0, interval=3600,
                             on_done=done.append)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while not done and time.monotonic() < deadline:
            time.sleep(0.05)
        assert done and done[0].expired == 1
        assert texts(engine) == {"ten days old", "fresh capture"}
        # Another process (the CLI) shortens it: the runner re-reads the file when woken.
        from core.config import Settings

        Settings(engine.paths.settings_path).set("retention_days", 7)
        runner.run_now()
        deadline = time.monotonic() + 20
        while len(done) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert texts(engine) == {"fresh capture"}
        assert runner.last is not None and runner.last.expired == 1 and runner.last_error is None
    finally:
        runner.stop()
    assert runner._thread is None
