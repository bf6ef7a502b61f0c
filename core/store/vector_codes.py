"""Compact vector codes kept in the encrypted store, for the in-memory index.

Why: holding int8 copies of every vector in RAM cost ≈470 B per item (≈500 MB
at 1M items), and rebuilding the index from sqlite-vec's float chunks took
≈12 s at 1M. So each event vector of a space also gets, in the same write
transaction as its float vector:

* a 2-bit code in ``vcodes_events_<space>``: the sign of each dimension and
  whether its magnitude is above the vector's median magnitude (96 B at 384
  dims). Items are grouped in blocks of ``BLOCK`` consecutive ids, each block
  one row holding ids, codes and the filter columns (times, source, app), so
  loading 1M items reads ≈1000 rows and no float at all;
* an int8 copy with its scale in ``vq8_events_<space>`` (one row per item),
  read back by id for the final re-rank of a few hundred candidates.

Both live only inside the encrypted database (no index file on disk) and are
dropped with their space. A store written before these tables existed gets
them built once, in the background (``build``), from the float vectors.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import apsw
import numpy as np

from core.progress import Cancel

BLOCK = 1024  # ids per block row: a block rewrite on insert stays ≈100 KB
COLLECTION = "events"
_Q8_PARTS = 512  # ids per `IN (...)` when reading int8 rows back


def codes_table(space_id: int) -> str:
    return f"vcodes_{COLLECTION}_{space_id}"


def q8_table(space_id: int) -> str:
    return f"vq8_{COLLECTION}_{space_id}"


def create(db: apsw.Connection, space_id: int) -> None:
    """Create the (empty) code tables of a space (writer connection)."""
    db.execute(f"CREATE TABLE IF NOT EXISTS {codes_table(space_id)}("
               "block INTEGER PRIMARY KEY, ids BLOB NOT NULL, signs BLOB NOT NULL, "
               "mags BLOB NOT NULL, started BLOB NOT NULL, ended BLOB NOT NULL, "
               "names TEXT NOT NULL, source BLOB NOT NULL, app BLOB NOT NULL)")
    db.execute(f"CREATE TABLE IF NOT EXISTS {q8_table(space_id)}("
               "id INTEGER PRIMARY KEY, v BLOB NOT NULL)")


def drop(db: apsw.Connection, space_id: int) -> None:
    db.execute(f"DROP TABLE IF EXISTS {codes_table(space_id)}")
    db.execute(f"DROP TABLE IF EXISTS {q8_table(space_id)}")


def exists(db: apsw.Connection, space_id: int) -> bool:
    """True once a space's codes are complete (the tables appear in one transaction)."""
    return bool(db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                           (codes_table(space_id),)).fetchall())


# -- encoding ---------------------------------------------------------------------------------
def signs_and_mags(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sign bits, above-median-magnitude bits), each (n, ceil(dims/8)) uint8, LSB-first.

    LSB-first, as sqlite-vec packs bit vectors.
    """
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    a = np.abs(v)
    med = np.median(a, axis=1, keepdims=True)
    return (np.packbits(v > 0, axis=1, bitorder="little"),
            np.packbits(a > med, axis=1, bitorder="little"))


def int8(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 vectors and per-vector scales such that ``q * scale`` has unit length."""
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    peak = np.maximum(v.max(axis=1), -v.min(axis=1))
    peak[peak == 0] = 1.0
    x = v * (127.0 / peak)[:, None]
    np.rint(x, out=x)
    q = x.astype(np.int8)
    norms = np.sqrt(np.einsum("ij,ij->i", q, q, dtype=np.float32))
    norms[norms == 0] = 1.0
    return q, (1.0 / norms).astype(np.float32)


# -- writing (inside the writer's transaction, beside the float vectors) -------------------
@dataclass(frozen=True)
class Block:
    """One block row, decoded: items sorted by id."""

    ids: np.ndarray       # int64
    signs: np.ndarray     # uint8 (n, bytes)
    mags: np.ndarray      # uint8 (n, bytes)
    started: np.ndarray   # float64
    ended: np.ndarray     # float64
    names: list[str]      # source and app names used in this block
    source: np.ndarray    # uint16 index into names
    app: np.ndarray       # int16 index into names, -1 for none

    @classmethod
    def from_row(cls, row: Sequence, nbytes: int) -> "Block":
        ids = np.frombuffer(row[0], np.int64)
        n = len(ids)
        return cls(ids, np.frombuffer(row[1], np.uint8).reshape(n, nbytes),
                   np.frombuffer(row[2], np.uint8).reshape(n, nbytes),
                   np.frombuffer(row[3], np.float64), np.frombuffer(row[4], np.float64),
                   json.loads(row[5]), np.frombuffer(row[6], np.uint16),
                   np.frombuffer(row[7], np.int16))


def put(db: apsw.Connection, space_id: int, ids: Sequence[int], vectors: np.ndarray) -> None:
    """Write the codes of event vectors just written (replacing older ones)."""
    if not len(ids) or not exists(db, space_id):
        return
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    q, scale = int8(v)
    db.executemany(f"INSERT OR REPLACE INTO {q8_table(space_id)}(id, v) VALUES (?, ?)",
                   ((int(i), q[n].tobytes() + scale[n].tobytes()) for n, i in enumerate(ids)))
    signs, mags = signs_and_mags(v)
    _update_blocks(db, space_id, np.asarray(ids, np.int64), signs, mags)


def delete(db: apsw.Connection, space_id: int, ids: Sequence[int]) -> None:
    """Remove the codes of ``ids`` (forgotten events)."""
    if not len(ids) or not exists(db, space_id):
        return
    db.executemany(f"DELETE FROM {q8_table(space_id)} WHERE id = ?", ((int(i),) for i in ids))
    empty = np.zeros((0, 1), np.uint8)
    _update_blocks(db, space_id, np.asarray(ids, np.int64), empty, empty, remove_only=True)


def _update_blocks(db: apsw.Connection, space_id: int, ids: np.ndarray, signs: np.ndarray,
                   mags: np.ndarray, *, remove_only: bool = False) -> None:
    table = codes_table(space_id)
    meta = {} if remove_only else _event_meta(db, ids)
    for block in np.unique(ids // BLOCK):
        mine = np.flatnonzero(ids // BLOCK == block)
        rows = db.execute(f"SELECT ids, signs, mags, started, ended, names, source, app "
                          f"FROM {table} WHERE block = ?", (int(block),)).fetchall()
        nbytes = signs.shape[1] if not remove_only else None
        if rows:
            nb = len(rows[0][1]) // max(1, len(rows[0][0]) // 8)
            old = Block.from_row(rows[0], nb)
            keep = ~np.isin(old.ids, ids[mine])
            names = list(old.names)
            cols = {"ids": [old.ids[keep]], "signs": [old.signs[keep]],
                    "mags": [old.mags[keep]], "started": [old.started[keep]],
                    "ended": [old.ended[keep]],
                    "source": [old.source[keep]], "app": [old.app[keep]]}
            nbytes = nb
        else:
            if remove_only:
                continue
            names = []
            cols = {k: [] for k in ("ids", "signs", "mags", "started", "ended", "source", "app")}
        if not remove_only:
            found = [n for n in mine if int(ids[n]) in meta]
            lookup = {name: i for i, name in enumerate(names)}

            def code(name: str | None) -> int:
                if name is None:
                    return -1
                if name not in lookup:
                    lookup[name] = len(names)
                    names.append(name)
                return lookup[name]

            cols["ids"].append(ids[found])
            cols["signs"].append(signs[found])
            cols["mags"].append(mags[found])
            m = [meta[int(ids[n])] for n in found]
            cols["started"].append(np.array([x[0] for x in m], np.float64))
            cols["ended"].append(np.array([x[1] for x in m], np.float64))
            cols["source"].append(np.array([code(x[2]) for x in m], np.uint16))
            cols["app"].append(np.array([code(x[3]) for x in m], np.int16))
        merged = {k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items()}
        if not len(merged["ids"]):
            db.execute(f"DELETE FROM {table} WHERE block = ?", (int(block),))
            continue
        order = np.argsort(merged["ids"], kind="stable")
        db.execute(
            f"INSERT OR REPLACE INTO {table}(block, ids, signs, mags, started, ended, names, "
            "source, app) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (int(block), merged["ids"][order].astype(np.int64).tobytes(),
             merged["signs"].reshape(-1, nbytes or 1)[order].astype(np.uint8).tobytes(),
             merged["mags"].reshape(-1, nbytes or 1)[order].astype(np.uint8).tobytes(),
             merged["started"][order].astype(np.float64).tobytes(),
             merged["ended"][order].astype(np.float64).tobytes(), json.dumps(names),
             merged["source"][order].astype(np.uint16).tobytes(),
             merged["app"][order].astype(np.int16).tobytes()))


def _event_meta(db: apsw.Connection, ids: np.ndarray) -> dict[int, tuple]:
    out: dict[int, tuple] = {}
    wanted = [int(i) for i in ids]
    for s in range(0, len(wanted), 500):
        part = wanted[s:s + 500]
        for i, started, ended, source, app in db.execute(
                f"SELECT id, started_at, ended_at, source, app FROM events "
                f"WHERE id IN ({','.join('?' * len(part))})", part):
            out[i] = (started, ended, source, app)
    return out


# -- reading ------------------------------------------------------------------------------------
def iter_blocks(db: apsw.Connection, space_id: int, dims: int) -> Iterator[Block]:
    """Every block of a space, newest ids first."""
    nbytes = math.ceil(dims / 8)
    for row in db.execute(f"SELECT ids, signs, mags, started, ended, names, source, app "
                          f"FROM {codes_table(space_id)} ORDER BY block DESC"):
        yield Block.from_row(row, nbytes)


def read_items(db: apsw.Connection, space_id: int, dims: int,
               ids: np.ndarray) -> Iterator[Block]:
    """The codes of ``ids`` (those still stored), one partial block per block row."""
    nbytes = math.ceil(dims / 8)
    ids = np.asarray(ids, np.int64)
    for block in np.unique(ids // BLOCK).tolist():
        rows = db.execute(f"SELECT ids, signs, mags, started, ended, names, source, app "
                          f"FROM {codes_table(space_id)} WHERE block = ?", (block,)).fetchall()
        if not rows:
            continue
        b = Block.from_row(rows[0], nbytes)
        pick = np.isin(b.ids, ids)
        if pick.any():
            yield Block(b.ids[pick], b.signs[pick], b.mags[pick], b.started[pick],
                        b.ended[pick], b.names, b.source[pick], b.app[pick])


def count(db: apsw.Connection, space_id: int) -> int:
    """Items in a space's blocks (8 bytes of id each)."""
    return int(db.execute(f"SELECT coalesce(sum(length(ids)), 0) / 8 "
                          f"FROM {codes_table(space_id)}").fetchall()[0][0])


def read_q8(db: apsw.Connection, space_id: int, ids: np.ndarray, dims: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids found, int8 vectors, scales) for ``ids``; forgotten ones are missing."""
    wanted = np.unique(np.asarray(ids, np.int64)).tolist()  # sorted: pages in order
    rows: list[tuple[int, bytes]] = []
    table = q8_table(space_id)
    for s in range(0, len(wanted), _Q8_PARTS):
        part = wanted[s:s + _Q8_PARTS]
        # A few fixed list lengths (padded with an id that matches nothing): the same
        # SQL text each search, so the connection's prepared statement is reused.
        size = max(32, 1 << (len(part) - 1).bit_length())
        rows += db.execute(f"SELECT id, v FROM {table} WHERE id IN ({_marks(size)})",
                           part + [-1] * (size - len(part))).fetchall()
    raw = np.frombuffer(b"".join([r[1] for r in rows]), np.uint8).reshape(len(rows), dims + 4)
    return (np.fromiter((r[0] for r in rows), np.int64, len(rows)),
            raw[:, :dims].view(np.int8), raw[:, dims:].copy().view(np.float32).ravel())


@functools.lru_cache(maxsize=16)
def _marks(n: int) -> str:
    return ",".join("?" * n)


# -- building for a store written before the codes existed ---------------------------------
def build(db: apsw.Connection, space_id: int, dims: int, vec_table: str,
          cancel: Cancel | None = None) -> int:
    """Create and fill a space's codes from its float vectors (one writer transaction).

    Returns the number of items coded. Seconds per 100k items; runs once per store.
    """
    from core.store import vector_load

    if exists(db, space_id):
        return count(db, space_id)
    # Created under the final names inside this transaction: other connections
    # see either nothing or the complete tables.
    create(db, space_id)
    try:
        return _fill(db, space_id, dims, vector_load.iter_vectors(
            db, vec_table, dims, fast=True, cancel=cancel))
    except vector_load.LayoutMismatch:
        # Rows written so far are replaced: the slow way rewrites every item.
        return _fill(db, space_id, dims, vector_load.iter_vectors(
            db, vec_table, dims, fast=False, cancel=cancel))


def _fill(db: apsw.Connection, space_id: int, dims: int,
          source: Iterator[tuple[np.ndarray, np.ndarray]]) -> int:
    done = 0
    for ids, vecs in source:
        order = np.argsort(ids, kind="stable")
        ids, vecs = ids[order], vecs[order]
        q, scale = int8(vecs)
        db.executemany(f"INSERT OR REPLACE INTO {q8_table(space_id)}(id, v) VALUES (?, ?)",
                       ((int(i), q[n].tobytes() + scale[n].tobytes())
                        for n, i in enumerate(ids.tolist())))
        signs, mags = signs_and_mags(vecs)
        _update_blocks(db, space_id, ids, signs, mags)
        done += len(ids)
    return done
