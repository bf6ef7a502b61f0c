"""An in-memory vector index for fast semantic search at a million items.

Why (measured on this 2-core machine, 1M MiniLM-like vectors, see
``tests/benchmarks/bench_search.py``): sqlite-vec's exact float KNN reads all
1.5 GB of vectors per query: ≈0.3 s if they all fit in SQLite's page cache
(1.5 GB of RAM), 2–6 s with Engram's 128 MB cache. Fetching float vectors
back from vec0 for a re-rank costs up to ≈1 ms per vector (each read walks a
1.5 MB chunk blob), so "quantized prefilter, float re-rank in SQL" cannot be
fast either. This index keeps, per item, in RAM:

* the sign bits of the vector (48 B at 384 dims), stored word-major so a scan
  is 6 XOR + popcount passes over contiguous uint64 columns (≈10 ms at 1M);
* an int8 copy with a per-vector scale (384 B), to re-rank the best
  ``candidates`` codes by cosine with the float query (asymmetric: the query
  is never quantized). recall@10 against exact float KNN ≈0.97 at 1M with
  2000 candidates; the misses are near-ties (the returned top-10's mean cosine
  is 0.9999 of the exact top-10's). int4 (192 B) gave 0.77, sign bits alone 0.36;
* start/end time, source and app, so filters are numpy masks, not SQL.

≈470 B per item plus 1/16 room to grow: ≈500 MB at 1M items, ≈50 MB at 100k.
Searches read a published snapshot of the arrays and never wait for writes;
``catch_up`` applies what committed since (``vector_changes`` log), from any
process.
"""
from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Sequence

import apsw
import numpy as np

from core.progress import Cancel
from core.records import SearchFilters, to_epoch
from core.store import vector_changes, vector_load
from core.store.vectors import Space

log = logging.getLogger(__name__)

CANDIDATES = 2000        # codes re-ranked per query (recall vs N in the benchmark)
RELOAD_ABOVE = 50_000    # catching up on more changes than this: reload in full
_SCAN_CHUNK = 1 << 15    # items per hamming block: the temporaries stay in L2


@dataclass
class _Arrays:
    """Columns of the index; slots ``[0, n)`` are in use, ``ids == -1`` is a removed slot."""

    ids: np.ndarray       # int64 (cap,)
    codes: np.ndarray     # uint64 (words, cap): sign bits, word-major
    vecs: np.ndarray      # int8 (cap, dims)
    scale: np.ndarray     # float32 (cap,): int8 * scale is the unit vector
    started: np.ndarray   # float64 (cap,) epoch seconds
    ended: np.ndarray     # float64 (cap,)
    source: np.ndarray    # int16 (cap,) codes into VectorIndex._sources
    app: np.ndarray       # int32 (cap,) codes, -1 for none
    n: int = 0

    @classmethod
    def empty(cls, cap: int, dims: int) -> "_Arrays":
        words = math.ceil(dims / 64)
        return cls(np.full(cap, -1, np.int64), np.zeros((words, cap), np.uint64),
                   np.zeros((cap, dims), np.int8), np.zeros(cap, np.float32),
                   np.zeros(cap, np.float64), np.zeros(cap, np.float64),
                   np.zeros(cap, np.int16), np.full(cap, -1, np.int32))

    @property
    def cap(self) -> int:
        return len(self.ids)

    def grown(self, need: int) -> "_Arrays":
        """A copy with room for at least ``need`` slots."""
        out = _Arrays.empty(max(need, 4096, self.cap * 5 // 4), self.vecs.shape[1])
        n = self.n
        for name in ("ids", "vecs", "scale", "started", "ended", "source", "app"):
            getattr(out, name)[:n] = getattr(self, name)[:n]
        out.codes[:, :n] = self.codes[:, :n]
        out.n = n
        return out

    def nbytes(self) -> int:
        return sum(getattr(self, f).nbytes for f in
                   ("ids", "codes", "vecs", "scale", "started", "ended", "source", "app"))


def encode(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sign-bit codes (word-major uint64), int8 vectors and their scales."""
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    dims = v.shape[1]
    words = math.ceil(dims / 64)
    # LSB-first, as sqlite-vec packs bit vectors; pad to whole 64-bit words.
    bits = np.packbits(v > 0, axis=1, bitorder="little")
    padded = np.zeros((len(v), words * 8), np.uint8)
    padded[:, :bits.shape[1]] = bits
    codes = padded.view("<u8").T.copy()
    peak = np.maximum(v.max(axis=1), -v.min(axis=1))
    peak[peak == 0] = 1.0
    x = v * (127.0 / peak)[:, None]
    np.rint(x, out=x)
    q = x.astype(np.int8)
    # Fold the norm into the scale so int8 * scale has unit length: the
    # re-rank's dot product is then the cosine.
    norms = np.sqrt(np.einsum("ij,ij->i", q, q, dtype=np.float32))
    norms[norms == 0] = 1.0
    return codes, q, (1.0 / norms).astype(np.float32)


def hamming(codes: np.ndarray, query: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Bit distances between ``query`` (words,) and each column of ``codes``.

    Summed in uint8: a distance ≥ 256 wraps. With 384 bits that needs an angle
    over 120° to the query (cosine < −0.5), which sentence embeddings don't
    produce; a wrapped item would only take a candidate slot, and the re-rank
    scores it correctly.
    """
    words, m = codes.shape
    tmp = np.empty(min(m, _SCAN_CHUNK), np.uint64)
    cnt = np.empty(min(m, _SCAN_CHUNK), np.uint8)
    for s in range(0, m, _SCAN_CHUNK):
        e = min(m, s + _SCAN_CHUNK)
        acc, t, c = out[s:e], tmp[:e - s], cnt[:e - s]
        np.bitwise_xor(codes[0, s:e], query[0], out=t)
        np.bitwise_count(t, out=acc)
        for w in range(1, words):
            np.bitwise_xor(codes[w, s:e], query[w], out=t)
            np.bitwise_count(t, out=c)
            np.add(acc, c, out=acc)
    return out


def nearest_codes(dist: np.ndarray, n: int) -> np.ndarray:
    """Positions of (about) the ``n`` smallest distances, unordered.

    A histogram threshold is ≈3× faster than ``argpartition`` on 1M uint8s;
    ties at the threshold may add a few more, capped at 2n.
    """
    if len(dist) <= n:
        return np.arange(len(dist))
    cum = np.cumsum(np.bincount(dist, minlength=256))
    threshold = int(np.searchsorted(cum, n))
    picked = np.flatnonzero(dist <= threshold)
    if len(picked) > 2 * n:
        below = np.flatnonzero(dist < threshold)
        ties = np.flatnonzero(dist == threshold)[: n - len(below)]
        picked = np.concatenate([below, ties])
    return picked


class NeedsReload(Exception):
    """The change log no longer reaches back to this index's state."""


class VectorIndex:
    """Sign-bit scan + int8 re-rank over one vector table of one space, in RAM.

    Build with ``VectorIndex.load(db, space)`` (seconds at 1M items: run it in
    the background). ``search`` is safe from any number of threads; it first
    applies changes committed since the last call (cheap when there are none).
    """

    def __init__(self, space: Space, collection: str = "events", *,
                 candidates: int = CANDIDATES) -> None:
        self.space = space
        self.collection = collection
        self.candidates = candidates
        self._arrays = _Arrays.empty(0, space.dims)
        self._sources: dict[str, int] = {}
        self._apps: dict[str, int] = {}
        self._seq = 0
        self._max_id = 0
        self._dead = 0
        self._lock = threading.Lock()  # one catch-up at a time; searches never take it

    # -- building -----------------------------------------------------------------
    @classmethod
    def load(cls, db: apsw.Connection, space: Space, collection: str = "events", *,
             candidates: int = CANDIDATES,
             cancel: Cancel | None = None) -> "VectorIndex":
        """Read every vector of ``space`` from the store into a new index.

        Raises ``core.errors.Cancelled`` once ``cancel`` is set.
        """
        table = space.table(collection)
        for fast in (True, False):
            index = cls(space, collection, candidates=candidates)
            # One snapshot for the log position, the metadata and the vectors;
            # whatever commits later is replayed by the first catch-up.
            own = not db.in_transaction
            if own:
                db.execute("BEGIN")
            try:
                index._seq = vector_changes.last_seq(db)
                meta = vector_load.read_meta(db, collection, index._sources, index._apps)
                # At most one vector per item: allocate once, not by growing.
                index._arrays = _Arrays.empty(len(meta.ids) + len(meta.ids) // 16 + 4096,
                                              space.dims)
                for ids, vecs in vector_load.iter_vectors(db, table, space.dims, fast=fast,
                                                          cancel=cancel):
                    index._append(ids, vecs, meta)
                return index
            except vector_load.LayoutMismatch as exc:
                log.warning("reading vectors the slow way: %s", exc)
            finally:
                if own:
                    db.execute("COMMIT")
        raise AssertionError("unreachable")

    def _append(self, ids: np.ndarray, vecs: np.ndarray, meta: vector_load.Meta) -> None:
        """Add items; their filter columns come from ``meta``. Publishes at the end."""
        found, pos = meta.positions(ids)
        ids, vecs = ids[found], vecs[found]
        m = len(ids)
        if not m:
            return
        a = self._arrays
        n = a.n
        if n + m > a.cap:
            # A copy (≈0.3 s at 1M items) once per quarter of growth; searches
            # keep using the old arrays until the new ones are published.
            a = a.grown(n + m)
        sl = slice(n, n + m)
        codes, q, scale = encode(vecs)
        a.ids[sl], a.codes[:, sl], a.vecs[sl], a.scale[sl] = ids, codes, q, scale
        a.started[sl], a.ended[sl] = meta.started[pos], meta.ended[pos]
        a.source[sl], a.app[sl] = meta.source[pos], meta.app[pos]
        a.n = n + m  # publish: searches read n once, so they never see half a row
        self._arrays = a
        self._max_id = max(self._max_id, int(ids.max()))

    # -- keeping up -----------------------------------------------------------------
    def catch_up(self, db: apsw.Connection, *, wait: bool = False) -> None:
        """Apply vector writes and forgets committed since the last call.

        Without ``wait``, returns at once if another thread is already catching
        up (searches then use the state of a moment ago). Raises NeedsReload
        when too much changed to catch up cheaply.
        """
        if not self._lock.acquire(blocking=wait):
            return
        try:
            if vector_changes.last_seq(db) <= self._seq:
                return
            batch = vector_changes.since(db, self.collection, self.space.id, self._seq)
            if not batch.complete or len(batch.put) > RELOAD_ABOVE:
                raise NeedsReload(f"{len(batch.put)} new vectors")
            put = np.asarray(batch.put, np.int64)
            stale = list(batch.removed)
            if len(put) and int(put.min()) <= self._max_id:
                stale += batch.put  # re-written vectors replace their old slot
            self._remove(stale)
            if len(put):
                ids, vecs = vector_load.read_some(db, self.space.table(self.collection),
                                                  self.space.dims, put)
                meta = vector_load.read_meta(db, self.collection, self._sources,
                                             self._apps, ids)
                self._append(ids, vecs, meta)
            self._seq = batch.last_seq
        finally:
            self._lock.release()

    def _remove(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        a = self._arrays
        n = a.n
        gone = np.flatnonzero(np.isin(a.ids[:n], np.asarray(ids, np.int64)))
        a.ids[gone] = -1
        self._dead += len(gone)
        if self._dead > max(4096, n // 4):
            self._compact()

    def _compact(self) -> None:
        a = self._arrays
        live = np.flatnonzero(a.ids[:a.n] >= 0)
        out = _Arrays.empty(len(live) + len(live) // 16 + 4096, a.vecs.shape[1])
        for name in ("ids", "vecs", "scale", "started", "ended", "source", "app"):
            getattr(out, name)[:len(live)] = getattr(a, name)[live]
        out.codes[:, :len(live)] = a.codes[:, live]
        out.n = len(live)
        self._arrays = out
        self._dead = 0

    # -- reading -----------------------------------------------------------------------
    def __len__(self) -> int:
        return self._arrays.n - self._dead

    def nbytes(self) -> int:
        """RAM held by the index's arrays."""
        return self._arrays.nbytes()

    def search(self, query: np.ndarray, k: int,
               filters: SearchFilters | None = None) -> list[tuple[int, float]]:
        """Approximate nearest items: (id, cosine distance), nearest first."""
        a = self._arrays
        n = a.n
        q = np.asarray(query, np.float32).ravel()
        norm = float(np.linalg.norm(q))
        if n == 0 or k <= 0 or norm == 0:
            return []
        q = q / norm
        qcode = encode(q[None, :])[0][:, 0]
        sel = self._selection(a, n, filters)
        size = n if sel is None else len(sel)
        if size <= self.candidates:
            cand = np.arange(n) if sel is None else sel
        else:
            codes = a.codes[:, :n] if sel is None else a.codes[:, sel]
            dist = hamming(codes, qcode, np.empty(size, np.uint8))
            near = nearest_codes(dist, self.candidates)
            cand = near if sel is None else sel[near]
        ids = a.ids[cand]
        cand = cand[ids >= 0]
        # einsum, not ``@``: a BLAS matvec hands this small product to
        # OpenBLAS's thread pool, which on 2 busy cores took 10–20 ms instead of 0.2.
        sims = np.einsum("ij,j->i", a.vecs[cand].astype(np.float32), q) * a.scale[cand]
        if len(sims) > k:
            top = np.argpartition(-sims, k - 1)[:k]
        else:
            top = np.arange(len(sims))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(a.ids[cand[i]]), float(1.0 - sims[i])) for i in top]

    def _selection(self, a: _Arrays, n: int, f: SearchFilters | None) -> np.ndarray | None:
        if f is None or not (f.since or f.until or f.sources or f.apps):
            return None
        mask = np.ones(n, bool)
        if f.since is not None:
            mask &= a.ended[:n] >= to_epoch(f.since)
        if f.until is not None:
            mask &= a.started[:n] < to_epoch(f.until)
        if f.sources:
            mask &= np.isin(a.source[:n], [self._sources.get(s, -2) for s in f.sources])
        if f.apps:
            mask &= np.isin(a.app[:n], [self._apps.get(p, -2) for p in f.apps])
        return np.flatnonzero(mask)

    def id_span(self, filters: SearchFilters) -> tuple[int, int] | None:
        """Lowest and highest id of indexed items inside the filters' time range.

        Lets keyword search seek to a time range: ids grow in capture order, so
        the span is tight for normal data and merely wide for imported history.
        An open end of the range stays open (items newer than the last
        catch-up are outside the index). None when there is no time filter or
        no indexed item in range.
        """
        if filters.since is None and filters.until is None:
            return None
        a = self._arrays
        sel = self._selection(a, a.n, SearchFilters(since=filters.since, until=filters.until))
        if sel is None:
            return None
        ids = a.ids[sel]
        ids = ids[ids >= 0]
        if not len(ids):
            return None
        lo = int(ids.min()) if filters.since is not None else 0
        hi = int(ids.max()) if filters.until is not None else 2**63 - 1
        return lo, hi
