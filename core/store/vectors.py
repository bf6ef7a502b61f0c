"""Vector storage in sqlite-vec, keyed by the embedding model's identity.

Vectors are derived, rebuildable state. Each embedding model gets a *space*
(row in ``vector_spaces``) and per collection ("events", later "memories") a
vec0 table named ``vec_<collection>_<space id>``. When the model changes, a new
space starts in state ``building``; search uses only a ``ready`` space, so it
falls back to keywords while the background rebuild runs, and the old space is
dropped once the new one is ready.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, Sequence

import apsw
import numpy as np

from core.store import vector_codes, vector_changes

COLLECTIONS = ("events", "memories")


@dataclass(frozen=True)
class Space:
    id: int
    model: str
    dims: int
    state: str

    def table(self, collection: str) -> str:
        if collection not in COLLECTIONS:
            raise ValueError(f"unknown vector collection {collection!r}")
        return f"vec_{collection}_{self.id}"


def _row_space(row: tuple) -> Space:
    return Space(id=row[0], model=row[1], dims=row[2], state=row[3])


def ready_space(db: apsw.Connection, model: str) -> Space | None:
    """The space search may use for ``model``, if its vectors are complete."""
    rows = db.execute(
        "SELECT id, model, dims, state FROM vector_spaces WHERE model = ? AND state = 'ready'",
        (model,),
    ).fetchall()
    return _row_space(rows[0]) if rows else None


def space_for(db: apsw.Connection, model: str) -> Space | None:
    rows = db.execute(
        "SELECT id, model, dims, state FROM vector_spaces WHERE model = ?", (model,)
    ).fetchall()
    return _row_space(rows[0]) if rows else None


def ensure_space(db: apsw.Connection, model: str, dims: int) -> Space:
    """Get or create the space for ``model`` (writer connection).

    A brand-new store has nothing to rebuild, so its first space is ready at
    once; a space created beside an older one starts as ``building``.
    """
    existing = space_for(db, model)
    if existing is not None:
        return existing
    others = db.execute("SELECT count(*) FROM vector_spaces").fetchall()[0][0]
    events = db.execute("SELECT count(*) FROM events").fetchall()[0][0]
    state = "building" if (others or events) else "ready"
    db.execute(
        "INSERT INTO vector_spaces(model, dims, state, created_at) VALUES (?, ?, ?, ?)",
        (model, dims, state, time.time()),
    )
    space = space_for(db, model)
    assert space is not None
    for collection in COLLECTIONS:
        db.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {space.table(collection)} USING vec0("
            f"embedding float[{dims}] distance_metric=cosine)"
        )
    vector_codes.create(db, space.id)  # empty, so complete: kept in step from here on
    return space


def mark_ready(db: apsw.Connection, space: Space) -> None:
    """Make ``space`` the one search uses; drop every other space's tables."""
    db.execute("UPDATE vector_spaces SET state = 'ready' WHERE id = ?", (space.id,))
    for row in db.execute(
        "SELECT id, model, dims, state FROM vector_spaces WHERE id != ?", (space.id,)
    ).fetchall():
        old = _row_space(row)
        for collection in COLLECTIONS:
            db.execute(f"DROP TABLE IF EXISTS {old.table(collection)}")
        vector_codes.drop(db, old.id)
        db.execute("DELETE FROM vector_spaces WHERE id = ?", (old.id,))


def all_spaces(db: apsw.Connection) -> list[Space]:
    return [_row_space(r) for r in db.execute(
        "SELECT id, model, dims, state FROM vector_spaces ORDER BY id")]


def put(db: apsw.Connection, space: Space, collection: str,
        ids: Sequence[int], vectors: np.ndarray) -> None:
    """Insert or replace vectors (writer connection)."""
    table = space.table(collection)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    db.executemany(f"DELETE FROM {table} WHERE rowid = ?", ((i,) for i in ids))
    db.executemany(
        f"INSERT INTO {table}(rowid, embedding) VALUES (?, ?)",
        ((int(i), vectors[n].tobytes()) for n, i in enumerate(ids)),
    )
    if collection == vector_codes.COLLECTION:
        vector_codes.put(db, space.id, ids, vectors)
    # Same transaction: in-memory indexes in every process see exactly what committed.
    vector_changes.record_put(db, collection, space.id, ids)


def delete(db: apsw.Connection, collection: str, ids: Iterable[int]) -> None:
    """Remove vectors of ``ids`` from every space (writer connection)."""
    ids = list(ids)
    for space in all_spaces(db):
        db.executemany(f"DELETE FROM {space.table(collection)} WHERE rowid = ?",
                       ((i,) for i in ids))
        if collection == vector_codes.COLLECTION:
            vector_codes.delete(db, space.id, ids)


def missing(db: apsw.Connection, space: Space, collection: str, limit: int) -> list[int]:
    """Ids of ``collection`` rows that have no vector in ``space`` yet.

    Background runners ask every few seconds. Probing vec0 itself per row
    reads its chunk blobs (at 100k items that filled a 128 MB page cache per
    call: +125 MB idle RSS), so this compares counts first and probes vec0's
    rowid table, never its vectors.
    """
    table = space.table(collection)
    have = db.execute(f'SELECT count(*) FROM "{table}_rowids"').fetchall()[0][0]
    total = db.execute(f"SELECT count(*) FROM {collection}").fetchall()[0][0]
    if have == total:
        return []  # vectors are deleted with their rows: equal counts, nothing missing
    return [r[0] for r in db.execute(
        f'SELECT e.id FROM {collection} e WHERE NOT EXISTS '
        f'(SELECT 1 FROM "{table}_rowids" v WHERE v.rowid = e.id) ORDER BY e.id LIMIT ?',
        (limit,))]


def count(db: apsw.Connection, space: Space, collection: str) -> int:
    return db.execute(f"SELECT count(*) FROM {space.table(collection)}").fetchall()[0][0]


def knn(db: apsw.Connection, space: Space, collection: str, query: np.ndarray,
        k: int) -> list[tuple[int, float]]:
    """Exact nearest neighbours: (id, cosine distance), nearest first."""
    table = space.table(collection)
    q = np.ascontiguousarray(query, dtype=np.float32).tobytes()
    return [(r[0], float(r[1])) for r in db.execute(
        f"SELECT rowid, distance FROM {table} WHERE embedding MATCH ? AND k = ? "
        "ORDER BY distance", (q, k))]
