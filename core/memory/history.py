"""Every change to a memory, kept so it can be shown and undone.

A *change* is one decision (an add, a merge, a supersede touching two
memories, a person's delete that revives what the deleted memory had
replaced); its rows share ``change_id`` (the id of its first row). Each row
holds the memory's snapshot before and after and the sources added/removed.
When an event is forgotten, rows that drew on it lose their snapshots
(``scrubbed``): history must not keep what the person asked to forget, and
such a change can no longer be undone.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

import apsw

from core.memory.types import Change
from core.records import from_epoch, to_epoch

_COLS = ("id, change_id, memory_id, action, actor, at, before, after, sources_added, "
         "sources_removed, related_id, note, scrubbed, undone_by")


class ChangeLog:
    """Collects the rows of one change (writer connection); ``change_id`` after the first."""

    def __init__(self, db: apsw.Connection, *, actor: str, now: datetime) -> None:
        self.db = db
        self.actor = actor
        self.at = to_epoch(now)
        self.change_id: int | None = None

    def record(self, memory_id: int, action: str, *, before: Mapping[str, Any] | None,
               after: Mapping[str, Any] | None, sources_added: Iterable[int] = (),
               sources_removed: Iterable[int] = (), related_id: int | None = None,
               note: str | None = None) -> int:
        row = self.db.execute(
            "INSERT INTO memory_history(change_id, memory_id, action, actor, at, before, after, "
            "sources_added, sources_removed, related_id, note) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
            (self.change_id or 0, memory_id, action, self.actor, self.at, _json(before),
             _json(after), json.dumps(sorted(set(int(s) for s in sources_added))),
             json.dumps(sorted(set(int(s) for s in sources_removed))), related_id, note),
        ).fetchall()
        row_id = int(row[0][0])
        if self.change_id is None:
            self.change_id = row_id
            self.db.execute("UPDATE memory_history SET change_id = ? WHERE id = ?",
                            (row_id, row_id))
        return row_id


def of_memory(db: apsw.Connection, memory_id: int) -> list[Change]:
    """Every change of ``memory_id``, oldest first, plus changes where it was the related one."""
    rows = db.execute(f"SELECT {_COLS} FROM memory_history WHERE memory_id = ? ORDER BY id",
                      (memory_id,)).fetchall()
    return [_row(r) for r in rows]


def of_change(db: apsw.Connection, change_id: int) -> list[Change]:
    rows = db.execute(f"SELECT {_COLS} FROM memory_history WHERE change_id = ? ORDER BY id",
                      (change_id,)).fetchall()
    return [_row(r) for r in rows]


def latest_change_of(db: apsw.Connection, memory_id: int) -> int | None:
    rows = db.execute("SELECT max(change_id) FROM memory_history WHERE memory_id = ?",
                      (memory_id,)).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else None


def mark_undone(db: apsw.Connection, change_id: int, undo_change_id: int) -> None:
    db.execute("UPDATE memory_history SET undone_by = ? WHERE change_id = ?",
               (undo_change_id, change_id))


def scrub_for_events(db: apsw.Connection, event_ids: Sequence[int]) -> int:
    """Drop snapshots of every history row that drew on a forgotten event; return how many.

    A row draws on an event when the event was among the sources it added or
    removed. Its source lists lose the forgotten ids and it can't be undone.
    """
    if not event_ids:
        return 0
    forgotten = set(int(e) for e in event_ids)
    hits: dict[int, tuple[list[int], list[int]]] = {}
    # json_each over history rows: forgetting is rare, history is modest; no extra index.
    for start in range(0, len(event_ids), 500):
        chunk = [int(e) for e in event_ids[start:start + 500]]
        marks = ",".join("?" * len(chunk))
        for rid, added, removed in db.execute(
                "SELECT h.id, h.sources_added, h.sources_removed FROM memory_history h "
                "WHERE EXISTS (SELECT 1 FROM json_each(h.sources_added) j "
                f"             WHERE j.value IN ({marks})) "
                "OR EXISTS (SELECT 1 FROM json_each(h.sources_removed) j "
                f"          WHERE j.value IN ({marks}))", (*chunk, *chunk)):
            hits[rid] = (json.loads(added), json.loads(removed))
    for rid, (added, removed) in hits.items():
        db.execute("UPDATE memory_history SET before = NULL, after = NULL, scrubbed = 1, "
                   "sources_added = ?, sources_removed = ? WHERE id = ?",
                   (json.dumps([s for s in added if s not in forgotten]),
                    json.dumps([s for s in removed if s not in forgotten]), rid))
    return len(hits)


def scrub_memory(db: apsw.Connection, memory_ids: Sequence[int]) -> None:
    """Drop the content of every history row of ``memory_ids`` (they were forgotten)."""
    db.executemany("UPDATE memory_history SET before = NULL, after = NULL, scrubbed = 1, "
                   "sources_added = '[]', sources_removed = '[]' WHERE memory_id = ?",
                   ((int(m),) for m in memory_ids))


def _json(value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(dict(value), ensure_ascii=False, sort_keys=True, default=str)


def _row(r: Sequence[Any]) -> Change:
    return Change(
        id=r[0], change_id=r[1], memory_id=r[2], action=r[3], actor=r[4], at=from_epoch(r[5]),
        before=json.loads(r[6]) if r[6] else None, after=json.loads(r[7]) if r[7] else None,
        sources_added=tuple(json.loads(r[8] or "[]")),
        sources_removed=tuple(json.loads(r[9] or "[]")),
        related_id=r[10], note=r[11], scrubbed=bool(r[12]), undone_by=r[13],
    )
