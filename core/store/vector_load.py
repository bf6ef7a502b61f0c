"""Reading vectors and item metadata out of the store for the in-memory index.

A full scan through the vec0 virtual table costs ≈45 µs per row (≈45 s at 1M
items), because each row is read from its chunk blob separately. Reading the
chunk blobs of vec0's shadow tables directly is ≈10× faster (≈0.6 s per 100k).
That layout is sqlite-vec's (checked against v0.1.x: ``<t>_chunks`` holds
per-chunk rowid arrays and LSB-first validity bitmaps, ``<t>_vector_chunks00``
the float blobs), so it is verified before use and after (the count must match
``<t>_rowids``), with the virtual-table scan as the fallback.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Iterator

import apsw
import numpy as np

from core.progress import Cancel

log = logging.getLogger(__name__)

_BLOCK = 65_536


class LayoutMismatch(Exception):
    """vec0's shadow tables are not laid out as this reader expects."""


@dataclass(frozen=True)
class Meta:
    """Filter columns of items, sorted by id; names already turned into codes."""

    ids: np.ndarray        # int64, ascending
    started: np.ndarray    # float64
    ended: np.ndarray      # float64
    source: np.ndarray     # int16
    app: np.ndarray        # int32, -1 for none

    def positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found mask over ``ids``, positions in this Meta of the found ones)."""
        pos = np.searchsorted(self.ids, ids)
        pos_c = np.minimum(pos, max(len(self.ids) - 1, 0))
        found = (pos < len(self.ids)) & (self.ids[pos_c] == ids) if len(self.ids) else \
            np.zeros(len(ids), bool)
        return found, pos_c[found]


_META_SQL = {"events": "SELECT id, started_at, ended_at, source, app FROM events"}


def read_meta(db: apsw.Connection, collection: str, sources: dict[str, int],
              apps: dict[str, int], ids: np.ndarray | None = None) -> Meta:
    """Metadata of all items of ``collection`` (or only ``ids``); new names get codes."""
    base = _META_SQL[collection]
    if ids is None:
        cursors = [db.execute(base + " ORDER BY id")]
    else:
        wanted = [int(i) for i in np.unique(ids)]
        cursors = [db.execute(f"{base} WHERE id IN ({','.join('?' * len(part))}) ORDER BY id",
                              part) for part in _parts(wanted, 500)]
    cols: list[list] = [[], [], [], [], []]
    for cursor in cursors:
        while rows := list(itertools.islice(cursor, _BLOCK)):
            i, s, e, src, app = zip(*rows)
            cols[0].append(np.array(i, np.int64))
            cols[1].append(np.array(s, np.float64))
            cols[2].append(np.array(e, np.float64))
            cols[3].append(np.array([sources.setdefault(x, len(sources)) for x in src],
                                    np.int16))
            cols[4].append(np.array([-1 if x is None else apps.setdefault(x, len(apps))
                                     for x in app], np.int32))
    dtypes = (np.int64, np.float64, np.float64, np.int16, np.int32)
    arrays = [np.concatenate(c) if c else np.zeros(0, t) for c, t in zip(cols, dtypes)]
    return Meta(*arrays)


def iter_vectors(db: apsw.Connection, table: str, dims: int, *, fast: bool = True,
                 cancel: Cancel | None = None, block: int = 32_768
                 ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every (ids, float32 vectors) of a vec0 table, in blocks of about ``block``.

    Call inside a read transaction when ``fast``: the final count check must
    see the same snapshot as the scan.
    """
    count = 0
    source = (_shadow_blocks(db, table, dims, block) if fast
              else _vtab_blocks(db, table, dims, min(block, 4096)))
    for ids, vecs in source:
        if cancel is not None:
            cancel.raise_if_cancelled("Loading vectors was stopped.")
        count += len(ids)
        yield ids, vecs
    if fast:
        expected = db.execute(f'SELECT count(*) FROM "{table}_rowids"').fetchall()[0][0]
        if expected != count:
            raise LayoutMismatch(f"{table}: read {count} vectors, table has {expected}")


def _shadow_blocks(db: apsw.Connection, table: str, dims: int, block: int
                   ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    try:
        info = dict(db.execute(f'SELECT key, value FROM "{table}_info"').fetchall())
        cursor = db.execute(
            f'SELECT c.rowids, c.validity, v.vectors FROM "{table}_chunks" c '
            # No ORDER BY: sorting would copy every blob into a temp b-tree (1.5 GB at 1M).
            f'JOIN "{table}_vector_chunks00" v ON v.rowid = c.chunk_id')
    except apsw.SQLError as exc:
        raise LayoutMismatch(str(exc)) from exc
    if (info.get("CREATE_VERSION_MAJOR"), info.get("CREATE_VERSION_MINOR")) != (0, 1):
        raise LayoutMismatch(f"{table}: written by sqlite-vec {info.get('CREATE_VERSION')}")
    ids_parts: list[np.ndarray] = []
    vec_parts: list[np.ndarray] = []
    held = 0
    for rowids, validity, blob in cursor:
        ids = np.frombuffer(rowids, np.int64)
        if len(blob) != len(ids) * dims * 4 or len(validity) * 8 < len(ids):
            raise LayoutMismatch(f"{table}: unexpected chunk sizes")
        valid = np.unpackbits(np.frombuffer(validity, np.uint8),
                              bitorder="little")[:len(ids)].astype(bool)
        ids_parts.append(ids[valid])
        vec_parts.append(np.frombuffer(blob, np.float32).reshape(len(ids), dims)[valid])
        held += len(ids_parts[-1])
        # Hand out blocks of ≈32k: per-call numpy overhead on 1k chunks adds up.
        if held >= block:
            yield np.concatenate(ids_parts), np.concatenate(vec_parts)
            ids_parts, vec_parts, held = [], [], 0
    if held:
        yield np.concatenate(ids_parts), np.concatenate(vec_parts)


def _vtab_blocks(db: apsw.Connection, table: str, dims: int, block: int = 4096
                 ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    cursor = db.execute(f'SELECT rowid, embedding FROM "{table}"')
    while rows := list(itertools.islice(cursor, block)):
        ids = np.array([r[0] for r in rows], np.int64)
        vecs = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), dims)
        yield ids, vecs


def read_some(db: apsw.Connection, table: str, dims: int,
              ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectors of ``ids`` (those that still exist), by point lookups.

    One query per id: vec0 answers ``rowid = ?`` from its rowid table, but an
    ``IN (...)`` list makes it scan.
    """
    found_ids, blobs = [], []
    for i in ids:
        rows = db.execute(f'SELECT embedding FROM "{table}" WHERE rowid = ?',
                          (int(i),)).fetchall()
        if rows:
            found_ids.append(int(i))
            blobs.append(rows[0][0])
    vecs = np.frombuffer(b"".join(blobs), np.float32).reshape(len(blobs), dims)
    return np.array(found_ids, np.int64), vecs


def _parts(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
