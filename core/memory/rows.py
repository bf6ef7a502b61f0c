"""Memory rows: read, write, sources, links, vectors, snapshots (SQL only).

Writes take the writer connection (inside ``Store.write``); reads work on any
connection. A *snapshot* is a memory's row as a JSON-able dict (without its
sources, which history records as added/removed lists): what history keeps
before and after each change, and what undo restores.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

import apsw
import numpy as np

from core.memory.types import Candidate, Memory
from core.records import from_epoch, to_epoch
from core.store import vectors

FIELDS = ("id", "type", "title", "text", "fields", "entities", "fact_key", "group_key",
          "importance", "stability", "reinforced_at", "recall_count", "evidence_count",
          "created_at", "updated_at", "last_recalled", "valid_from", "valid_until",
          "started_at", "ended_at", "superseded_by", "pinned", "origin")
COLUMNS = ", ".join(FIELDS)
# What a person would call "the memory changed" (recalls and strength are not).
CONTENT_KEYS = ("type", "title", "text", "fields", "entities", "fact_key", "group_key",
                "valid_from", "valid_until", "started_at", "ended_at", "superseded_by",
                "pinned", "origin")
COLLECTION = "memories"


def row_to_memory(row: Sequence[Any], sources: tuple[int, ...] = ()) -> Memory:
    d = dict(zip(FIELDS, row))
    return Memory(
        id=d["id"], type=d["type"], title=d["title"], text=d["text"],
        fields=json.loads(d["fields"] or "{}"), importance=d["importance"],
        stability=d["stability"], reinforced_at=from_epoch(d["reinforced_at"]),
        recall_count=d["recall_count"], evidence_count=d["evidence_count"],
        created_at=from_epoch(d["created_at"]), updated_at=from_epoch(d["updated_at"]),
        last_recalled=from_epoch(d["last_recalled"]) if d["last_recalled"] else None,
        valid_from=from_epoch(d["valid_from"]),
        valid_until=from_epoch(d["valid_until"]) if d["valid_until"] is not None else None,
        started_at=from_epoch(d["started_at"]), ended_at=from_epoch(d["ended_at"]),
        superseded_by=d["superseded_by"], pinned=bool(d["pinned"]), origin=d["origin"],
        fact_key=d["fact_key"], group_key=d["group_key"], entities=d["entities"] or "",
        sources=sources,
    )


def get(db: apsw.Connection, memory_id: int) -> Memory | None:
    found = get_many(db, [memory_id])
    return found.get(memory_id)


def get_many(db: apsw.Connection, ids: Sequence[int], *, with_sources: bool = True
             ) -> dict[int, Memory]:
    out: dict[int, Memory] = {}
    ids = list(dict.fromkeys(int(i) for i in ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT {COLUMNS} FROM memories WHERE id IN ({marks})", chunk).fetchall()
        srcs = sources_many(db, chunk) if with_sources else {}
        for row in rows:
            out[row[0]] = row_to_memory(row, srcs.get(row[0], ()))
    return out


def select(db: apsw.Connection, where: str = "1", params: Sequence[Any] = (), *,
           order: str = "id", limit: int | None = None) -> list[Memory]:
    """Memories matching a SQL condition on ``memories`` (with their sources)."""
    sql = f"SELECT {COLUMNS} FROM memories WHERE {where} ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = db.execute(sql, tuple(params)).fetchall()
    srcs = sources_many(db, [r[0] for r in rows])
    return [row_to_memory(r, srcs.get(r[0], ())) for r in rows]


def sources_many(db: apsw.Connection, ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
    out: dict[int, list[int]] = {}
    ids = list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for mid, eid in db.execute(
                f"SELECT memory_id, event_id FROM memory_sources WHERE memory_id IN ({marks}) "
                "ORDER BY memory_id, event_id", chunk):
            out.setdefault(mid, []).append(eid)
    return {k: tuple(v) for k, v in out.items()}


def insert(db: apsw.Connection, c: Candidate, *, stability: float, now: datetime,
           valid_until: datetime | None = None, superseded_by: int | None = None) -> int:
    """Insert a memory from a candidate with its sources; returns the new id."""
    t = to_epoch(now)
    row = db.execute(
        "INSERT INTO memories(type, title, text, fields, entities, fact_key, group_key, "
        "importance, stability, reinforced_at, recall_count, evidence_count, created_at, "
        "updated_at, valid_from, valid_until, started_at, ended_at, superseded_by, origin) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,0,?,?,?,?,?,?,?,?,?) RETURNING id",
        (c.type, c.title, c.text, _dump(c.fields), c.entities, c.fact_key, c.group_key,
         c.importance, stability, t, len(c.sources) or 1, t, t, to_epoch(c.valid_from),
         to_epoch(valid_until) if valid_until else None, to_epoch(c.started_at),
         to_epoch(c.ended_at), superseded_by, c.origin)).fetchall()
    memory_id = int(row[0][0])
    add_sources(db, memory_id, c.sources)
    return memory_id


def update(db: apsw.Connection, memory_id: int, **values: Any) -> None:
    """Set columns of one memory; datetimes become epoch seconds, dicts JSON."""
    if not values:
        return
    cols, params = [], []
    for key, value in values.items():
        if key not in FIELDS or key == "id":
            raise ValueError(f"unknown memory column {key!r}")
        cols.append(f"{key} = ?")
        params.append(_to_sql(value))
    db.execute(f"UPDATE memories SET {', '.join(cols)} WHERE id = ?", (*params, memory_id))


def add_sources(db: apsw.Connection, memory_id: int, event_ids: Iterable[int]) -> list[int]:
    """Tie events to a memory; returns the ids that were not tied before."""
    added = []
    for eid in dict.fromkeys(int(e) for e in event_ids):
        if db.execute("INSERT OR IGNORE INTO memory_sources(memory_id, event_id) VALUES (?, ?) "
                      "RETURNING event_id", (memory_id, eid)).fetchall():
            added.append(eid)
    return added


def remove_sources(db: apsw.Connection, memory_id: int, event_ids: Iterable[int]) -> None:
    db.executemany("DELETE FROM memory_sources WHERE memory_id = ? AND event_id = ?",
                   ((memory_id, int(e)) for e in event_ids))


def link(db: apsw.Connection, a: int, b: int, kind: str) -> None:
    if a == b:
        return
    lo, hi = min(a, b), max(a, b)
    db.execute("INSERT OR IGNORE INTO memory_links(a, b, kind) VALUES (?, ?, ?)", (lo, hi, kind))


def links_of(db: apsw.Connection, memory_id: int) -> list[tuple[int, str]]:
    """(other memory id, kind) for every link of ``memory_id``."""
    return [(r[0], r[1]) for r in db.execute(
        "SELECT b, kind FROM memory_links WHERE a = ? UNION ALL "
        "SELECT a, kind FROM memory_links WHERE b = ? ORDER BY 1", (memory_id, memory_id))]


def remove(db: apsw.Connection, memory_id: int) -> None:
    """Delete a memory: row, sources and links (cascade), keyword index (trigger), vectors."""
    db.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
    drop_vectors(db, [memory_id])  # logged: in-memory indexes drop it too


# -- vectors ----------------------------------------------------------------------------
def ensure_vector_table(db: apsw.Connection, space: vectors.Space) -> None:
    """The memories vec table of ``space`` (spaces made before memories existed lack it)."""
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {space.table(COLLECTION)} USING vec0("
               f"embedding float[{space.dims}] distance_metric=cosine)")


def has_vector_table(db: apsw.Connection, space: vectors.Space) -> bool:
    return bool(db.execute("SELECT 1 FROM sqlite_schema WHERE name = ?",
                           (space.table(COLLECTION),)).fetchall())


def put_vectors(db: apsw.Connection, space: vectors.Space, ids: Sequence[int],
                vecs: np.ndarray) -> None:
    if not len(ids):
        return
    ensure_vector_table(db, space)
    vectors.put(db, space, COLLECTION, list(ids), vecs)


def drop_vectors(db: apsw.Connection, ids: Sequence[int]) -> None:
    """Mark vectors stale (the text changed without a new embedding): backfill redoes them."""
    if ids:
        vectors.delete(db, COLLECTION, list(ids))
        db.executemany("INSERT INTO vector_changes(collection, space_id, item_id) "
                       "VALUES (?, NULL, ?)", ((COLLECTION, int(i)) for i in ids))


def embedding_text(title: str, text: str) -> str:
    """What the embedder sees for a memory: its title, then its text."""
    body = text if not title or text.startswith(title) else f"{title}: {text}"
    return body[:2000]


# -- snapshots --------------------------------------------------------------------------
def snapshot(db: apsw.Connection, memory_id: int) -> dict[str, Any] | None:
    rows = db.execute(f"SELECT {COLUMNS} FROM memories WHERE id = ?", (memory_id,)).fetchall()
    if not rows:
        return None
    snap = dict(zip(FIELDS, rows[0]))
    snap["fields"] = json.loads(snap["fields"] or "{}")
    return snap


def same_content(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return all(_norm(a.get(k)) == _norm(b.get(k)) for k in CONTENT_KEYS)


def restore(db: apsw.Connection, snap: Mapping[str, Any]) -> None:
    """Put a memory back exactly as ``snap`` (insert with its old id, or overwrite)."""
    values = [(_dump(snap[k]) if k == "fields" else snap.get(k)) for k in FIELDS]
    marks = ",".join("?" * len(FIELDS))
    updates = ", ".join(f"{k} = excluded.{k}" for k in FIELDS if k != "id")
    db.execute(f"INSERT INTO memories({COLUMNS}) VALUES ({marks}) "
               f"ON CONFLICT(id) DO UPDATE SET {updates}", values)


# -- the consolidation cursor -------------------------------------------------------------
CURSOR = "consolidation"


def cursor(db: apsw.Connection) -> int:
    """The id of the last event consolidation has processed (0: none)."""
    rows = db.execute("SELECT last_event_id FROM memory_cursor WHERE name = ?",
                      (CURSOR,)).fetchall()
    return int(rows[0][0]) if rows else 0


def set_cursor(db: apsw.Connection, last_event_id: int, now: datetime) -> None:
    db.execute("INSERT INTO memory_cursor(name, last_event_id, updated_at) VALUES (?, ?, ?) "
               "ON CONFLICT(name) DO UPDATE SET last_event_id = excluded.last_event_id, "
               "updated_at = excluded.updated_at", (CURSOR, int(last_event_id), to_epoch(now)))


def pending_events(db: apsw.Connection) -> int:
    """Events consolidation has not looked at yet."""
    return int(db.execute("SELECT count(*) FROM events WHERE id > ?",
                          (cursor(db),)).fetchall()[0][0])


def _dump(value: Any) -> str:
    return json.dumps(dict(value) if isinstance(value, Mapping) else value, ensure_ascii=False,
                      sort_keys=True, default=str)


def _to_sql(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_epoch(value)
    if isinstance(value, (dict, list, tuple)) or isinstance(value, Mapping):
        return _dump(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, Mapping):
        return json.dumps(dict(value), sort_keys=True, default=str)
    return value
