"""An in-memory vector index for fast semantic search at a million items.

Why (measured on this 2-core machine, see ``tests/benchmarks/bench_search.py``
and ``bench_footprint.py``): sqlite-vec's exact float KNN reads all 1.5 GB of
vectors per query at 1M items (0.3–6 s), so long-running processes rank in
RAM. What they keep there is only what ranking needs, ≈125 B per item:

* the sign bits of the vector (48 B at 384 dims), word-major so a scan is 6
  XOR + popcount passes over contiguous uint64 columns (≈10 ms at 1M): the
  best ``candidates`` by bit distance go on;
* one more bit per dimension, "magnitude above the vector's median" (48 B):
  with the signs it is a 2-bit code, scored against the float query through
  per-byte lookup tables; the best ``rerank`` go on;
* ids, start/end time, source and app, so filters are numpy masks, not SQL.

The last step re-ranks those few hundred by the int8 copies kept in the
encrypted store (``vector_codes``), read back by id. No float copy of the
store is ever made. The codes are loaded from ``vector_codes``' blocks, newest
first, in seconds at 1M items; searches during the load use what is loaded.
Searches read a published snapshot of the arrays and never wait for writes;
``catch_up`` applies what committed since (``vector_changes`` log), from any
process.
"""
from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Any, Iterator, Self, Sequence

import apsw
import numpy as np

from core.progress import Cancel
from core.records import SearchFilters, to_epoch
from core.store import vector_changes, vector_codes
from core.store.vectors import Space

log = logging.getLogger(__name__)

CANDIDATES = 2000        # at most this many codes go from the bit scan to the 2-bit scoring,
CANDIDATE_SHARE = 100    # and 1 in this many of those scanned, but at least
MIN_CANDIDATES = 1000    # this many (bench_footprint: 1000 keep recall@10 0.99 at 100k)
RERANK = 200             # of those, re-ranked by their int8 vectors from the store
RELOAD_ABOVE = 50_000    # catching up on more changes than this: reload in full
_SCAN_CHUNK = 1 << 15    # items per hamming block: the temporaries stay in L2
_SAMPLE_STEP = 16        # nearest_codes bounds its threshold from every 16th distance
# Mean |x| below and above the median of |x| for a Gaussian (half-normal
# conditional means): the two magnitudes a 2-bit code stands for.
_LOW, _HIGH = 0.325, 1.271
_BITS = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(np.float32)  # (256, 8)


@dataclass
class _Arrays:
    """Columns of the index; slots ``[0, n)`` are in use, ``ids == -1`` is a removed slot."""

    ids: np.ndarray       # int64 (cap,)
    codes: np.ndarray     # uint64 (words, cap): sign bits, word-major
    mags: np.ndarray      # uint8 (cap, bytes): above-median-magnitude bits
    started: np.ndarray   # float64 (cap,) epoch seconds
    ended: np.ndarray     # float64 (cap,)
    source: np.ndarray    # int16 (cap,) codes into VectorIndex._sources
    app: np.ndarray       # int32 (cap,) codes, -1 for none
    n: int = 0

    _ROWS = ("ids", "mags", "started", "ended", "source", "app")

    @classmethod
    def empty(cls, cap: int, dims: int) -> "_Arrays":
        words = math.ceil(dims / 64)
        return cls(np.full(cap, -1, np.int64), np.zeros((words, cap), np.uint64),
                   np.zeros((cap, math.ceil(dims / 8)), np.uint8),
                   np.zeros(cap, np.float64), np.zeros(cap, np.float64),
                   np.zeros(cap, np.int16), np.full(cap, -1, np.int32))

    @property
    def cap(self) -> int:
        return len(self.ids)

    def grown(self, need: int, dims: int) -> "_Arrays":
        """A copy with room for at least ``need`` slots."""
        out = _Arrays.empty(max(need, 4096, self.cap * 5 // 4), dims)
        n = self.n
        for name in self._ROWS:
            getattr(out, name)[:n] = getattr(self, name)[:n]
        out.codes[:, :n] = self.codes[:, :n]
        out.n = n
        return out

    def nbytes(self) -> int:
        return sum(getattr(self, f).nbytes for f in self._ROWS + ("codes",))


def encode(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sign-bit codes (word-major uint64), int8 vectors and their scales."""
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    signs, _ = vector_codes.signs_and_mags(v)
    q, scale = vector_codes.int8(v)
    return words_of(signs), q, scale


def words_of(signs: np.ndarray) -> np.ndarray:
    """Packed sign bytes (n, bytes) as word-major uint64 (words, n), zero-padded."""
    n, nbytes = signs.shape
    words = math.ceil(nbytes / 8)
    padded = np.zeros((n, words * 8), np.uint8)
    padded[:, :nbytes] = signs
    return padded.view("<u8").T.copy()


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
    ties at the threshold may add a few more, capped at 2n. On a large scan the
    histogram of every distance (1.3 ms at 1M: bincount widens them to int64) is
    only taken over those below a bound read off every ``_SAMPLE_STEP``-th one:
    the same threshold, the same positions.
    """
    if len(dist) <= n:
        return np.arange(len(dist))
    pos = None
    if len(dist) >= 8 * n and len(dist) >= 1 << 16:
        cum = np.cumsum(np.bincount(dist[::_SAMPLE_STEP], minlength=256))
        bound = int(np.searchsorted(cum, 2 * n // _SAMPLE_STEP + 1))
        pos = np.flatnonzero(dist <= bound)
        if len(pos) < n:
            pos = None  # the sample misled: the histogram of every distance
    sub = dist if pos is None else dist[pos]
    cum = np.cumsum(np.bincount(sub, minlength=256))
    threshold = int(np.searchsorted(cum, n))
    picked = np.flatnonzero(sub <= threshold)
    if len(picked) > 2 * n:
        below = np.flatnonzero(sub < threshold)
        ties = np.flatnonzero(sub == threshold)[: n - len(below)]
        picked = np.concatenate([below, ties])
    return picked if pos is None else pos[picked]


class NeedsReload(Exception):
    """The change log no longer reaches back to this index's state."""


class VectorIndex:
    """Bit scan, 2-bit scoring and int8 re-rank over one space's events, in RAM.

    Build with ``VectorIndex.load(db, space)`` (seconds at 1M items: run it in
    the background, or ``fill`` an index that searches already use). ``search``
    is safe from any number of threads; ``catch_up`` applies changes committed
    since the load.
    """

    COLLECTION = vector_codes.COLLECTION  # subclasses index other collections

    def __init__(self, space: Space, collection: str = "events", *,
                 candidates: int = CANDIDATES, rerank: int = RERANK) -> None:
        if collection != self.COLLECTION:
            raise ValueError(f"no in-memory index for {collection!r}")
        self.space = space
        self.collection = collection
        self.candidates = candidates
        self.rerank = rerank
        self.complete = False  # every item of the load's snapshot is in
        self._arrays = _Arrays.empty(0, space.dims)
        self._sources: dict[str, int] = {}
        self._apps: dict[str, int] = {}
        self._seq = 0
        self._max_id = 0
        self._dead = 0
        self._db: apsw.Connection | None = None
        self._lock = threading.Lock()  # one load or catch-up at a time; searches never take it

    # -- building -----------------------------------------------------------------
    @classmethod
    def load(cls, db: apsw.Connection, space: Space, *, cancel: Cancel | None = None,
             **options: Any) -> Self:
        """Read a space's items from the store into a new index (``cls(space, **options)``).

        For events the codes must exist (``vector_codes.exists``; ``vector_codes.build``
        makes them for an older store). Raises ``core.errors.Cancelled`` once
        ``cancel`` is set.
        """
        index = cls(space, **options)
        index.fill(db, cancel=cancel)
        return index

    def fill(self, db: apsw.Connection, *, cancel: Cancel | None = None) -> None:
        """Load every item, newest first; searches meanwhile see what is loaded."""
        with self._lock:
            self._db = db
            # One snapshot for the log position and the codes; whatever commits
            # later is replayed by the first catch-up.
            own = not db.in_transaction
            if own:
                db.execute("BEGIN")
            try:
                self._seq = vector_changes.last_seq(db)
                total = vector_codes.count(db, self.space.id)
                # Allocate once (plus room to grow), never by growing during the load.
                self._arrays = _Arrays.empty(total + total // 16 + 4096, self.space.dims)
                for block in vector_codes.iter_blocks(db, self.space.id, self.space.dims):
                    if cancel is not None:
                        cancel.raise_if_cancelled("Loading vectors was stopped.")
                    self._append(block)
            finally:
                if own:
                    db.execute("COMMIT")
            self.complete = True

    def _append(self, block: vector_codes.Block) -> None:
        """Add a block's items. Publishes at the end."""
        m = len(block.ids)
        if not m:
            return
        a = self._arrays
        n = a.n
        if n + m > a.cap:
            # A copy once per quarter of growth; searches keep using the old
            # arrays until the new ones are published.
            a = a.grown(n + m, self.space.dims)
        sl = slice(n, n + m)
        src = np.array([self._sources.setdefault(x, len(self._sources)) for x in block.names]
                       + [-1], np.int16)
        app = np.array([self._apps.setdefault(x, len(self._apps)) for x in block.names]
                       + [-1], np.int32)
        a.ids[sl], a.codes[:, sl], a.mags[sl] = block.ids, words_of(block.signs), block.mags
        a.started[sl], a.ended[sl] = block.started, block.ended
        a.source[sl], a.app[sl] = src[block.source.astype(np.int64)], app[block.app]
        a.n = n + m  # publish: searches read n once, so they never see half a row
        self._arrays = a
        self._max_id = max(self._max_id, int(block.ids.max()))

    # -- keeping up -----------------------------------------------------------------
    def catch_up(self, db: apsw.Connection, *, wait: bool = False) -> None:
        """Apply vector writes and forgets committed since the last call.

        Without ``wait``, returns at once if another thread is already loading
        or catching up (searches then use the state of a moment ago). Raises
        NeedsReload when too much changed to catch up cheaply.
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
                for block in self._read_blocks(db, put):
                    self._append(block)
            self._seq = batch.last_seq
        finally:
            self._lock.release()

    def _read_blocks(self, db: apsw.Connection, ids: np.ndarray
                     ) -> Iterator[vector_codes.Block]:
        """The codes of ``ids`` written since the load (those still stored)."""
        return vector_codes.read_items(db, self.space.id, self.space.dims, ids)

    def _read_q8(self, db: apsw.Connection, ids: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids found, int8 vectors, scales) for the final re-rank."""
        return vector_codes.read_q8(db, self.space.id, ids, self.space.dims)

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
        out = _Arrays.empty(len(live) + len(live) // 16 + 4096, self.space.dims)
        for name in _Arrays._ROWS:
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

    def search(self, query: np.ndarray, k: int, filters: SearchFilters | None = None,
               db: apsw.Connection | None = None) -> list[tuple[int, float]]:
        """Approximate nearest items: (id, cosine distance), nearest first.

        ``db`` is the caller's read connection for the final re-rank (default:
        the one the index was loaded with).
        """
        a = self._arrays
        n = a.n
        q = np.asarray(query, np.float32).ravel()
        norm = float(np.linalg.norm(q))
        if n == 0 or k <= 0 or norm == 0:
            return []
        q = q / norm
        sel = self._selection(a, n, filters)
        size = n if sel is None else len(sel)
        keep = max(self.rerank, 2 * k)
        want = max(keep, min(self.candidates, max(MIN_CANDIDATES, size // CANDIDATE_SHARE)))
        if size <= want:
            cand = np.arange(n) if sel is None else sel
        else:
            qcode = words_of(vector_codes.signs_and_mags(q[None, :])[0])[:, 0]
            codes = a.codes[:, :n] if sel is None else a.codes[:, sel]
            dist = hamming(codes, qcode, np.empty(size, np.uint8))
            near = nearest_codes(dist, want)
            cand = near if sel is None else sel[near]
        cand = cand[a.ids[cand] >= 0]
        if len(cand) > keep:
            est = self._two_bit_scores(a, cand, q)
            cand = cand[np.argpartition(-est, keep - 1)[:keep]]
        db = db or self._db
        assert db is not None, "search needs a read connection"
        ids, q8, scale = self._read_q8(db, a.ids[cand])
        # einsum, not ``@``: a BLAS matvec hands this small product to
        # OpenBLAS's thread pool, which on 2 busy cores took 10–20 ms instead of 0.2.
        sims = np.einsum("ij,j->i", q8.astype(np.float32), q) * scale
        if len(sims) > k:
            top = np.argpartition(-sims, k - 1)[:k]
        else:
            top = np.arange(len(sims))
        top = top[np.lexsort((ids[top], -sims[top]))]
        return [(int(ids[i]), float(1.0 - sims[i])) for i in top]

    def _two_bit_scores(self, a: _Arrays, cand: np.ndarray, q: np.ndarray) -> np.ndarray:
        """The query's dot product with each candidate's 2-bit code (up to a constant).

        With s = ±1 the sign and m ∈ {0, 1} the magnitude bit of a dimension,
        the code stands for s·(LOW + (HIGH−LOW)·m); the sums over set bits are
        per-byte lookup tables of the query: 3 gathers per code byte.
        """
        nbytes = a.mags.shape[1]
        padded = np.zeros(nbytes * 8, np.float32)
        padded[:len(q)] = q
        table = np.einsum("jt,bt->jb", padded.reshape(nbytes, 8), _BITS).ravel()
        offsets = np.arange(nbytes, dtype=np.intp) * 256
        signs = a.codes[:, cand].T.copy().view(np.uint8)[:, :nbytes]
        mags = a.mags[cand]

        def total(b: np.ndarray) -> np.ndarray:
            return np.take(table, b.astype(np.intp) + offsets).sum(axis=1)

        pos, mag, pos_mag = total(signs), total(mags), total(signs & mags)
        q_sum = float(padded.sum())
        return _LOW * (2 * pos - q_sum) + (_HIGH - _LOW) * (2 * pos_mag - mag)

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
