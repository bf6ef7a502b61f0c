"""What the folder indexer remembers about files, and the file events behind them.

A ``files`` row holds a file's size and mtime when it was last read, whether
it was indexed or skipped, and the reason it was skipped. A file's chunks are
its events (source ``"file"``, same ``path``): their external ids carry the
chunk position and content hash, so comparing a new reading with them tells
what changed without keeping a second copy of anything.

Paths are absolute strings. "Under a folder" is a range on the path index
(``folder/`` ≤ path < ``folder0``), so moving or forgetting a folder never
scans every row.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import apsw

# The values live in core.records (sources use them without the store); named here too.
from core.records import FILE_SOURCE, FileEvent, FileState, reason_group  # noqa: F401

STATUSES = ("indexed", "skipped")

_STATE_COLUMNS = "path, size, mtime_ns, status, problem, kind, chunks, checked_at"


def _state(row: Sequence[Any]) -> FileState:
    return FileState(path=row[0], size=row[1], mtime_ns=row[2], status=row[3],
                     problem=row[4], kind=row[5], chunks=row[6], checked_at=row[7])


def folder_range(folder: str) -> tuple[str, str]:
    """Bounds (inclusive, exclusive) of the paths strictly inside ``folder``."""
    base = folder.rstrip(os.sep) + os.sep
    return base, base[:-1] + chr(ord(os.sep) + 1)


def get(db: apsw.Connection, path: str) -> FileState | None:
    """The stored state of one file, if it was ever seen."""
    rows = db.execute(f"SELECT {_STATE_COLUMNS} FROM files WHERE path = ?", (path,)).fetchall()
    return _state(rows[0]) if rows else None


def under(db: apsw.Connection, folder: str) -> dict[str, FileState]:
    """Every known file inside ``folder`` (any depth), by path."""
    lo, hi = folder_range(folder)
    return {r[0]: _state(r) for r in db.execute(
        f"SELECT {_STATE_COLUMNS} FROM files WHERE path >= ? AND path < ?", (lo, hi))}


def put(db: apsw.Connection, states: Iterable[FileState]) -> None:
    """Insert or replace file states (writer connection)."""
    db.executemany(
        f"INSERT OR REPLACE INTO files({_STATE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
        ((s.path, s.size, s.mtime_ns, s.status, s.problem, s.kind, s.chunks, s.checked_at)
         for s in states))


def remove(db: apsw.Connection, paths: Iterable[str]) -> None:
    """Drop the state of files that are gone (writer connection)."""
    db.executemany("DELETE FROM files WHERE path = ?", ((p,) for p in paths))


def rename(db: apsw.Connection, moves: Iterable[tuple[str, str]]) -> None:
    """Carry file states over to new paths (writer connection); replaces any at the target."""
    for src, dest in moves:
        db.execute("DELETE FROM files WHERE path = ?", (dest,))
        db.execute("UPDATE files SET path = ? WHERE path = ?", (dest, src))


def events_of(db: apsw.Connection, path: str) -> list[FileEvent]:
    """The stored chunks of the file at ``path``, in no particular order."""
    return [_event(r) for r in db.execute(
        "SELECT id, path, external_id, title, meta FROM events "
        "WHERE path = ? AND source = ?", (path, FILE_SOURCE))]


def events_under(db: apsw.Connection, folder: str) -> list[FileEvent]:
    """The stored chunks of every file inside ``folder``."""
    lo, hi = folder_range(folder)
    return [_event(r) for r in db.execute(
        "SELECT id, path, external_id, title, meta FROM events "
        "WHERE path >= ? AND path < ? AND source = ?", (lo, hi, FILE_SOURCE))]


def event_counts_under(db: apsw.Connection, folder: str) -> dict[str, int]:
    """How many chunks each file inside ``folder`` still has in the store."""
    lo, hi = folder_range(folder)
    return {r[0]: r[1] for r in db.execute(
        "SELECT path, count(*) FROM events WHERE path >= ? AND path < ? AND source = ? "
        "GROUP BY path", (lo, hi, FILE_SOURCE))}


def _event(row: Sequence[Any]) -> FileEvent:
    return FileEvent(id=row[0], path=row[1], external_id=row[2], title=row[3],
                     meta=json.loads(row[4] or "{}"))


@dataclass(frozen=True)
class FileSummary:
    """Counts for ``engram status``: files indexed and skipped, by reason."""

    indexed: int
    skipped: int
    reasons: Mapping[str, int]
    problems: tuple[tuple[str, str], ...]  # (path, reason), newest first, capped
    # Files indexed with parts left out: (path, "page 3: no readable text layer")
    notes: tuple[tuple[str, str], ...] = ()
    noted: int = 0


def summary(db: apsw.Connection, *, folder: str | None = None,
            examples: int = 200) -> FileSummary:
    """What the indexer did, over every file (or those inside ``folder``)."""
    where, params = "1", ()
    if folder is not None:
        lo, hi = folder_range(folder)
        where, params = "path >= ? AND path < ?", (lo, hi)
    counts = dict(db.execute(
        f"SELECT status, count(*) FROM files WHERE {where} GROUP BY status", params).fetchall())
    reasons: dict[str, int] = {}
    for problem, n in db.execute(
            f"SELECT problem, count(*) FROM files WHERE status = 'skipped' AND {where} "
            "GROUP BY problem", params):
        key = reason_group(problem or "unknown")
        reasons[key] = reasons.get(key, 0) + n
    problems = tuple((r[0], r[1] or "unknown") for r in db.execute(
        f"SELECT path, problem FROM files WHERE status = 'skipped' AND {where} "
        "ORDER BY checked_at DESC, path LIMIT ?", (*params, examples)))
    notes = tuple((r[0], r[1]) for r in db.execute(
        f"SELECT path, problem FROM files WHERE status = 'indexed' AND problem IS NOT NULL "
        f"AND {where} ORDER BY checked_at DESC, path LIMIT ?", (*params, examples)))
    noted = db.execute(f"SELECT count(*) FROM files WHERE status = 'indexed' "
                       f"AND problem IS NOT NULL AND {where}", params).fetchall()[0][0]
    return FileSummary(indexed=counts.get("indexed", 0), skipped=counts.get("skipped", 0),
                       reasons=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
                       problems=problems, notes=notes, noted=noted)


def indexed_folders(db: apsw.Connection, watched: Sequence[str]) -> list[tuple[str, int]]:
    """Folders with indexed files that no watched folder covers (indexed once, e.g. by
    `engram index`): the topmost such folders, each with its number of indexed files."""
    roots = [w.rstrip(os.sep) + os.sep for w in watched]
    counts: dict[str, int] = {}
    for (path,) in db.execute("SELECT path FROM files WHERE status = 'indexed'"):
        if not any(path.startswith(r) for r in roots):
            parent = os.path.dirname(path)
            counts[parent] = counts.get(parent, 0) + 1
    tops: dict[str, int] = {}
    for folder in sorted(counts):  # a parent sorts before its children
        top = next((t for t in tops if folder.startswith(t.rstrip(os.sep) + os.sep)), None)
        if top is None:
            tops[folder] = counts[folder]
        else:
            tops[top] += counts[folder]
    return sorted(tops.items())
