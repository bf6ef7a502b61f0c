"""Export → restore and backup → restore on a real encrypted store with the real embedder.

The seeded store holds what a person accumulates: notes, a chat, a screen
capture with its thumbnail and full frame, indexed files, memories built by
consolidation and corrected by hand (with history), and two Ask threads.
"""
from __future__ import annotations

import io
import json
import secrets
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.config import Settings, resolve_paths
from core.errors import BadInput, UsageError
from core.memory import history, rows
from core.memory.consolidate import consolidate
from core.memory.edits import add_memory, edit_memory
from core.portability import export_store, restore_export
from core.records import Observation
from core.threads import Threads

T0 = datetime(2024, 3, 10, 19, 0, tzinfo=timezone.utc)


def png(color: tuple[int, int, int], size: tuple[int, int] = (32, 20)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def seed(engine, folder: Path, canary: str = "") -> dict:
    """Fill ``engine``'s store with one of everything; return a few ids to check."""
    from ingest.files.indexer import FileIndexer

    pipe = engine.pipeline
    note = pipe.submit([Observation(source="note", captured_at=T0 - timedelta(days=3),
                                    text=f"Ana recommended The Name of the Wind {canary}")]).added
    chat = [Observation(source="chat", captured_at=T0 + timedelta(minutes=i), text=t,
                        speaker=s, thread="Ana Souza", app="WhatsApp", external_id=f"wa:{i}",
                        meta={"conversation_id": "Ana Souza"})
            for i, (s, t) in enumerate([
                ("You", "Hi Ana! Guess what, I moved to Lisbon last month."),
                ("Ana Souza", "No way! How is it?"),
                ("You", "Big news again: we moved to Porto this week!"),
                ("Ana Souza", "Porto is lovely, I work at Siemens now.")])]
    pipe.submit(chat)
    screen = pipe.submit([Observation(
        source="screen", captured_at=T0 + timedelta(hours=1),
        ended_at=T0 + timedelta(hours=1, seconds=30), app="Firefox",
        title="SQLite FTS5 Extension", text="The bm25 ranking function is built in.",
        image=png((10, 120, 200)), full_image=png((10, 120, 200), (320, 200)),
        meta={"boxes": [[0, 0, 10, 10, "bm25"]]})]).added
    folder.mkdir()
    (folder / "vpn.md").write_text("# VPN\n\nRestart wg-quick@home to fix the VPN.\n")
    (folder / "taxes.txt").write_text("The tax PDF is in Documents/2023/irs.pdf\n")
    FileIndexer(pipe).scan(folder)
    consolidate(engine, now=T0 + timedelta(days=1))
    built = rows.select(engine.store.reader(), "origin != 'person'", order="id")
    assert built, "consolidation built nothing to round-trip"
    edited = edit_memory(engine, built[0].id, built[0].text + " (checked by hand)")
    mine = add_memory(engine, "I prefer tea over coffee", memory_type="core")
    asker = engine.asker()
    threads = []
    for question in ("What did Ana recommend?", "How do I fix the VPN?"):
        done = list(asker.answer(question))[-1]
        threads.append(done.thread_id)
    return {"note": note[0], "screen": screen[0], "edited": edited, "mine": mine,
            "threads": threads}


def open_engine_at(home: Path):
    from app.bootstrap import open_engine

    paths = resolve_paths(home)
    return open_engine(paths, settings=Settings(paths.settings_path), ask=None)


def export_files(folder: Path) -> dict[str, str]:
    """Every file of an export, manifest without its timestamp."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == "manifest.json":
                manifest = json.loads(data)
                manifest.pop("exported_at")
                manifest["models"].pop("vector_spaces")  # derived: the new store rebuilds them
                data = json.dumps(manifest, sort_keys=True).encode()
            out[str(path.relative_to(folder))] = data.hex() if path.suffix == ".png" else \
                data.decode("utf-8")
    return out


def test_export_restore_round_trip_keeps_everything(engine, tmp_path: Path) -> None:
    ids = seed(engine, tmp_path / "docs")
    engine.settings.set("watched_folders", [str(tmp_path / "docs")])
    engine.settings.set("screen_excluded_apps", ["KeePassXC", "Signal"])
    first = tmp_path / "export"
    summary = export_store(engine.store, first, settings=engine.settings.changed(),
                           models={"embedding_model": "all-minilm-l6-v2", "chat_model": None})
    c = summary.counts
    assert c["events"] >= 8 and c["memories"] >= 3 and c["threads"] == 2 and c["files"] == 2
    assert c["memory_history"] >= c["memories"]
    for name in ("events.jsonl", "memories.jsonl", "memory_history.jsonl", "memory_links.jsonl",
                 "threads.jsonl", "files.jsonl", "settings.json", "manifest.json",
                 "consolidation.json", "README.txt"):
        assert (first / name).exists(), name
        assert (first / name).stat().st_mode & 0o077 == 0  # owner-only

    home = tmp_path / "restored-home"
    restored = open_engine_at(home)
    try:
        reports: list = []
        back = restore_export(restored.store, first, progress=reports.append)
        assert dict(back.counts) == dict(c)
        assert reports[-1].done == reports[-1].total == c["events"]
        assert back.settings["screen_excluded_apps"] == ["KeePassXC", "Signal"]
        second = tmp_path / "export-again"
        export_store(restored.store, second, settings=back.settings,
                     models={"embedding_model": "all-minilm-l6-v2", "chat_model": None})
        # Everything exported from the restored store is what went in, byte for byte.
        assert export_files(second) == export_files(first)

        db = restored.store.reader()
        # Provenance: the hand-edited memory keeps its sources and its whole history.
        edited = rows.get(db, ids["edited"].memory_id)
        assert edited is not None and edited.text.endswith("(checked by hand)")
        assert edited.sources and all(
            db.execute("SELECT 1 FROM events WHERE id = ?", (e,)).fetchall()
            for e in edited.sources)
        before = history.of_memory(engine.store.reader(), edited.id)
        after = history.of_memory(db, edited.id)
        assert [(h.action, h.actor, h.before, h.after) for h in after] == \
               [(h.action, h.actor, h.before, h.after) for h in before]
        assert [h.action for h in after][-1] == "edit"
        # Threads with their turns and citations.
        for tid in ids["threads"]:
            a, b = Threads(engine.store).get(tid), Threads(restored.store).get(tid)
            assert [(t.role, t.text, t.citations) for t in a.turns] == \
                   [(t.role, t.text, t.citations) for t in b.turns]
        # The screen capture's thumbnail and full frame came back.
        img = db.execute("SELECT data, full_data FROM event_images WHERE event_id = ?",
                         (ids["screen"],)).fetchall()[0]
        orig = engine.store.reader().execute(
            "SELECT data, full_data FROM event_images WHERE event_id = ?",
            (ids["screen"],)).fetchall()[0]
        assert bytes(img[0]) == bytes(orig[0]) and bytes(img[1]) == bytes(orig[1])
        # Identities are intact: the same note again is recognised, nothing is rebuilt.
        again = restored.pipeline.submit([Observation(
            source="note", captured_at=T0 - timedelta(days=3),
            text="Ana recommended The Name of the Wind ")])
        assert again.added == () and again.duplicates == 1
        assert rows.pending_events(db) == 0
        # New items get new ids, above everything restored.
        new = restored.pipeline.submit([Observation(source="note", captured_at=T0,
                                                    text="after the restore")]).added[0]
        assert new > max(r[0] for r in db.execute("SELECT id FROM events WHERE id != ?", (new,)))
        # Search works on the restored store (keywords now; vectors catch up).
        hits = restored.retriever.search("Name of the Wind", k=5)
        assert any(h.id == ids["note"] and h.kind == "event" for h in hits)
        # Restoring into a store that holds something is refused, and changes nothing.
        with pytest.raises(UsageError, match="new or empty"):
            restore_export(restored.store, first)
    finally:
        restored.close()


def test_restore_refuses_damaged_exports_with_one_clear_line(engine, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    with pytest.raises(BadInput, match="not an Engram export"):
        restore_export(engine.store, bad)
    (bad / "manifest.json").write_text(json.dumps({"format": "engram-export", "version": 2}))
    (bad / "events.jsonl").write_text('{"id": 1, "source": "note", "started_at": '
                                      '"2024-01-01T00:00:00+00:00", "text": "ok"}\nnot json\n')
    with pytest.raises(BadInput, match="events.jsonl line 2"):
        restore_export(engine.store, bad)
    (bad / "manifest.json").write_text(json.dumps({"format": "engram-export", "version": 99}))
    with pytest.raises(BadInput, match="newer Engram"):
        restore_export(engine.store, bad)


def _files_holding(needle: bytes, roots: list[Path], since: float) -> list[Path]:
    found = []
    for root in roots:
        paths = [root] if root.is_file() else root.rglob("*")
        for path in paths:
            try:
                if not path.is_file() or path.is_symlink() or path.stat().st_mtime < since:
                    continue
                if needle in path.read_bytes():
                    found.append(path)
            except OSError:
                continue  # another process's file came and went
    return found


def test_backup_restores_with_the_passphrase_only_and_never_in_clear(
        cli, data_dir: Path, tmp_path: Path) -> None:
    started = time.time() - 1
    canary = f"canary-{secrets.token_hex(8)}"
    cli("add", f"The locker code note {canary}")
    cli("add", "Renewed the car insurance with Fidelidade")
    backup = tmp_path / "sync" / "engram.backup"
    backup.parent.mkdir()
    made = json.loads(cli("backup", "--out", str(backup), "--json").stdout)
    assert made["key"] == "passphrase" and Path(made["file"]) == backup
    assert backup.stat().st_mode & 0o077 == 0
    assert [p.name for p in backup.parent.iterdir()] == ["engram.backup"]  # no staging left
    cli("add", "a note taken after the backup")

    target = tmp_path / "new-machine"
    wrong = cli("restore", str(backup), "--data-dir", str(target), check=False,
                env={"ENGRAM_PASSPHRASE": "not the passphrase"})
    assert wrong.returncode == 2 and "does not unlock the backup" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    assert not (target / "engram.db").exists() and not (target / "key.json").exists()

    cli("restore", str(backup), "--data-dir", str(target))
    found = json.loads(cli("search", "locker code", "--json", "--data-dir", str(target)).stdout)
    assert any(canary in r["snippet"] for r in found["results"])
    info = json.loads(cli("status", "--json", "--data-dir", str(target)).stdout)
    assert info["events"] == 2  # the copy as it was when taken
    other = cli("search", "locker", "--data-dir", str(target), check=False,
                env={"ENGRAM_PASSPHRASE": "another passphrase"})
    assert other.returncode == 2 and "does not unlock" in other.stderr

    again = cli("restore", str(backup), "--data-dir", str(target), check=False)
    assert again.returncode == 2 and "already has an Engram store" in again.stderr
    # A second backup to the same file replaces it; a file that isn't a backup is kept.
    cli("backup", "--out", str(backup))
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    refused = cli("backup", "--out", str(keep), check=False)
    assert refused.returncode == 2 and keep.read_text() == "mine"

    leaks = _files_holding(canary.encode(), [data_dir, target, backup,
                                             Path(tempfile.gettempdir())], started)
    leaks = [p for p in leaks if tmp_path / "export" not in p.parents]
    assert leaks == [], f"plaintext canary found in {leaks}"


def test_cli_export_restore_into_a_new_data_dir(cli, tmp_path: Path) -> None:
    cli("add", "exported note with ünïcode ✓", "--at", "2024-02-02T12:00:00+00:00")
    cli("memories", "add", "I prefer tea over coffee")
    out = tmp_path / "export"
    summary = json.loads(cli("export", "--out", str(out), "--json").stdout)
    assert summary["counts"]["events"] == 1 and summary["counts"]["memories"] == 1
    target = tmp_path / "restored"
    proc = cli("restore", str(out), "--data-dir", str(target))
    assert "Restored 1 items, 1 memories" in proc.stdout
    mems = json.loads(cli("memories", "list", "--json", "--data-dir", str(target)).stdout)
    assert "I prefer tea over coffee" in json.dumps(mems)
    hits = json.loads(cli("search", "ünïcode", "--json", "--data-dir", str(target)).stdout)
    assert [r["kind"] for r in hits["results"]][:1] == ["event"]
    bad = cli("restore", str(tmp_path), "--data-dir", str(tmp_path / "x"), check=False)
    assert bad.returncode == 2 and "not an Engram export" in bad.stderr
    assert not (tmp_path / "x" / "engram.db").exists()


def test_a_keyring_backup_restores_where_the_keyring_is(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring

    from core import keys
    from core.backup import backup_store, restore_backup
    from core.errors import KeyUnavailable
    from core.store import Store
    from core.store import events as event_rows
    from tests.test_keys import MemoryKeyring

    monkeypatch.delenv(keys.PASSPHRASE_ENV, raising=False)
    original = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        paths = resolve_paths(tmp_path / "laptop")
        key = keys.create_key(paths, ask=None)
        assert key.backend == "keyring"
        store = Store(paths.db_path, key.sqlite_hexkey(), backups_dir=paths.backups_dir)
        store.write(lambda db: event_rows.insert(db, Observation(
            source="note", captured_at=T0, text="kept in the keyring's store")))
        out = tmp_path / "engram.backup"
        backup_store(store, key.sqlite_hexkey(), keys.key_record(paths), out)
        store.close()

        again = resolve_paths(tmp_path / "same-machine")
        restore_backup(out, again, ask=None)
        restored_key = keys.load_key(again, ask=None)  # its own keyring entry, same key
        assert restored_key.key == key.key and len(backend.store) == 2
        copy = Store(again.db_path, restored_key.sqlite_hexkey(), backups_dir=again.backups_dir)
        assert [e.text for e in event_rows.get_many(copy.reader(), [1]).values()] == \
            ["kept in the keyring's store"]
        copy.close()

        backend.store.clear()  # another machine: its keyring never held this key
        elsewhere = resolve_paths(tmp_path / "desktop")
        with pytest.raises(KeyUnavailable, match="missing from the OS keyring"):
            restore_backup(out, elsewhere, ask=None)
        assert not elsewhere.db_path.exists() and not keys.key_exists(elsewhere)
    finally:
        keyring.set_keyring(original)
