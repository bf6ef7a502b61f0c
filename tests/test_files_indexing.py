"""Folder indexing and watching, end to end: real files of every type, the real
encrypted store, the real embedding model, real watchdog, the real CLI."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.store import files as file_rows
from ingest.base import Control
from ingest.files import indexer as indexer_module
from ingest.files.blocks import Skipped
from ingest.files.chunk import chunk, external_id
from ingest.files.extract import extract
from ingest.files.indexer import FileIndexer, rebased_id
from ingest.files.report import IndexOptions
from ingest.files.watcher import FolderWatcher, Timing
from tests.documents import write_one_of_each

REPO = Path(__file__).resolve().parent.parent


def wait_for(predicate, timeout: float = 15.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def paths_found(engine, query: str) -> set[str]:
    return {h.provenance.path for h in engine.retriever.search(query, k=5)
            if h.provenance.path and query.lower() in h.text.lower()}


def file_events(engine, path: Path) -> dict[str, int]:
    """external id → event id of the chunks stored for ``path``."""
    return {e.external_id: e.id for e in file_rows.events_of(engine.store.reader(), str(path))}


def break_files(folder: Path) -> None:
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R\n"
                                        + os.urandom(300))
    (folder / "photo.raw").write_bytes(bytes(range(256)) * 40)


# ── one-shot indexing through the CLI ────────────────────────────────────────

def test_every_type_is_indexed_findable_and_problems_show_in_status(cli, tmp_path: Path) -> None:
    docs = tmp_path / "Documents"
    made = write_one_of_each(docs)
    break_files(docs)
    (docs / ".git").mkdir()
    (docs / ".git" / "HEAD").write_text("ref: refs/heads/main zorblaxian\n")
    (docs / "node_modules" / "x").mkdir(parents=True)
    (docs / "node_modules" / "x" / "index.js").write_text("// quuxmantle\n")

    report = json.loads(cli("index", str(docs), "--json").stdout)
    assert report["indexed"] == len(made) and report["skipped"] == 2
    reasons = {Path(p["path"]).name: p["reason"] for p in report["problems"]}
    assert reasons["broken.pdf"].startswith("unreadable PDF")
    assert reasons["photo.raw"] == "binary file"

    for kind, (path, word) in made.items():
        hits = json.loads(cli("search", word, "--json", "-k", "3").stdout)["results"]
        assert hits and hits[0]["path"] == str(path), (kind, hits)
        assert hits[0]["source"] == "file" and hits[0]["external_id"].startswith("file:")
    # Ignored folders stay out; HTML scripts are not text.
    for word in ("scriptword",):
        assert json.loads(cli("search", word, "--json").stdout)["results"] == [] or all(
            word not in h["snippet"] for h in json.loads(
                cli("search", word, "--json").stdout)["results"])

    status = json.loads(cli("status", "--json").stdout)["files"]
    assert status["indexed"] == len(made) and status["skipped"] == 2
    assert status["skipped_reasons"] == {"unreadable PDF": 1, "binary file": 1}
    text = cli("status").stdout
    assert "unreadable PDF" in text and "broken.pdf" in text and "binary file" in text

    again = json.loads(cli("index", str(docs), "--json").stdout)
    assert again["indexed"] == 0 and again["chunks_added"] == 0
    assert again["unchanged"] == len(made) and again["skipped"] == 2


def test_reindexing_an_unchanged_folder_adds_nothing_and_is_fast(engine, tmp_path: Path) -> None:
    docs = tmp_path / "notes"
    docs.mkdir()
    for i in range(300):
        (docs / f"n{i:03}.txt").write_text(f"Note {i}: call the plumber about leak {i}.\n")
    indexer = FileIndexer(engine.pipeline)
    first = indexer.scan(docs)
    assert first.indexed == 300 and first.chunks_added == 300
    events = engine.store.reader().execute("SELECT count(*) FROM events").fetchall()[0][0]

    started = time.perf_counter()
    second = indexer.scan(docs)
    elapsed = time.perf_counter() - started
    assert second.unchanged == 300 and second.indexed == 0 and second.chunks_added == 0
    assert second.bytes_read == 0  # not one file was opened
    assert engine.store.reader().execute("SELECT count(*) FROM events").fetchall()[0][0] == events
    assert elapsed < 1.5, f"re-scan of 300 unchanged files took {elapsed:.2f} s"


SECTION = ("## {name}\n\n" + "The {name} section says something long enough to be a chunk "
           "of its own, about {topic}, with detail after detail. " * 9 + "\n\n")


def sections(*names: str) -> str:
    return "".join(SECTION.format(name=n, topic=f"topic-{n.lower()}") for n in names)


def test_changed_file_reembeds_only_changed_chunks(engine, tmp_path: Path) -> None:
    path = tmp_path / "plan.md"
    path.write_text(sections("Alpha", "Beta", "Gamma"))
    indexer = FileIndexer(engine.pipeline)
    first = indexer.scan(tmp_path)
    assert first.chunks_added == 3
    before = file_events(engine, path)
    embedded: list[int] = []
    real_embed = engine.pipeline.embedder.embed
    engine.pipeline.embedder.embed = lambda texts, **kw: (embedded.append(len(texts)),
                                                         real_embed(texts, **kw))[1]
    try:
        # One section rewritten: one chunk embedded, one forgotten, two untouched.
        path.write_text(sections("Alpha", "Delta", "Gamma"))
        second = indexer.scan(tmp_path)
        assert (second.chunks_added, second.chunks_kept, second.chunks_removed) == (1, 2, 1)
        assert sum(embedded) == 1
        after = file_events(engine, path)
        kept = set(before) & set(after)
        assert len(kept) == 2 and all(before[e] == after[e] for e in kept)
        assert paths_found(engine, "topic-delta") == {str(path)}
        assert not paths_found(engine, "topic-beta")

        # A section inserted at the top shifts the others: they keep their events
        # (re-identified in place, not re-embedded).
        embedded.clear()
        ids_before = set(file_events(engine, path).values())
        path.write_text(sections("Zero", "Alpha", "Delta", "Gamma"))
        third = indexer.scan(tmp_path)
        assert third.chunks_added == 1 and third.relocated == 3 and sum(embedded) == 1
        ids_after = set(file_events(engine, path).values())
        assert ids_before < ids_after
        expected = {external_id(path, c) for c in chunk(extract(path, max_bytes=10**7))}
        assert set(file_events(engine, path)) == expected
    finally:
        engine.pipeline.embedder.embed = real_embed


def test_one_bad_file_never_stops_the_scan_and_transient_problems_are_retried(
        engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("a.txt", "locked.txt", "c.txt"):
        (docs / name).write_text(f"The {name} file mentions the harbour ferry timetable.\n")
    real_extract = indexer_module.extract
    refused: list[Path] = []

    def flaky(path: Path, **limits: int):
        if path.name == "locked.txt" and not refused:  # unreadable the first time only
            refused.append(path)
            return Skipped(path, "permission denied")
        return real_extract(path, **limits)

    monkeypatch.setattr(indexer_module, "extract", flaky)
    indexer = FileIndexer(engine.pipeline)
    first = indexer.scan(docs)
    assert first.indexed == 2 and first.skipped == 1
    assert first.problems == [(str(docs / "locked.txt"), "permission denied")]
    summary = file_rows.summary(engine.store.reader())
    assert summary.reasons == {"permission denied": 1}
    # Same size and mtime, but a transient problem: tried again, and now it reads.
    second = indexer.scan(docs)
    assert second.indexed == 1 and second.skipped == 0
    assert file_rows.summary(engine.store.reader()).skipped == 0


def test_a_folder_that_cannot_be_listed_keeps_its_files_and_is_reported(
        engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    (docs / "private").mkdir(parents=True)
    (docs / "private" / "diary.txt").write_text("Dear diary, the lighthouse keeper waved.\n")
    (docs / "open.txt").write_text("Shopping: lighthouse-shaped cookies.\n")
    indexer = FileIndexer(engine.pipeline)
    assert indexer.scan(docs).indexed == 2
    real_walk = os.walk

    def walk(top, onerror=None, **kwargs):
        for dirpath, dirnames, filenames in real_walk(top, onerror=onerror, **kwargs):
            if "private" in dirnames:
                dirnames.remove("private")
                onerror(PermissionError(13, "Permission denied", str(Path(dirpath) / "private")))
            yield dirpath, dirnames, filenames

    monkeypatch.setattr(os, "walk", walk)
    report = indexer.scan(docs)
    assert report.removed == 0  # its files may still be there: not forgotten
    assert paths_found(engine, "diary") == {str(docs / "private" / "diary.txt")}
    summary = file_rows.summary(engine.store.reader())
    assert summary.reasons == {"permission denied": 1}
    assert summary.problems == ((str(docs / "private"), "permission denied (folder)"),)
    monkeypatch.setattr(os, "walk", real_walk)
    assert indexer.scan(docs).removed == 0
    assert file_rows.summary(engine.store.reader()).skipped == 0


def test_size_limit_and_ignore_patterns_from_options(engine, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "drafts").mkdir(parents=True)
    (docs / "big.txt").write_text("huge " * 5000)
    (docs / "drafts" / "d.txt").write_text("draft text about the orchard\n")
    (docs / "keep.log").write_text("log line about the orchard\n")
    (docs / "ok.txt").write_text("final text about the orchard\n")
    options = IndexOptions(patterns=("drafts/", "*.log"), max_bytes=1000)
    report = FileIndexer(engine.pipeline, options).scan(docs)
    assert report.indexed == 1 and report.problems == [(str(docs / "big.txt"),
                                                        "larger than 1 KB")]


def test_a_renamed_file_keeps_its_events_and_is_found_by_its_new_name(
        engine, tmp_path: Path) -> None:
    old = tmp_path / "docs" / "draft.md"
    old.parent.mkdir()
    old.write_text("# Plan\n\nPaint the fence before the rainy season.\n")
    indexer = FileIndexer(engine.pipeline)
    indexer.scan(old.parent)
    (before,) = file_events(engine, old).values()
    space = engine.pipeline.space()
    vector = lambda: engine.store.reader().execute(  # noqa: E731
        f"SELECT embedding FROM {space.table('events')} WHERE rowid = ?", (before,)
    ).fetchall()[0][0]
    old_vector = vector()
    new = old.with_name("garden-chores.md")
    old.rename(new)
    report = indexer.move(str(old), str(new))
    assert report.relocated == 1 and report.chunks_added == 0
    assert list(file_events(engine, new).values()) == [before]
    hit = engine.retriever.search("garden chores")[0]
    assert hit.id == before and hit.provenance.title == "garden-chores.md › Plan"
    assert vector() != old_vector  # the name is part of what was embedded
    assert file_rows.get(engine.store.reader(), str(new)) is not None
    assert file_rows.get(engine.store.reader(), str(old)) is None


def test_rebased_id_matches_chunk_identity(tmp_path: Path) -> None:
    path = tmp_path / "a#b:c.md"
    path.write_text("# T\n\nSome text.\n")
    piece = chunk(extract(path, max_bytes=10**6))[0]
    moved = tmp_path / "sub" / "x#y.md"
    assert rebased_id(external_id(path, piece), str(moved)) == external_id(moved, piece)


# ── the watcher ──────────────────────────────────────────────────────────────

class Running:
    """A FolderWatcher running on a thread, as the supervisor runs it."""

    def __init__(self, engine, folders: list[Path]) -> None:
        self.activity: list[str] = []
        self.watcher = FolderWatcher(engine.pipeline, IndexOptions(), lambda: folders,
                                     timing=Timing(),
                                     on_activity=lambda o: self.activity.append(o.describe()))
        self.control = Control()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.watcher.run(self.watcher.target.take, self.control)
        except BaseException as exc:  # surfaced by the test
            self.errors.append(exc)

    def __enter__(self) -> "Running":
        self.thread.start()
        assert wait_for(lambda: self.watcher.describe().startswith("watching"), 30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.control.stop()
        self.thread.join(30)
        assert not self.thread.is_alive() and not self.errors, self.errors


def test_watcher_follows_create_modify_move_and_delete(engine, tmp_path: Path) -> None:
    root = tmp_path / "watched"
    root.mkdir()
    (root / "existing.txt").write_text("Indexed before watching: the saffron ledger.\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with Running(engine, [root]) as run:
        assert paths_found(engine, "saffron") == {str(root / "existing.txt")}

        note = root / "todo.md"
        started = time.monotonic()
        note.write_text("# Todo\n\nReturn the kettlebell to Marta.\n")
        assert wait_for(lambda: paths_found(engine, "kettlebell") == {str(note)}, 10)
        assert time.monotonic() - started < 5

        note.write_text("# Todo\n\nReturn the hammock to Marta.\n")
        # The new chunk is stored first, then the old one forgotten: wait for both.
        assert wait_for(lambda: paths_found(engine, "hammock") == {str(note)}
                        and not paths_found(engine, "kettlebell"), 10)
        ids = set(file_events(engine, note).values())

        renamed = root / "projects" / "todo-home.md"
        renamed.parent.mkdir()
        note.rename(renamed)
        assert wait_for(lambda: paths_found(engine, "hammock") == {str(renamed)}, 10)
        assert set(file_events(engine, renamed).values()) == ids  # same events, new path
        assert file_events(engine, note) == {}
        title = engine.retriever.search("hammock")[0].provenance.title
        assert title.startswith("todo-home.md")

        folder_moved = root / "archive"
        (root / "projects").rename(folder_moved)
        moved_path = folder_moved / "todo-home.md"
        assert wait_for(lambda: paths_found(engine, "hammock") == {str(moved_path)}, 10)
        assert set(file_events(engine, moved_path).values()) == ids

        # Save by writing a temporary file and renaming it over the original:
        # the unchanged chunk keeps its event.
        ledger = root / "existing.txt"
        ledger_ids = set(file_events(engine, ledger).values())
        tmp = root / ".existing.txt.swp-123"
        tmp.write_text("Indexed before watching: the saffron ledger.\n")
        tmp.replace(ledger)
        time.sleep(1.5)
        assert set(file_events(engine, ledger).values()) == ledger_ids
        # vim's way: rename the original to a backup~ (ignored), write anew, drop the backup.
        backup = root / "existing.txt~"
        ledger.rename(backup)
        ledger.write_text("Indexed before watching: the saffron ledger.\n")
        backup.unlink()
        time.sleep(2.5)
        assert set(file_events(engine, ledger).values()) == ledger_ids

        moved_out = outside / "todo-home.md"
        moved_path.rename(moved_out)
        assert wait_for(lambda: not paths_found(engine, "hammock"), 10)
        assert wait_for(lambda: file_rows.get(engine.store.reader(), str(moved_path)) is None)

        started = time.monotonic()
        ledger.unlink()
        assert wait_for(lambda: not paths_found(engine, "saffron"), 10)
        assert time.monotonic() - started < 5
        assert wait_for(lambda: file_rows.summary(engine.store.reader()).indexed == 0)
    assert any(line.startswith("indexed") for line in run.activity)
    assert any(line.startswith("moved") for line in run.activity)
    assert any(line.startswith("forgot") for line in run.activity)


def test_watcher_reflects_new_folders_and_deleted_folders(engine, tmp_path: Path) -> None:
    root = tmp_path / "watched"
    root.mkdir()
    with Running(engine, [root]):
        staging = tmp_path / "staging"
        (staging / "deep").mkdir(parents=True)
        (staging / "deep" / "a.txt").write_text("The marmalade recipe from grandma.\n")
        staging.rename(root / "imported")  # a whole folder moved in
        target = root / "imported" / "deep" / "a.txt"
        assert wait_for(lambda: paths_found(engine, "marmalade") == {str(target)}, 10)
        for child in sorted((root / "imported").rglob("*"), reverse=True):
            child.unlink() if child.is_file() else child.rmdir()
        (root / "imported").rmdir()
        assert wait_for(lambda: not paths_found(engine, "marmalade"), 10)


# ── watched folders through the CLI and the daemon ────────────────────────────

def test_watch_add_list_daemon_and_remove(cli, data_dir: Path, tmp_path: Path) -> None:
    docs = tmp_path / "Documents"
    docs.mkdir()
    (docs / "lease.txt").write_text("The lease renewal is due on the first of June.\n")
    added = json.loads(cli("watch", "add", str(docs), "--json").stdout)
    assert added["indexed"] == 1 and added["watched"] == str(docs)
    listed = json.loads(cli("watch", "list", "--json").stdout)["watched"]
    assert listed == [{"folder": str(docs), "exists": True, "indexed": 1, "skipped": 0}]
    # A sub-folder of a watched folder is covered already.
    (docs / "sub").mkdir()
    assert "already watched" in cli("watch", "add", str(docs / "sub")).stdout

    settings = json.loads((data_dir / "settings.json").read_text())
    settings["screen_capture"] = False
    (data_dir / "settings.json").write_text(json.dumps(settings))
    daemon = subprocess.Popen([sys.executable, "-m", "app", "daemon"], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: (data_dir / "run" / "control.key").exists(), 60)
        (docs / "boiler.md").write_text("# Boiler\n\nThe boiler service code is on the "
                                        "sticker behind the panel.\n")

        def found() -> bool:
            out = json.loads(cli("search", "boiler sticker", "--json").stdout)["results"]
            return any(h["path"] == str(docs / "boiler.md") for h in out)

        assert wait_for(found, 30, step=0.5)
        status = json.loads(cli("status", "--json").stdout)
        files = next(s for s in status["capture"]["sources"] if s["name"] == "files")
        assert files["state"] == "running"
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err

    kept = json.loads(cli("watch", "remove", str(docs), "--json").stdout)
    assert kept == {"removed": str(docs), "forgotten": None}
    assert json.loads(cli("watch", "list", "--json").stdout)["watched"] == []
    assert json.loads(cli("search", "lease renewal", "--json").stdout)["results"]
    cli("watch", "add", str(docs))
    gone = json.loads(cli("watch", "remove", str(docs), "--forget", "--json").stdout)
    assert gone["forgotten"] == 2
    assert json.loads(cli("status", "--json").stdout)["sources"].get("file") is None
    missing = cli("watch", "remove", str(docs), check=False)
    assert missing.returncode == 3 and "not watched" in missing.stderr
