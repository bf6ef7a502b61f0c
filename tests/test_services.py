"""The engine's Qt-free services on a real encrypted store: memories, activity, re-keying,
and the one Cancel/Progress pair."""
from __future__ import annotations

import shutil
import threading
from datetime import datetime, timedelta

import pytest

from core.activity import read_day
from core.errors import Cancelled, WrongPassphrase
from core.progress import Cancel, Progress
from core.records import Changes, Observation, utcnow
from core.store.db import connect


def chat(n: int, text: str, when: datetime) -> Observation:
    return Observation(source="chat", captured_at=when, text=text, speaker="You",
                       thread="Family", app="WhatsApp", external_id=f"svc:{n}")


# -- memories ------------------------------------------------------------------------------
def test_edits_return_changes_and_counts_are_current_memories(engine) -> None:
    memories = engine.memories
    added = memories.add("I live in Lisbon", "core")
    assert added.changes == Changes(memories=(added.memory_id,))
    assert memories.counts() == {"core": 1}
    edited = memories.edit(added.memory_id, "I live in Porto")
    assert edited.changes.memories == (added.memory_id,)
    assert [c.action for c in memories.history(added.memory_id)] == ["add", "edit"]
    undone = memories.undo(edited.change_id)
    assert memories.get(added.memory_id).text == "I live in Lisbon" and undone.changes.memories
    memories.delete(added.memory_id)
    assert memories.counts() == {} and memories.details(added.memory_id) is None


def test_building_reports_progress_and_a_cancel_stops_between_batches(engine) -> None:
    now = utcnow()
    engine.pipeline.submit([chat(n, f"message number {n} about the garden", now)
                            for n in range(30)])
    stop, seen = Cancel(), []

    def progress(p: Progress) -> None:
        seen.append(p)
        stop.cancel()  # after the first batch

    report = engine.memories.build(progress=progress, cancel=stop, batch_size=10)
    assert report.cancelled and report.events == 10 and engine.memories.pending() == 20
    assert [(p.done, p.total) for p in seen] == [(10, 30)]
    assert "events/s" in seen[0].label and "left" in seen[0].label  # rate and ETA
    assert engine.memories.build(batch_size=10).pending == 0


def test_forget_removes_events_and_the_memories_built_only_from_them(engine) -> None:
    added = engine.pipeline.submit([chat(1, "My daughter's name is Inês.", utcnow())]).added
    engine.memories.build()
    built = [i.memory.id for i in engine.memories.list(include_all=True)
             if set(i.memory.sources) == set(added)]
    assert built
    changes = engine.pipeline.forget(added, scrub=False)
    assert changes.removed == tuple(added) and set(built) <= set(changes.memories)
    assert all(engine.memories.get(m) is None for m in built)


# -- activity ------------------------------------------------------------------------------
def test_a_day_falls_back_to_sessions_until_episodes_exist(engine) -> None:
    start = datetime.now().astimezone().replace(hour=10, minute=0, second=0, microsecond=0)
    engine.pipeline.submit([chat(n, f"planning the trip, part {n}", start + timedelta(minutes=n))
                            for n in range(5)])
    day = read_day(engine.memories, start.date())
    assert len(day.events) == 5 and not day.episodes_are_memories
    assert [e.label for e in day.episodes] == ["WhatsApp"]
    assert day.activity.counts[10] == 5
    engine.memories.build()
    day = read_day(engine.memories, start.date())
    assert day.episodes_are_memories and day.episodes[0].memory_id is not None


# -- re-keying -----------------------------------------------------------------------------
def test_changing_the_passphrase_reencrypts_store_and_backups(data_dir, monkeypatch) -> None:
    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths
    from core.rekey import change_passphrase

    paths = resolve_paths(data_dir)
    engine = open_engine(paths, settings=Settings(paths.settings_path), ask=None)
    engine.pipeline.submit([Observation("note", utcnow(), "kept across the change")])
    old_key = engine.key
    engine.close()
    paths.backups_dir.mkdir(parents=True, exist_ok=True)
    (paths.backups_dir / "broken.db").write_bytes(b"not a database at all")
    # A real encrypted backup (a copy of the closed store) is re-encrypted with the store.
    shutil.copyfile(paths.db_path, paths.backups_dir / "before.db")
    result = change_passphrase(paths, old_key, "a brand new secret")
    assert result.backups_removed == ("broken.db",)
    assert result.backups_rekeyed == ("before.db",)
    with pytest.raises(WrongPassphrase):
        connect(paths.backups_dir / "before.db", old_key.sqlite_hexkey())
    with pytest.raises(WrongPassphrase):
        open_engine(paths, settings=Settings(paths.settings_path), ask=None, create=False)
    monkeypatch.setenv("ENGRAM_PASSPHRASE", "a brand new secret")
    again = open_engine(paths, settings=Settings(paths.settings_path), ask=None, create=False)
    try:
        assert again.retriever.search("kept across", k=1)
        backup = connect(paths.backups_dir / "before.db", again.key.sqlite_hexkey())
        assert backup.execute("SELECT count(*) FROM events").fetchall()[0][0] == 1
    finally:
        again.close()


# -- one cancel token ----------------------------------------------------------------------
def test_cancel_wakes_a_waiting_runner_and_raises_when_asked() -> None:
    stop = Cancel()
    woke = threading.Event()
    waiter = threading.Thread(target=lambda: stop.wait(30) and woke.set())
    waiter.start()
    stop.cancel()
    waiter.join(5)
    assert woke.is_set() and stop.cancelled
    with pytest.raises(Cancelled):
        stop.raise_if_cancelled()
    assert Progress(3, 4).fraction == 0.75 and Progress(3).fraction is None
