"""Everything a person owns, out of the store as plain files and back in.

``export_store`` writes a folder of JSON Lines (items, memories with their
history, links and sources, Ask threads, the folder indexer's file list) plus
``settings.json`` and a ``manifest.json`` naming the models in use. It is plain
text on purpose: the person asked for a copy they can read without Engram.

``restore_export`` reads such a folder into a new or empty store. Ids are kept
(the store is empty, so nothing can collide), which keeps every relation —
memory sources, links, supersession, history, thread citations — exactly as it
was without rewriting ids buried in JSON. Restored rows are written as stored,
not re-submitted through the pipeline: they already passed redaction and
dedupe, and re-deriving them would change ids and content hashes. Vectors are
derived state and are not exported; the running instance (or ``engram
reindex``) computes them again.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import apsw

from core.config import ensure_private_dir, write_private_file
from core.errors import BadInput, UsageError
from core.memory import rows as memory_rows
from core.progress import Progress, ProgressFn
from core.records import Observation, from_epoch, to_epoch, utcnow
from core.store import Store
from core.store import events as event_rows

FORMAT = "engram-export"
VERSION = 2
BATCH = 500
_IMAGE_EXT = {"image/webp": "webp", "image/jpeg": "jpg", "image/png": "png"}
_MIME = {v: k for k, v in _IMAGE_EXT.items()}
# Columns exported as ISO-8601 times (stored as UNIX seconds).
_MEMORY_TIMES = ("reinforced_at", "created_at", "updated_at", "last_recalled", "valid_from",
                 "valid_until", "started_at", "ended_at")
_FILE_COLUMNS = ("path", "size", "mtime_ns", "status", "problem", "kind", "chunks",
                 "checked_at")
_HISTORY_COLUMNS = ("id", "change_id", "memory_id", "action", "actor", "at", "before",
                    "after", "sources_added", "sources_removed", "related_id", "note",
                    "scrubbed", "undone_by")
_OWNED_TABLES = ("events", "memories", "memory_history", "threads")

README = """Engram export (format {version})
===================
These files are a plain, UNENCRYPTED copy of everything Engram had stored.
Keep them somewhere safe, or delete them when done. `engram restore DIR` reads
this folder back into a new or empty Engram store. Times are ISO-8601 (UTC).

manifest.json — format and version, when it was exported, how many of each
  thing, the models in use (names, not files), id watermarks and the
  consolidation cursor (so a restored store neither reuses ids nor rebuilds
  memories it already has).
settings.json — the preferences you changed (watched folders, exclusions,
  secrets filters, retention, chat model …).

events.jsonl — one line per item:
  id           Engram's id of the item (memories and threads refer to it)
  source       where it came from: note, screen, file, chat, …
  started_at   when it was seen / said / written
  ended_at     when it stopped being seen (screen), else = started_at
  stored_at    when Engram stored it
  text         the text, after redaction of secrets
  app, title, url, path, conversation, speaker   where known, else null
  external_id  the source's own id (file path + chunk, chat message id), or null
  meta         source-specific details (OCR word boxes, chat session, …)
  image        file name of its thumbnail under images/, or null
  full_image   file name of its full-size frame under images/, or null

memories.jsonl — one line per memory, current and superseded:
  id, type (core, episodic, semantic, procedural), title, text, fields (the
  type's structured fields), entities, fact_key, group_key, importance,
  stability, reinforced_at, recall_count, evidence_count, created_at,
  updated_at, last_recalled, valid_from, valid_until, started_at, ended_at,
  superseded_by (id of the memory that replaced it), pinned, origin (rules,
  model, person), sources (ids of the items it came from)
memory_links.jsonl — related memories: a, b (memory ids), kind
memory_history.jsonl — every change to a memory: id, change_id (rows of one
  change share it), memory_id, action, actor, at, before / after (the memory
  as it was and became), sources_added, sources_removed, related_id, note,
  scrubbed, undone_by
consolidation.json — which items memory building has already read, and its
  batch ledger
threads.jsonl — your conversations with Ask: id, title, created_at,
  updated_at, turns (role, text, citations, created_at)
files.jsonl — what the folder indexer knew about each file: path, size,
  mtime_ns, status (indexed / skipped), problem, kind, chunks, checked_at
"""


@dataclass(frozen=True)
class PortabilitySummary:
    """What an export or a restore carried: counts per kind of thing."""

    folder: Path
    counts: Mapping[str, int] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


# -- export ---------------------------------------------------------------------------
def export_store(store: Store, out: Path, *, settings: Mapping[str, Any],
                 models: Mapping[str, Any], progress: ProgressFn | None = None
                 ) -> PortabilitySummary:
    """Write everything in ``store`` (and ``settings``, the person's changed
    preferences) into the new or empty folder ``out``; files are owner-only.

    All tables are read inside one read transaction, so the export is a
    consistent picture even while capture keeps writing.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} is not empty; choose a new or empty folder.")
    ensure_private_dir(out)
    db = store.reader()
    counts: dict[str, int] = {}
    with db:  # one snapshot for every table (WAL read transaction)
        total = _count(db, "events")
        counts["events"] = _write_events(db, out, progress, total)
        counts["memories"] = _write_jsonl(out / "memories.jsonl", _memories(db))
        counts["memory_links"] = _write_jsonl(out / "memory_links.jsonl", (
            {"a": a, "b": b, "kind": kind}
            for a, b, kind in db.execute("SELECT a, b, kind FROM memory_links ORDER BY a, b")))
        counts["memory_history"] = _write_jsonl(out / "memory_history.jsonl", _history(db))
        counts["threads"] = _write_jsonl(out / "threads.jsonl", _threads(db))
        counts["files"] = _write_jsonl(out / "files.jsonl", (
            dict(zip(_FILE_COLUMNS, r)) for r in db.execute(
                f"SELECT {', '.join(_FILE_COLUMNS)} FROM files ORDER BY path")))
        consolidation = {
            "cursor": [{"name": n, "last_event_id": i, "updated_at": _iso(t)} for n, i, t in
                       db.execute("SELECT name, last_event_id, updated_at FROM memory_cursor")],
            "batches": [{"id": r[0], "first_event_id": r[1], "last_event_id": r[2],
                         "events": r[3], "counts": json.loads(r[4]), "at": _iso(r[5])}
                        for r in db.execute("SELECT id, first_event_id, last_event_id, events, "
                                            "counts, at FROM memory_batches ORDER BY id")],
        }
        watermarks = {
            "events": _scalar(db, "SELECT max(coalesce((SELECT max(id) FROM events), 0), "
                                  "coalesce((SELECT last_id FROM id_watermarks "
                                  "WHERE name = 'events'), 0))"),
            **{name: seq for name, seq in db.execute(
                "SELECT name, seq FROM sqlite_sequence WHERE name IN "
                "('memories', 'memory_history')")},
        }
    _write_json(out / "consolidation.json", consolidation)
    _write_json(out / "settings.json", dict(settings))
    spaces = [{"model": m, "dims": d, "state": st} for m, d, st in store.reader().execute(
        "SELECT model, dims, state FROM vector_spaces ORDER BY id")]
    manifest = {"format": FORMAT, "version": VERSION, "exported_at": utcnow().isoformat(),
                "counts": counts, "models": {**models, "vector_spaces": spaces},
                "id_watermarks": watermarks}
    _write_json(out / "manifest.json", manifest)
    write_private_file(out / "README.txt", README.format(version=VERSION).encode())
    return PortabilitySummary(folder=out, counts=counts, settings=dict(settings))


def _write_events(db: apsw.Connection, out: Path, progress: ProgressFn | None,
                  total: int) -> int:
    images = out / "images"
    count = 0
    with _private_text(out / "events.jsonl") as fh:
        for row in db.execute(f"SELECT {event_rows.COLUMNS}, stored_at FROM events ORDER BY id"):
            event = event_rows.row_to_event(row[:-1])
            thumb = full = None
            if event.has_image:
                mime, data, full_data = db.execute(
                    "SELECT mime, data, full_data FROM event_images WHERE event_id = ?",
                    (event.id,)).fetchall()[0]
                ensure_private_dir(images)
                ext = _IMAGE_EXT.get(mime, "bin")
                thumb = f"{event.id}.{ext}"
                write_private_file(images / thumb, bytes(data))
                if full_data is not None:
                    full = f"{event.id}.full.{ext}"
                    write_private_file(images / full, bytes(full_data))
            fh.write(json.dumps({
                "id": event.id, "source": event.source,
                "started_at": event.started_at.isoformat(),
                "ended_at": event.ended_at.isoformat(), "stored_at": _iso(row[-1]),
                "text": event.text, "app": event.app, "title": event.title,
                "url": event.url, "path": event.path, "conversation": event.thread,
                "speaker": event.speaker, "external_id": event.external_id,
                "meta": dict(event.meta), "image": thumb, "full_image": full,
            }, ensure_ascii=False) + "\n")
            count += 1
            if progress and count % BATCH == 0:
                progress(Progress(count, total, "items"))
    if progress:
        progress(Progress(count, total, "items"))
    return count


def _memories(db: apsw.Connection) -> Iterator[dict[str, Any]]:
    sources: dict[int, list[int]] = {}
    for memory_id, event_id in db.execute(
            "SELECT memory_id, event_id FROM memory_sources ORDER BY memory_id, event_id"):
        sources.setdefault(memory_id, []).append(event_id)
    for row in db.execute(f"SELECT {memory_rows.COLUMNS} FROM memories ORDER BY id"):
        out = dict(zip(memory_rows.FIELDS, row))
        out["fields"] = json.loads(out["fields"] or "{}")
        out["pinned"] = bool(out["pinned"])
        for key in _MEMORY_TIMES:
            out[key] = _iso(out[key])
        out["sources"] = sources.get(out["id"], [])
        yield out


def _history(db: apsw.Connection) -> Iterator[dict[str, Any]]:
    for row in db.execute(f"SELECT {', '.join(_HISTORY_COLUMNS)} FROM memory_history "
                          "ORDER BY id"):
        out = dict(zip(_HISTORY_COLUMNS, row))
        out["at"] = _iso(out["at"])
        for key in ("before", "after", "sources_added", "sources_removed"):
            out[key] = json.loads(out[key]) if out[key] is not None else None
        out["scrubbed"] = bool(out["scrubbed"])
        yield out


def _threads(db: apsw.Connection) -> Iterator[dict[str, Any]]:
    for tid, title, created, updated in db.execute(
            "SELECT id, title, created_at, updated_at FROM threads ORDER BY id").fetchall():
        turns = [{"id": r[0], "role": r[1], "text": r[2], "citations": json.loads(r[3]),
                  "created_at": _iso(r[4])}
                 for r in db.execute("SELECT id, role, text, citations, created_at "
                                     "FROM thread_turns WHERE thread_id = ? ORDER BY id", (tid,))]
        yield {"id": tid, "title": title, "created_at": _iso(created),
               "updated_at": _iso(updated), "turns": turns}


# -- restore --------------------------------------------------------------------------
def is_empty(store: Store) -> bool:
    """True when the store holds no item, memory, memory history or thread."""
    db = store.reader()
    return all(not db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchall() for t in _OWNED_TABLES)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The export's manifest; exports from before manifests (events only) are version 1."""
    path = folder / "manifest.json"
    if not path.exists():
        if (folder / "events.jsonl").exists():
            return {"format": FORMAT, "version": 1}
        raise BadInput(f"{folder} is not an Engram export (no manifest.json or events.jsonl).")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path} is not readable JSON.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadInput(f"{folder} is not an Engram export.")
    if int(manifest.get("version", 0)) > VERSION:
        raise BadInput(f"{folder} was exported by a newer Engram (format "
                       f"{manifest.get('version')}); update Engram to restore it.")
    return manifest


def restore_export(store: Store, folder: Path, *, progress: ProgressFn | None = None
                   ) -> PortabilitySummary:
    """Read the export in ``folder`` into ``store``, which must be new or empty.

    Returns the counts restored and the exported settings (the caller applies
    them: settings live beside the store, not in it). A line that cannot be
    read stops the restore with its file and line number; each kind of thing
    is written in batches, so a failure leaves a partly restored store that
    the person can delete and restore again.
    """
    manifest = read_manifest(folder)
    if not is_empty(store):
        raise UsageError("This store already holds items, memories or threads; restore an "
                         "export only into a new or empty one.",
                         hint="Use a new --data-dir, or forget everything first.")
    counts: dict[str, int] = {}
    counts["events"] = _restore_events(store, folder, progress,
                                       (manifest.get("counts") or {}).get("events"))
    counts["memories"] = _restore_memories(store, folder)
    counts["memory_links"] = _insert_all(
        store, _read_jsonl(folder / "memory_links.jsonl"),
        "INSERT OR IGNORE INTO memory_links(a, b, kind) VALUES (?, ?, ?)",
        lambda r: (int(r["a"]), int(r["b"]), str(r["kind"])))
    counts["memory_history"] = _insert_all(
        store, _read_jsonl(folder / "memory_history.jsonl"),
        f"INSERT INTO memory_history({', '.join(_HISTORY_COLUMNS)}) "
        f"VALUES ({','.join('?' * len(_HISTORY_COLUMNS))})", _history_values)
    counts["threads"] = _restore_threads(store, folder)
    counts["files"] = _insert_all(
        store, _read_jsonl(folder / "files.jsonl"),
        f"INSERT OR REPLACE INTO files({', '.join(_FILE_COLUMNS)}) "
        f"VALUES ({','.join('?' * len(_FILE_COLUMNS))})",
        lambda r: tuple(r.get(k) for k in _FILE_COLUMNS))
    _restore_state(store, folder, manifest)
    settings_path = folder / "settings.json"
    settings = _read_json(settings_path) if settings_path.exists() else {}
    if not isinstance(settings, dict):
        raise BadInput(f"{settings_path} is not a JSON object.")
    warnings = tuple(f"watched folder {p} does not exist here"
                     for p in settings.get("watched_folders") or ()
                     if isinstance(p, str) and not Path(p).expanduser().is_dir())
    return PortabilitySummary(folder=folder, counts=counts, settings=settings,
                              warnings=warnings)


def _restore_events(store: Store, folder: Path, progress: ProgressFn | None,
                    total: int | None) -> int:
    count = 0
    batch: list[tuple[tuple, tuple | None]] = []

    def flush() -> None:
        def write(db: apsw.Connection) -> None:
            for values, image in batch:
                db.execute(
                    "INSERT INTO events(id, source, started_at, ended_at, text, app, title, "
                    "url, path, thread, speaker, external_id, content_hash, meta, stored_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", values)
                if image is not None:
                    db.execute("INSERT INTO event_images(event_id, mime, data, full_data) "
                               "VALUES (?, ?, ?, ?)", image)
        store.write(write)
        batch.clear()

    for row in _read_jsonl(folder / "events.jsonl"):
        batch.append(_event_values(folder, row))
        count += 1
        if len(batch) >= BATCH:
            flush()
            if progress:
                progress(Progress(count, total, "items"))
    if batch:
        flush()
    if progress:
        progress(Progress(count, total, "items"))
    return count


def _event_values(folder: Path, row: dict[str, Any]) -> tuple[tuple, tuple | None]:
    started = _time(row["started_at"])
    obs = Observation(source=str(row["source"]), captured_at=started, text=str(row["text"]),
                      app=row.get("app"), title=row.get("title"), url=row.get("url"),
                      path=row.get("path"), thread=row.get("conversation"),
                      speaker=row.get("speaker"), external_id=row.get("external_id"))
    ended = _time(row.get("ended_at") or row["started_at"])
    stored = _time(row["stored_at"]) if row.get("stored_at") else ended
    values = (int(row["id"]), obs.source, to_epoch(started), to_epoch(ended), obs.text,
              obs.app, obs.title, obs.url, obs.path, obs.thread, obs.speaker,
              obs.external_id, obs.content_hash(),
              json.dumps(row.get("meta") or {}, ensure_ascii=False), to_epoch(stored))
    image = None
    if row.get("image"):
        name = str(row["image"])
        data = _read_image(folder, name)
        full = _read_image(folder, str(row["full_image"])) if row.get("full_image") else None
        mime = _MIME.get(name.rsplit(".", 1)[-1], "application/octet-stream")
        image = (int(row["id"]), mime, data, full)
    return values, image


def _read_image(folder: Path, name: str) -> bytes:
    path = (folder / "images" / name)
    if path.name != name or not path.is_file():  # a name, never a path out of the folder
        raise BadInput(f"The export lacks the image {name} (images/).")
    return path.read_bytes()


def _restore_memories(store: Store, folder: Path) -> int:
    superseded: list[tuple[int, int]] = []

    def values(row: dict[str, Any]) -> tuple:
        snap = {k: row.get(k) for k in memory_rows.FIELDS}
        for key in _MEMORY_TIMES:
            snap[key] = to_epoch(_time(snap[key])) if snap[key] is not None else None
        snap["fields"] = json.dumps(snap.get("fields") or {}, ensure_ascii=False,
                                    sort_keys=True)
        snap["pinned"] = int(bool(snap["pinned"]))
        if snap["superseded_by"] is not None:
            # Its successor may come later in the file: linked once all exist.
            superseded.append((int(snap["id"]), int(snap["superseded_by"])))
            snap["superseded_by"] = None
        return tuple(snap[k] for k in memory_rows.FIELDS)

    rows = list(_read_jsonl(folder / "memories.jsonl"))
    count = _insert_all(store, rows, f"INSERT INTO memories({memory_rows.COLUMNS}) VALUES "
                        f"({','.join('?' * len(memory_rows.FIELDS))})", values)
    _insert_all(store, [(int(r["id"]), int(e)) for r in rows for e in r.get("sources") or ()],
                "INSERT OR IGNORE INTO memory_sources(memory_id, event_id) VALUES (?, ?)",
                lambda pair: pair)
    _insert_all(store, superseded, "UPDATE memories SET superseded_by = ? WHERE id = ?",
                lambda pair: (pair[1], pair[0]))
    return count


def _history_values(row: dict[str, Any]) -> tuple:
    out = dict(row)
    out["at"] = to_epoch(_time(out["at"]))
    for key in ("before", "after"):
        out[key] = (json.dumps(out[key], ensure_ascii=False, sort_keys=True, default=str)
                    if out.get(key) is not None else None)
    for key in ("sources_added", "sources_removed"):
        out[key] = json.dumps(out.get(key) or [])
    out["scrubbed"] = int(bool(out.get("scrubbed")))
    return tuple(out.get(k) for k in _HISTORY_COLUMNS)


def _restore_threads(store: Store, folder: Path) -> int:
    count = 0
    for thread in _read_jsonl(folder / "threads.jsonl"):
        def write(db: apsw.Connection, t: dict[str, Any] = thread) -> None:
            db.execute("INSERT INTO threads(id, title, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?)", (int(t["id"]), str(t["title"]),
                                               to_epoch(_time(t["created_at"])),
                                               to_epoch(_time(t["updated_at"]))))
            db.executemany(
                "INSERT INTO thread_turns(id, thread_id, role, text, citations, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(int(turn["id"]), int(t["id"]), str(turn["role"]), str(turn["text"]),
                  json.dumps(turn.get("citations") or [], default=str),
                  to_epoch(_time(turn["created_at"]))) for turn in t.get("turns") or ()])
        store.write(write)
        count += 1
    return count


def _restore_state(store: Store, folder: Path, manifest: Mapping[str, Any]) -> None:
    path = folder / "consolidation.json"
    state = _read_json(path) if path.exists() else {}
    marks = manifest.get("id_watermarks") or {}

    def write(db: apsw.Connection) -> None:
        for c in state.get("cursor") or ():
            db.execute("INSERT OR REPLACE INTO memory_cursor(name, last_event_id, updated_at) "
                       "VALUES (?, ?, ?)", (str(c["name"]), int(c["last_event_id"]),
                                            to_epoch(_time(c["updated_at"]))))
        for b in state.get("batches") or ():
            db.execute("INSERT OR IGNORE INTO memory_batches(id, first_event_id, last_event_id, "
                       "events, counts, at) VALUES (?, ?, ?, ?, ?, ?)",
                       (int(b["id"]), int(b["first_event_id"]), int(b["last_event_id"]),
                        int(b["events"]), json.dumps(b.get("counts") or {}),
                        to_epoch(_time(b["at"]))))
        if db.execute("SELECT 1 FROM events LIMIT 1").fetchall():
            # The restored items have no vectors yet: search uses keywords until the
            # background backfill has computed them and marks the space ready again.
            db.execute("UPDATE vector_spaces SET state = 'building'")
        if marks.get("events"):
            db.execute("UPDATE id_watermarks SET last_id = max(last_id, ?) "
                       "WHERE name = 'events'", (int(marks["events"]),))
        for name in ("memories", "memory_history"):
            # AUTOINCREMENT ids are never reused: history refers to them after deletes.
            if marks.get(name):
                seq = int(marks[name])
                if db.execute("SELECT 1 FROM sqlite_sequence WHERE name = ?",
                              (name,)).fetchall():
                    db.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?",
                               (seq, name))
                else:
                    db.execute("INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)",
                               (name, seq))
    store.write(write)


# -- helpers ----------------------------------------------------------------------------
def _insert_all(store: Store, items: Any, sql: str, values: Callable[[Any], tuple]) -> int:
    count = 0
    batch: list[tuple] = []
    for item in items:
        batch.append(values(item))
        count += 1
        if len(batch) >= BATCH:
            rows = list(batch)
            store.write(lambda db: db.executemany(sql, rows))
            batch.clear()
    if batch:
        store.write(lambda db: db.executemany(sql, batch))
    return count


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open("r", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                raise BadInput(f"{path.name} line {n} is not a JSON object: {exc}") from None
            yield row


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path} is not readable JSON.") from exc


def _private_text(path: Path):  # noqa: ANN202 - a text file object
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8")


def _write_jsonl(path: Path, rows: Any) -> int:
    count = 0
    with _private_text(path) as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            count += 1
    return count


def _write_json(path: Path, value: Any) -> None:
    write_private_file(path, json.dumps(value, ensure_ascii=False, indent=2,
                                        default=str).encode("utf-8"))


def _count(db: apsw.Connection, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _scalar(db: apsw.Connection, sql: str) -> int:
    return int(db.execute(sql).fetchall()[0][0] or 0)


def _iso(value: float | None) -> str | None:
    return from_epoch(value).isoformat() if value is not None else None


def _time(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise BadInput(f"{value!r} is not an ISO-8601 time.") from None
    return parsed
