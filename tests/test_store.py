"""The encrypted store: nothing in clear, wrong keys change nothing, migrations, concurrency."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import apsw
import numpy as np
import pytest

from core.errors import WrongPassphrase
from core.records import Observation, utcnow
from core.store import Store
from core.store import db as store_db
from core.store import events as event_rows
from core.store import migrations

REPO = Path(__file__).resolve().parent.parent


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` holding ``needle`` in UTF-8 or UTF-16 form."""
    forms = [needle.encode("utf-8"), needle.encode("utf-16-le"), needle.encode("utf-16-be")]
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(form in data for form in forms):
                hits.append(path)
    return hits


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_canary_added_through_cli_is_found_and_never_in_clear(cli, data_dir: Path) -> None:
    canary = "zebracanary7741 wombat"
    added = cli("add", f"Secret plans: {canary} at the harbour")
    event_id = int(added.stdout.strip())
    found = cli("search", "zebracanary7741", "--json")
    import json
    results = json.loads(found.stdout)["results"]
    assert [r["id"] for r in results][:1] == [event_id]
    assert "«zebracanary7741»" in results[0]["snippet"]
    assert (data_dir / "engram.db").exists()
    assert files_containing(data_dir, "zebracanary7741") == []
    assert files_containing(data_dir, "harbour") == []


def test_open_store_keeps_wal_and_shm_encrypted(engine, data_dir: Path) -> None:
    canary = "quokkacanary5521"
    engine.pipeline.submit([Observation("note", utcnow(), f"{canary} lives in the WAL")])
    assert Path(str(engine.store.path) + "-wal").exists()
    # While the store is open, the change sits in the write-ahead log.
    assert files_containing(data_dir, canary) == []
    assert engine.retriever.search(canary)[0].text.startswith(canary)


def test_wrong_passphrase_fails_cleanly_and_changes_nothing(cli, data_dir: Path) -> None:
    cli("add", "a note under the right passphrase")
    before = snapshot(data_dir)
    proc = cli("search", "note", check=False, env={"ENGRAM_PASSPHRASE": "not the passphrase"})
    assert proc.returncode == 2
    assert "passphrase" in proc.stderr.lower()
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2
    assert snapshot(data_dir) == before
    again = cli("search", "note", "--json")
    assert '"note"' not in again.stderr and "a note under" in again.stdout


def test_wrong_key_raises_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    store = Store(path, os.urandom(32).hex(), backups_dir=tmp_path / "b")
    store.close()
    with pytest.raises(WrongPassphrase):
        store_db.connect(path, os.urandom(32).hex())


def test_semantic_query_finds_note_sharing_no_words(engine) -> None:
    notes = [
        "Ana suggested I read a wonderful book about a lighthouse keeper",
        "Dentist appointment moved to Thursday afternoon",
        "The build server runs out of disk every Monday",
        "Ana's birthday party is on the 14th at her flat",
        "Bought oat milk, eggs and coffee beans",
        "Quarterly budget meeting with Ana and the finance team",
    ]
    engine.pipeline.submit([Observation("note", utcnow(), t) for t in notes])
    # Shares no word with its target at all.
    hits = engine.retriever.search("novel recommendation", k=3)
    assert hits and hits[0].text == notes[0]
    # The issue's own example: "Ana" is in three notes, the meaning decides.
    hits = engine.retriever.search("novel Ana recommended", k=3)
    assert hits[0].text == notes[0]


def test_resubmitting_adds_nothing(engine) -> None:
    obs = [Observation("chat", utcnow(), f"message {i}", external_id=f"m{i}", thread="t")
           for i in range(5)]
    first = engine.pipeline.submit(obs)
    second = engine.pipeline.submit(obs + obs)
    assert len(first.added) == 5
    assert second.added == () and second.duplicates == 10
    # Same text without an external id: identity by content hash.
    note = Observation("note", utcnow(), "same words twice")
    assert len(engine.pipeline.submit([note, note]).added) == 1


def test_forget_removes_every_trace(engine, data_dir: Path) -> None:
    keep = Observation("note", utcnow(), "a harmless shopping list")
    gone = Observation("note", utcnow(), "platypuscanary9 meets the accountant")
    ids = engine.pipeline.submit([keep, gone]).added
    gone_id = ids[1]
    db = engine.store.reader()
    space = engine.pipeline.space()
    table = space.table("events")
    vec = np.frombuffer(db.execute(f"SELECT embedding FROM {table} WHERE rowid=?",
                                   (gone_id,)).fetchall()[0][0], dtype=np.float32).copy()

    assert engine.pipeline.forget([gone_id]).removed == (gone_id,)

    assert engine.retriever.search("platypuscanary9") == [] or all(
        h.id != gone_id for h in engine.retriever.search("platypuscanary9"))
    assert db.execute("SELECT count(*) FROM events WHERE id=?", (gone_id,)).fetchall() == [(0,)]
    assert db.execute("SELECT count(*) FROM events_fts WHERE events_fts MATCH 'platypuscanary9'"
                      ).fetchall() == [(0,)]
    assert db.execute(f"SELECT count(*) FROM {table} WHERE rowid=?", (gone_id,)).fetchall() == [(0,)]
    # No shadow table of the keyword index or the vector table still holds it.
    needle_vec = vec.tobytes()
    for (name,) in db.execute("SELECT name FROM sqlite_schema WHERE type='table'").fetchall():
        for row in db.execute(f"SELECT * FROM \"{name}\"").fetchall():
            for value in row:
                if isinstance(value, (bytes, memoryview)):
                    blob = bytes(value)
                    assert b"platypuscanary9" not in blob, name
                    assert needle_vec not in blob, f"vector bytes left in {name}"
                elif isinstance(value, str):
                    assert "platypuscanary9" not in value, name
    assert engine.retriever.search("shopping list")[0].id == ids[0]


# -- migrations -------------------------------------------------------------------------
def _m_ok(db: apsw.Connection) -> None:
    db.execute("CREATE TABLE extra_one(x)")


def _m_fails(db: apsw.Connection) -> None:
    db.execute("CREATE TABLE extra_two(x)")
    raise RuntimeError("power cut")


def _m_fixed(db: apsw.Connection) -> None:
    db.execute("CREATE TABLE extra_two(x)")


_m_fixed.__name__ = _m_fails.__name__


def _tables(db: apsw.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type='table'")}


def test_migrations_run_once_and_survive_a_failure_between_two(tmp_path: Path) -> None:
    path, key = tmp_path / "m.db", os.urandom(32).hex()
    store = Store(path, key, backups_dir=tmp_path / "backups")
    assert store.applied_migrations == [m.__name__ for m in migrations.MIGRATIONS]
    store.write(lambda db: event_rows.insert(db, Observation("note", utcnow(), "kept across")))
    store.close()
    again = Store(path, key, backups_dir=tmp_path / "backups")
    assert again.applied_migrations == []  # nothing runs twice
    again.close()

    conn = store_db.connect(path, key, writer=True)
    extended = (*migrations.MIGRATIONS, _m_ok, _m_fails)
    with pytest.raises(RuntimeError, match="power cut"):
        migrations.migrate(conn, hexkey=key, db_path=path, backups_dir=tmp_path / "backups",
                           migrations=extended)
    assert "extra_one" in _tables(conn) and "extra_two" not in _tables(conn)
    assert migrations.pending(conn, extended) == [_m_fails]
    backups = list((tmp_path / "backups").glob("*.db"))
    assert len(backups) == 1 and b"kept across" not in backups[0].read_bytes()
    # The backup opens with the same key and holds the data as it was.
    bconn = store_db.connect(backups[0], key)
    assert bconn.execute("SELECT text FROM events").fetchall() == [("kept across",)]
    bconn.close()

    fixed = (*migrations.MIGRATIONS, _m_ok, _m_fixed)
    assert migrations.migrate(conn, hexkey=key, db_path=path, backups_dir=tmp_path / "backups",
                              migrations=fixed) == ["_m_fails"]
    assert migrations.migrate(conn, hexkey=key, db_path=path, backups_dir=tmp_path / "backups",
                              migrations=fixed) == []
    assert conn.execute("SELECT text FROM events").fetchall() == [("kept across",)]
    conn.close()


def test_migration_killed_midway_leaves_store_consistent(tmp_path: Path) -> None:
    path, key = tmp_path / "k.db", os.urandom(32).hex()
    Store(path, key, backups_dir=tmp_path / "b").close()
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from core.store import db as store_db, migrations
        def m900_first(db):
            db.execute("CREATE TABLE first_done(x)")
        def m901_killed(db):
            db.execute("CREATE TABLE half_done(x)")
            os._exit(9)  # the process dies inside the migration's transaction
        conn = store_db.connect(Path({str(path)!r}), {key!r}, writer=True)
        migrations.migrate(conn, hexkey={key!r}, db_path=Path({str(path)!r}),
                           backups_dir=Path({str(tmp_path / 'b')!r}),
                           migrations=(*migrations.MIGRATIONS, m900_first, m901_killed))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    conn = store_db.connect(path, key, writer=True)
    tables = _tables(conn)
    assert "first_done" in tables and "half_done" not in tables
    names = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
    assert "m900_first" in names and "m901_killed" not in names
    conn.close()


# -- concurrency ------------------------------------------------------------------------
WRITER = """
import sys, time
sys.path.insert(0, {repo!r})
from app.bootstrap import open_engine
from core.config import Settings, resolve_paths
from core.records import Observation, utcnow
paths = resolve_paths({home!r})
eng = open_engine(paths, settings=Settings(paths.settings_path), ask=None)
for i in range(40):
    eng.pipeline.submit([Observation("note", utcnow(), f"writer note {{i}} number {{j}}")
                         for j in range(10)])
eng.close()
print("wrote")
"""

READER = """
import sys
sys.path.insert(0, {repo!r})
from app.bootstrap import open_engine
from core.config import Settings, resolve_paths
paths = resolve_paths({home!r})
eng = open_engine(paths, settings=Settings(paths.settings_path), ask=None, create=False)
n = 0
for i in range(60):
    eng.retriever.search(f"writer note {{i}}", k=5)
    n += 1
eng.close()
print("searched", n)
"""


def test_two_processes_search_while_one_writes(cli, data_dir: Path) -> None:
    cli("add", "the store exists before the race starts")
    fmt = dict(repo=str(REPO), home=str(data_dir))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER.format(**fmt)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    procs += [subprocess.Popen([sys.executable, "-c", READER.format(**fmt)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert "locked" not in err.lower(), err
        assert proc.returncode == 0, err
    assert outputs[0][0].strip() == "wrote"
    assert all(o.strip() == "searched 60" for o, _ in outputs[1:])
    status = cli("status", "--json")
    import json
    assert json.loads(status.stdout)["events"] == 401


def test_event_ids_are_never_reused_after_forgetting_the_newest(engine) -> None:
    first = engine.pipeline.submit([Observation("note", utcnow(), f"n{i}") for i in range(3)])
    newest = first.added[-1]
    engine.pipeline.forget([newest])
    again = engine.pipeline.submit([Observation("note", utcnow(), "after the forget")])
    assert again.added[0] == newest + 1


def test_closing_interrupts_a_query_another_thread_is_running(tmp_path: Path) -> None:
    """A view's load still reading when the app locks or re-keys: close() stops that
    query and closes its connection, so the file is free (a re-key then succeeds)."""
    import threading
    import time

    from core.store.store import rekey

    old, new = "11" * 32, "22" * 32
    store = Store(tmp_path / "e.db", old, backups_dir=tmp_path / "backups")
    started, outcome = threading.Event(), {}

    def long_read() -> None:
        db = store.reader()
        started.set()
        try:
            outcome["rows"] = db.execute(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                "WHERE x < 200000000) SELECT count(*) FROM c").fetchall()
        except apsw.Error as exc:
            outcome["error"] = exc

    reader = threading.Thread(target=long_read)
    reader.start()
    started.wait()
    time.sleep(0.3)  # the query is running
    store.close()
    reader.join(timeout=30)
    assert isinstance(outcome.get("error"), apsw.InterruptError), outcome
    rekey(tmp_path / "e.db", old, new)  # "database is locked" while the reader was open
    with pytest.raises(WrongPassphrase):
        Store(tmp_path / "e.db", old, backups_dir=tmp_path / "backups")
    Store(tmp_path / "e.db", new, backups_dir=tmp_path / "backups").close()


def test_a_thread_whose_state_ended_hands_its_read_connection_on(tmp_path: Path) -> None:
    """Qt pool threads lose their thread-locals after every task: each task opened a
    read connection and the old ones stayed open (and kept their page caches) until
    the store closed. A connection whose thread state ended is taken over instead."""
    import threading

    from PySide6.QtCore import QCoreApplication, QRunnable, QThreadPool

    store = Store(tmp_path / "s.db", os.urandom(32).hex(), backups_dir=tmp_path / "b")
    try:
        store.write(lambda db: db.execute("CREATE TABLE t(x)"))
        app = QCoreApplication.instance() or QCoreApplication([])
        seen: list[tuple[int, int]] = []

        class Task(QRunnable):
            def run(self) -> None:
                db = store.reader()
                db.execute("SELECT count(*) FROM t").fetchall()
                seen.append((threading.get_native_id(), id(db)))

        pool = QThreadPool()
        pool.setMaxThreadCount(1)
        for _ in range(6):
            pool.start(Task())
            pool.waitForDone()
        assert len(seen) == 6
        assert len({conn for _, conn in seen}) == 1  # one connection, handed on
        assert len(store._readers) == 1
        # Python threads too: ten threads one after the other share one connection.
        for _ in range(10):
            t = threading.Thread(target=lambda: store.reader().execute("SELECT 1").fetchall())
            t.start()
            t.join()
        assert len(store._readers) <= 2
        # Threads alive at the same time each have their own.
        ready, go = threading.Barrier(3), threading.Event()
        got: list[int] = []

        def hold() -> None:
            got.append(id(store.reader()))
            ready.wait()
            go.wait()

        threads = [threading.Thread(target=hold) for _ in range(2)]
        for t in threads:
            t.start()
        ready.wait()
        assert len(set(got)) == 2 and id(store.reader()) not in got
        go.set()
        for t in threads:
            t.join()
        assert app is not None
    finally:
        store.close()
    assert not store._readers and not store._idle
