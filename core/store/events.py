"""Event rows: insert (idempotent), read, forget."""
from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Iterable, Sequence

import apsw

from core.records import Event, Observation, Relocation, from_epoch, to_epoch
from core.store import vectors

COLUMNS = ("id, source, started_at, ended_at, text, app, title, url, path, thread, "
           "speaker, external_id, meta, "
           "EXISTS(SELECT 1 FROM event_images i WHERE i.event_id = events.id)")


# Above both the live maximum and every id ever forgotten (m007): ids are never reused.
NEXT_ID = ("(SELECT max(coalesce((SELECT max(id) FROM events), 0), "
           "coalesce((SELECT last_id FROM id_watermarks WHERE name = 'events'), 0)) + 1)")


def row_to_event(row: Sequence) -> Event:
    return Event(
        id=row[0], source=row[1], started_at=from_epoch(row[2]), ended_at=from_epoch(row[3]),
        text=row[4], app=row[5], title=row[6], url=row[7], path=row[8], thread=row[9],
        speaker=row[10], external_id=row[11], meta=json.loads(row[12] or "{}"),
        has_image=bool(row[13]),
    )


def existing_identities(db: apsw.Connection,
                        observations: Sequence[Observation]) -> dict[tuple, int]:
    """Which of ``observations`` are already stored (by external id or content hash),
    each identity with the id of the event that holds it."""
    found: dict[tuple, int] = {}
    by_ext: dict[str, list[str]] = {}
    by_hash: dict[str, list[bytes]] = {}
    for obs in observations:
        if obs.external_id is not None:
            by_ext.setdefault(obs.source, []).append(obs.external_id)
        else:
            by_hash.setdefault(obs.source, []).append(obs.content_hash())
    for source, ids in by_ext.items():
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for ext, event_id in db.execute(
                f"SELECT external_id, id FROM events WHERE source = ? AND external_id IN ({marks})",
                (source, *chunk),
            ):
                found[(source, "ext", ext)] = int(event_id)
    for source, hashes in by_hash.items():
        for chunk in _chunks(hashes, 500):
            marks = ",".join("?" * len(chunk))
            for h, event_id in db.execute(
                f"SELECT content_hash, id FROM events WHERE source = ? AND external_id IS NULL "
                f"AND content_hash IN ({marks})",
                (source, *chunk),
            ):
                found.setdefault((source, "hash", bytes(h)), int(event_id))
    return found


def identity(obs: Observation) -> tuple:
    if obs.external_id is not None:
        return (obs.source, "ext", obs.external_id)
    return (obs.source, "hash", obs.content_hash())


def insert(db: apsw.Connection, obs: Observation) -> int | None:
    """Insert one observation as an event; None if it is already stored."""
    started = to_epoch(obs.captured_at)
    ended = to_epoch(obs.ended_at) if obs.ended_at else started
    rows = db.execute(
        "INSERT INTO events(id, source, started_at, ended_at, text, app, title, url, path, "
        "thread, speaker, external_id, content_hash, meta, stored_at) "
        f"VALUES ({NEXT_ID}, ?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id",
        (obs.source, started, ended, obs.text, obs.app, obs.title, obs.url, obs.path,
         obs.thread, obs.speaker, obs.external_id, obs.content_hash(),
         json.dumps(dict(obs.meta), ensure_ascii=False, default=str), time.time()),
    ).fetchall()
    if not rows:
        return None
    event_id = int(rows[0][0])
    if obs.image is not None:
        db.execute("INSERT INTO event_images(event_id, mime, data, full_data) "
                   "VALUES (?, ?, ?, ?)",
                   (event_id, _sniff_mime(obs.image), obs.image, obs.full_image))
    return event_id


def get_many(db: apsw.Connection, ids: Sequence[int]) -> dict[int, Event]:
    out: dict[int, Event] = {}
    for chunk in _chunks(list(ids), 500):
        marks = ",".join("?" * len(chunk))
        for row in db.execute(f"SELECT {COLUMNS} FROM events WHERE id IN ({marks})", chunk):
            event = row_to_event(row)
            out[event.id] = event
    return out


def latest(db: apsw.Connection, source: str) -> Event | None:
    """The newest stored event of ``source``, or None."""
    rows = db.execute(f"SELECT {COLUMNS} FROM events WHERE source = ? "
                      "ORDER BY started_at DESC, id DESC LIMIT 1", (source,)).fetchall()
    return row_to_event(rows[0]) if rows else None


def between(db: apsw.Connection, since: datetime, until: datetime,
            limit: int = 50_000) -> list[Event]:
    """Events overlapping [since, until), oldest first."""
    where, params = time_source_clause(since, until, (), (), alias="events")
    rows = db.execute(f"SELECT {COLUMNS} FROM events WHERE {where} "
                      "ORDER BY started_at, id LIMIT ?", (*params, limit))
    return [row_to_event(r) for r in rows]


def select_ids(db: apsw.Connection, *, since: datetime | None = None,
               until: datetime | None = None, source: str | None = None,
               app: str | None = None) -> list[int]:
    where, params = time_source_clause(since, until, (source,) if source else (),
                                       (app,) if app else ())
    return [r[0] for r in db.execute(f"SELECT id FROM events e WHERE {where}", params)]


def time_source_clause(since: datetime | None, until: datetime | None,
                       sources: Sequence[str], apps: Sequence[str],
                       alias: str = "e") -> tuple[str, list]:
    """SQL conditions on an events alias for the common filters."""
    parts, params = ["1"], []
    if since is not None:
        parts.append(f"{alias}.ended_at >= ?")
        params.append(to_epoch(since))
    if until is not None:
        parts.append(f"{alias}.started_at < ?")
        params.append(to_epoch(until))
    if sources:
        parts.append(f"{alias}.source IN ({','.join('?' * len(sources))})")
        params.extend(sources)
    if apps:
        parts.append(f"{alias}.app IN ({','.join('?' * len(apps))})")
        params.extend(apps)
    return " AND ".join(parts), params


def delete(db: apsw.Connection, ids: Iterable[int]) -> list[int]:
    """Delete events: rows, keyword index (trigger), images (cascade) and vectors.

    What was built from them is not this layer's business: ``Pipeline.forget``
    runs this and the memory cascade in one transaction."""
    ids = list(ids)
    removed: list[int] = []
    for chunk in _chunks(ids, 500):
        marks = ",".join("?" * len(chunk))
        removed += [r[0] for r in db.execute(
            f"DELETE FROM events WHERE id IN ({marks}) RETURNING id", chunk)]
    vectors.delete(db, "events", removed)
    return removed


def relocate(db: apsw.Connection, relocations: Iterable[Relocation]) -> list[int]:
    """Give events a new path, external id, title and meta (writer connection).

    Text, times and vectors stay; the keyword index follows by trigger when the
    title changes. Returns the ids that still existed and were updated. An
    event whose new identity is already taken (another process stored that
    chunk a moment ago) is left as it was: the next scan of its file forgets it.
    """
    updated: list[int] = []
    for r in relocations:
        rows = db.execute(
            "UPDATE OR IGNORE events SET path = ?, external_id = ?, title = ?, meta = ? "
            "WHERE id = ? RETURNING id",
            (r.path, r.external_id, r.title,
             json.dumps(dict(r.meta), ensure_ascii=False, default=str), r.event_id),
        ).fetchall()
        updated += [row[0] for row in rows]
    return updated


def counts_by_source(db: apsw.Connection) -> dict[str, int]:
    return {r[0]: r[1] for r in db.execute(
        "SELECT source, count(*) FROM events GROUP BY source ORDER BY source")}


def image(db: apsw.Connection, event_id: int) -> tuple[str, bytes] | None:
    rows = db.execute("SELECT mime, data FROM event_images WHERE event_id = ?",
                      (event_id,)).fetchall()
    return (rows[0][0], bytes(rows[0][1])) if rows else None


def _sniff_mime(data: bytes) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    return "application/octet-stream"


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def watermark(db: apsw.Connection) -> tuple[int, int]:
    """(highest event id, number of events): changes whenever events are added or deleted,
    by this process or another one (capture, the CLI, a daemon)."""
    row = db.execute("SELECT coalesce(max(id), 0), count(*) FROM events").fetchone()
    return int(row[0]), int(row[1])


def chat_threads(db: apsw.Connection, limit: int = 500) -> list[tuple[str, str, int, datetime,
                                                                          datetime]]:
    """Imported conversations, newest first: (app, thread, messages, first, last)."""
    return [(r[0] or "Chat", r[1] or "(untitled)", int(r[2]), from_epoch(r[3]), from_epoch(r[4]))
            for r in db.execute(
                "SELECT app, thread, count(*), min(started_at), max(started_at) FROM events "
                "WHERE source = 'chat' GROUP BY app, thread ORDER BY max(started_at) DESC "
                "LIMIT ?", (limit,))]
