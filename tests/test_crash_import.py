"""Crash safety of an import, from outside: `engram import` of 10,000 messages is
killed with SIGKILL at five random points by this test's own launcher (nothing in
Engram knows), then imported again to the end. The store must pass SQLite's and
FTS5's integrity checks and hold every message exactly once.

The embedding model is made unavailable (a real mode: keyword search only, vectors
filled in later) so the five interrupted imports and the final one fit in about a
minute; the events, their keyword index and the dedupe identities are what the
crash test is about.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.benchmarks.bench_chat_import import write_export

REPO = Path(__file__).resolve().parent.parent
MESSAGES = 10_000
KILLS = 5


class Watcher:
    """Counts the events committed so far through one read-only connection of its own
    (opened once the import has created the store)."""

    def __init__(self, home: Path) -> None:
        from core.config import resolve_paths

        self.paths = resolve_paths(home)
        self._conn = None
        self._hexkey: str | None = None

    def count(self) -> int:
        from core import keys
        from core.store.db import connect

        if self._conn is None:
            if not self.paths.db_path.exists() or not keys.key_exists(self.paths):
                return 0
            if self._hexkey is None:
                self._hexkey = keys.load_key(self.paths, None).sqlite_hexkey()
            try:
                self._conn = connect(self.paths.db_path, self._hexkey)
            except Exception:  # created a moment ago: try again
                return 0
        try:
            return int(self._conn.execute("SELECT count(*) FROM events").fetchall()[0][0])
        except Exception:  # the schema is not there yet
            return 0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def test_import_killed_five_times_then_resumed_loses_and_doubles_nothing(
        data_dir: Path, tmp_path: Path) -> None:
    export = tmp_path / "chat.jsonl"
    write_export(export, MESSAGES)
    expected = sorted(json.loads(line)["text"] for line in export.read_text("utf-8").splitlines())
    env = {**os.environ, "ENGRAM_HOME": str(data_dir),
           "ENGRAM_MODELS": str(tmp_path / "no-models" / "x")}
    (tmp_path / "no-models").write_text("not a folder")  # the model can't load: keyword only
    cmd = [sys.executable, "-m", "app", "import", str(export), "--json"]
    rng = random.Random(int(os.environ.get("ENGRAM_CRASH_SEED", "1812")))
    # One random point in each fifth of the import, so the kills spread over all of it.
    span = (MESSAGES - 600) // KILLS
    targets = [100 + k * span + rng.randrange(span) for k in range(KILLS)]
    killed_at: list[int] = []
    started = time.monotonic()
    watcher = Watcher(data_dir)
    try:
        for target in targets:
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                while proc.poll() is None and watcher.count() < target:
                    time.sleep(0.005)
                time.sleep(rng.uniform(0, 0.05))  # inside a batch's transaction, or between
                proc.send_signal(signal.SIGKILL)
            finally:
                proc.wait(timeout=60)
            assert proc.returncode == -signal.SIGKILL, "the import finished before the kill"
            killed_at.append(watcher.count())
    finally:
        watcher.close()
    print(f"\ncrash test: kill points {targets}, committed then {killed_at}")
    assert killed_at == sorted(killed_at) and killed_at[-1] < MESSAGES

    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["imported"] + result["already_present"] == MESSAGES
    assert result["already_present"] == killed_at[-1]

    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths

    paths = resolve_paths(data_dir)
    engine = open_engine(paths, settings=Settings(paths.settings_path), ask=None,
                         embedder=None)
    try:
        db = engine.store.reader()
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        engine.store.write(lambda w: w.execute(
            "INSERT INTO events_fts(events_fts) VALUES ('integrity-check')"))
        rows = db.execute("SELECT source, external_id, text FROM events").fetchall()
        doubled = db.execute("SELECT count(*) FROM (SELECT 1 FROM events GROUP BY source, "
                             "external_id HAVING count(*) > 1)").fetchall()[0][0]
        hits = db.execute("SELECT count(*) FROM events_fts WHERE events_fts MATCH "
                          "'allotment'").fetchall()[0][0]
    finally:
        engine.close()
    assert len(rows) == MESSAGES and doubled == 0
    assert all(r[1] for r in rows)  # every message kept its identity
    assert sorted(r[2] for r in rows) == expected  # all present, each once, as written
    assert hits >= 1  # the keyword index followed the events through the crashes
    print(f"\ncrash test: killed at {killed_at} committed messages; "
          f"{time.monotonic() - started:.0f} s in all")
