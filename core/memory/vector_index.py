"""The event index's bit scan and 2-bit scoring over memory vectors, in RAM.

Why: ``search_memories`` ran sqlite-vec's exact float KNN over every memory on
each query — 22 ms p50 with the 27k memories of the 100k-item benchmark store,
most of a hybrid search's time. Long-running processes (app, daemon) keep this
index instead: the same sign-bit scan and 2-bit scoring as ``VectorIndex``,
and the final re-rank from int8 copies held in RAM (memories are few, ≈400 B
each: ≈11 MB at 27k), so nothing extra is written to the store. It is built
from the float vectors in the encrypted store (under a second at 27k) and kept
up to date from ``vector_changes`` like the event index: new and re-embedded
memories are read back by id. Forgotten memories (their rows gone) and
superseded ones are dropped by ``search_memories`` when it reads the rows, as
they were with the exact search.
"""
from __future__ import annotations

import threading
from typing import Iterator

import apsw
import numpy as np

from core.memory import rows
from core.progress import Cancel
from core.store import vector_changes, vector_codes, vector_load
from core.store.vector_index import VectorIndex
from core.store.vectors import Space

RERANK = 500  # memory search ranks ~100 neighbours: re-rank well beyond that
_LOAD_BLOCK = 1024
SCAN_CACHE = -2048  # KiB of page cache while loading


class MemoryIndex(VectorIndex):
    """A ``VectorIndex`` over one space's memory vectors, int8 re-rank from RAM."""

    COLLECTION = rows.COLLECTION

    def __init__(self, space: Space, collection: str = rows.COLLECTION, *,
                 candidates: int = 2000, rerank: int = RERANK) -> None:
        super().__init__(space, collection, candidates=candidates, rerank=rerank)
        # Memory id → row of _q8 / _scale (-1: none). An array, not a dict: the re-rank
        # looks up 500 ids per search (a dict of Python ints cost ≈0.3 ms of that).
        self._row = np.full(0, -1, np.int32)
        self._q8 = np.zeros((0, space.dims), np.int8)
        self._scale = np.zeros(0, np.float32)
        self._used = 0
        self._q8_lock = threading.Lock()

    def fill(self, db: apsw.Connection, *, cancel: Cancel | None = None) -> None:
        """Read every memory vector of the space from the store (the float table)."""
        with self._lock:
            self._db = db
            own = not db.in_transaction
            if own:
                db.execute("BEGIN")
            try:
                self._seq = vector_changes.last_seq(db)
                if rows.has_vector_table(db, self.space):
                    # One pass over ≈1.5 KB of floats per memory: caching those pages
                    # only grew the heap (≈45 MB at 27k, kept by malloc after the load).
                    cache = db.execute("PRAGMA cache_size").fetchall()[0][0]
                    db.execute(f"PRAGMA cache_size={SCAN_CACHE}")
                    try:
                        self._fill_from(db, True, cancel)
                    except vector_load.LayoutMismatch:
                        # A sqlite-vec layout the fast reader does not know: the slow path.
                        self._reset()
                        self._fill_from(db, False, cancel)
                    finally:
                        db.execute(f"PRAGMA cache_size={int(cache)}")
            finally:
                if own:
                    db.execute("COMMIT")
            self.complete = True

    def _reset(self) -> None:
        self._arrays = type(self._arrays).empty(0, self.space.dims)
        self._sources, self._apps, self._max_id, self._dead = {}, {}, 0, 0
        with self._q8_lock:
            self._row, self._used = np.full(0, -1, np.int32), 0

    def _fill_from(self, db: apsw.Connection, fast: bool, cancel: Cancel | None) -> None:
        table = self.space.table(self.COLLECTION)
        # Allocated once for all (growing by copies left garbage behind).
        total = db.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
        cap = total + total // 16 + 1024
        self._arrays = type(self._arrays).empty(cap, self.space.dims)
        with self._q8_lock:
            self._q8 = np.zeros((cap, self.space.dims), np.int8)
            self._scale = np.zeros(cap, np.float32)
        # Small blocks: 32k float vectors at once (50 MB) left the process ≈100 MB larger
        # for good (freed, but not given back by malloc).
        for ids, vecs in vector_load.iter_vectors(db, table, self.space.dims, fast=fast,
                                                  cancel=cancel, block=_LOAD_BLOCK):
            self._append(self._encode(ids, vecs))

    def _encode(self, ids: np.ndarray, vecs: np.ndarray) -> vector_codes.Block:
        """Codes of ``ids`` as a block (no times or sources: memories filter by row);
        their int8 copies go into RAM first, so a published slot can be re-ranked."""
        v = np.ascontiguousarray(vecs, dtype=np.float32)
        signs, mags = vector_codes.signs_and_mags(v)
        q, scale = vector_codes.int8(v)
        self._keep_q8(np.asarray(ids, np.int64), q, scale)
        m = len(ids)
        zeros = np.zeros(m, np.float64)
        return vector_codes.Block(np.asarray(ids, np.int64), signs, mags, zeros, zeros, [],
                                  np.zeros(m, np.uint16), np.full(m, -1, np.int16))

    def _keep_q8(self, ids: np.ndarray, q: np.ndarray, scale: np.ndarray) -> None:
        with self._q8_lock:
            need = self._used + len(ids)
            if need > len(self._scale):
                cap = max(need, 1024, len(self._scale) * 5 // 4)
                q8 = np.zeros((cap, self.space.dims), np.int8)
                sc = np.zeros(cap, np.float32)
                q8[:self._used], sc[:self._used] = self._q8[:self._used], self._scale[:self._used]
                self._q8, self._scale = q8, sc  # searches keep the old arrays meanwhile
            sl = slice(self._used, need)
            self._q8[sl], self._scale[sl] = q, scale
            # A re-embedded memory gets a new row; its old one is left unused.
            top = int(ids.max()) + 1 if len(ids) else 0
            if top > len(self._row):
                where = np.full(max(top, len(self._row) * 5 // 4, 1024), -1, np.int32)
                where[:len(self._row)] = self._row
                self._row = where  # published whole: searches see the old or the new
            self._row[ids] = np.arange(self._used, need, dtype=np.int32)
            self._used = need

    def _read_blocks(self, db: apsw.Connection, ids: np.ndarray
                     ) -> Iterator[vector_codes.Block]:
        table = self.space.table(self.COLLECTION)
        for s in range(0, len(ids), _LOAD_BLOCK):
            found, vecs = vector_load.read_some(db, table, self.space.dims, ids[s:s + _LOAD_BLOCK])
            if len(found):
                yield self._encode(found, vecs)

    def _read_q8(self, db: apsw.Connection, ids: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        q8, scale, where = self._q8, self._scale, self._row
        ids = np.asarray(ids, np.int64)
        at = np.full(len(ids), -1, np.intp)
        known = (ids >= 0) & (ids < len(where))
        at[known] = where[ids[known]]
        ok = (at >= 0) & (at < len(scale))
        return ids[ok], q8[at[ok]], scale[at[ok]]

    def nbytes(self) -> int:
        """RAM held by the codes and the int8 copies."""
        return super().nbytes() + self._q8.nbytes + self._scale.nbytes + self._row.nbytes


__all__ = ["MemoryIndex"]
