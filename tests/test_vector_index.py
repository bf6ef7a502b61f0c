"""The in-memory vector index: agrees with exact KNN, filters, keeps up, loads anywhere.

Real encrypted stores and real sqlite-vec throughout; vectors are random but
clustered (like real embeddings), written through the real pipeline.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from core.pipeline import Pipeline
from core.records import Observation, SearchFilters
from core.store import Store, vector_changes, vector_load, vectors
from core.store import events as event_rows
from core.store.vector_index import NeedsReload, VectorIndex, encode, hamming, nearest_codes

HEXKEY = "ab" * 32
DIMS = 384
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
REPO = Path(__file__).resolve().parent.parent


class QueueEmbedder:
    """Returns the vectors queued for the next batch (registered as the pipeline's embedder)."""

    identity = "test-queue-384"
    dims = DIMS

    def __init__(self) -> None:
        self.queued: list[np.ndarray] = []

    def embed(self, texts, *, interactive: bool = False) -> np.ndarray:
        out, self.queued = np.stack(self.queued[:len(texts)]), self.queued[len(texts):]
        return out


_SHARED = np.random.default_rng(0)
_OFFSET = 0.5 * _SHARED.standard_normal(DIMS)
_CENTERS = _SHARED.standard_normal((20, DIMS))


def clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors around 20 fixed centres plus a shared offset, like embeddings."""
    rng = np.random.default_rng(seed)
    v = _OFFSET + _CENTERS[rng.integers(0, 20, n)] + 0.6 * rng.standard_normal((n, DIMS))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def observation(i: int, source: str = "note", app: str | None = None) -> Observation:
    return Observation(source, T0 + timedelta(hours=i), f"item {i}", app=app,
                       external_id=f"t-{i}")


def add(pipeline: Pipeline, first: int, vecs: np.ndarray, **kw) -> list[int]:
    pipeline.embedder.queued = list(vecs)  # type: ignore[union-attr]
    changes = pipeline.submit([observation(first + n, **kw) for n in range(len(vecs))])
    return list(changes.added)


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "engram.db", HEXKEY, backups_dir=tmp_path / "backups")
    yield s
    s.close()


@pytest.fixture
def pipeline(store: Store) -> Pipeline:
    p = Pipeline(store, QueueEmbedder())
    p.space()
    return p


def test_sign_codes_match_sqlite_vec_bit_packing_and_hamming() -> None:
    v = clustered(50, 1)
    codes, q8, scale = encode(v)
    packed = np.packbits(v > 0, axis=1, bitorder="little")
    assert np.array_equal(codes.T.copy().view(np.uint8), packed)
    dist = hamming(codes, codes[:, 0], np.empty(50, np.uint8))
    want = np.unpackbits(packed ^ packed[0], axis=1).sum(axis=1)
    assert np.array_equal(dist, want)
    # int8 * scale is a unit vector close to the original.
    approx = q8.astype(np.float32) * scale[:, None]
    assert np.allclose(np.linalg.norm(approx, axis=1), 1.0, atol=1e-5)
    assert (np.einsum("ij,ij->i", approx, v) > 0.999).all()
    picked = nearest_codes(dist, 5)
    assert 5 <= len(picked) <= 10 and dist[picked].max() <= np.sort(dist)[4]


def _nearest_reference(dist: np.ndarray, n: int) -> np.ndarray:
    """nearest_codes before its sampled bound: the histogram of every distance."""
    if len(dist) <= n:
        return np.arange(len(dist))
    threshold = int(np.searchsorted(np.cumsum(np.bincount(dist, minlength=256)), n))
    picked = np.flatnonzero(dist <= threshold)
    if len(picked) > 2 * n:
        below = np.flatnonzero(dist < threshold)
        ties = np.flatnonzero(dist == threshold)[: n - len(below)]
        picked = np.concatenate([below, ties])
    return picked


def test_nearest_codes_picks_what_the_full_histogram_picks() -> None:
    rng = np.random.default_rng(7)
    for size, n in ((70_000, 1000), (200_000, 2000), (1 << 16, 5), (100_000, 20_000)):
        for spread in (3, 12, 40):
            dist = np.clip(rng.normal(150, spread, size), 0, 255).astype(np.uint8)
            dist[rng.integers(0, size, 50)] = rng.integers(0, 40, 50)  # a few near ones
            assert np.array_equal(nearest_codes(dist, n), _nearest_reference(dist, n))
    # Ties at the threshold (every distance equal) are capped the same way.
    flat = np.full(100_000, 90, np.uint8)
    assert np.array_equal(nearest_codes(flat, 1000), _nearest_reference(flat, 1000))


def test_top_k_agrees_with_exact_knn(store: Store, pipeline: Pipeline) -> None:
    ids = add(pipeline, 0, clustered(3000, 2))
    db = store.reader()
    space = pipeline.space()
    # Fewer candidates than items, so the sign-bit prefilter really filters.
    index = VectorIndex.load(db, space, candidates=300)
    assert len(index) == len(ids)
    recalls = []
    for q in clustered(40, 3):
        exact = [i for i, _ in vectors.knn(db, space, "events", q, 10)]
        got = index.search(q, 10)
        recalls.append(len(set(exact) & {i for i, _ in got}) / 10)
        distances = [d for _, d in got]
        assert distances == sorted(distances)
    assert np.mean(recalls) >= 0.9, recalls
    # With every item a candidate only int8 rounding remains: near-exact.
    full = VectorIndex.load(db, space, candidates=5000)
    q = clustered(1, 4)[0]
    exact = vectors.knn(db, space, "events", q, 10)
    got = full.search(q, 10)
    assert len({i for i, _ in exact} & {i for i, _ in got}) >= 9
    assert abs(exact[0][1] - got[0][1]) < 0.01


def test_time_source_and_app_filters(store: Store, pipeline: Pipeline) -> None:
    vecs = clustered(600, 5)
    add(pipeline, 0, vecs[:300], source="note")
    add(pipeline, 300, vecs[300:], source="screen", app="Firefox")
    index = VectorIndex.load(store.reader(), pipeline.space(), candidates=100)
    q = vecs[10]
    since, until = T0 + timedelta(hours=100), T0 + timedelta(hours=400)
    hits = index.search(q, 50, SearchFilters(since=since, until=until))
    rows = event_rows.get_many(store.reader(), [i for i, _ in hits])
    assert len(hits) == 50
    assert all(since <= rows[i].ended_at and rows[i].started_at < until for i, _ in hits)
    screen = index.search(q, 20, SearchFilters(sources=("screen",)))
    assert {e.source for e in event_rows.get_many(
        store.reader(), [i for i, _ in screen]).values()} == {"screen"}
    assert index.search(q, 5, SearchFilters(apps=("Firefox",)))
    assert index.search(q, 5, SearchFilters(apps=("Nowhere",))) == []
    assert index.search(q, 5, SearchFilters(sources=("chat",))) == []
    span = index.id_span(SearchFilters(since=since, until=until))
    assert span is not None and span[0] >= 100 and span[1] <= 402


def test_catch_up_sees_inserts_forgets_and_rewrites(store: Store, pipeline: Pipeline) -> None:
    vecs = clustered(400, 6)
    ids = add(pipeline, 0, vecs[:300])
    db = store.reader()
    index = VectorIndex.load(db, pipeline.space())
    new_ids = add(pipeline, 300, vecs[300:])
    store.write(lambda w: event_rows.delete(w, ids[:50]))
    # A rewritten vector (a renamed file gets a new embedding) replaces the old one.
    moved = clustered(1, 7)
    store.write(lambda w: vectors.put(w, pipeline.space(), "events", [ids[60]], moved))
    index.catch_up(db, wait=True)
    assert len(index) == 400 - 50
    assert index.search(vecs[350], 1)[0][0] == new_ids[50]
    assert index.search(moved[0], 1) == [(ids[60], pytest.approx(0.0, abs=0.01))]
    assert all(i not in ids[:50] for i, _ in index.search(vecs[10], 400))


def test_another_process_writes_and_forgets(store: Store, pipeline: Pipeline) -> None:
    """The desktop app's index keeps up with a CLI in another process."""
    ids = add(pipeline, 0, clustered(100, 8))
    db = store.reader()
    index = VectorIndex.load(db, pipeline.space())
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(REPO)!r})
        import numpy as np
        from pathlib import Path
        from core.store import Store, vectors
        from core.store import events as event_rows
        from tests.test_vector_index import HEXKEY, clustered, observation
        s = Store(Path({str(store.path)!r}), HEXKEY, backups_dir=Path({str(store.path.parent)!r}))
        space = vectors.ready_space(s.reader(), "test-queue-384")
        def job(w):
            new = event_rows.insert(w, observation(1000))
            vectors.put(w, space, "events", [new], clustered(1, 9))
            event_rows.delete(w, [{ids[0]}])
            return new
        print(s.write(job))
        s.close()
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60)
    new_id = int(out.stdout.strip())
    index.catch_up(db, wait=True)
    assert index.search(clustered(1, 9)[0], 1)[0][0] == new_id
    assert ids[0] not in {i for i, _ in index.search(clustered(100, 8)[0], 100)}


def test_a_fresh_store_loads_the_same_index(tmp_path: Path) -> None:
    first = Store(tmp_path / "engram.db", HEXKEY, backups_dir=tmp_path / "backups")
    p = Pipeline(first, QueueEmbedder())
    vecs = clustered(2500, 10)  # > one vec0 chunk (1024), with a hole from a forget
    ids = add(p, 0, vecs)
    first.write(lambda w: event_rows.delete(w, ids[1000:1100]))
    before = VectorIndex.load(first.reader(), p.space()).search(vecs[5], 10)
    first.close()
    second = Store(tmp_path / "engram.db", HEXKEY, backups_dir=tmp_path / "backups")
    try:
        db = second.reader()
        space = vectors.ready_space(db, QueueEmbedder.identity)
        assert VectorIndex.load(db, space).search(vecs[5], 10) == before
        # vec0's shadow tables read directly give exactly what the virtual table gives.
        table = space.table("events")
        fast = np.concatenate([i for i, _ in vector_load.iter_vectors(db, table, DIMS)])
        slow = np.concatenate([i for i, _ in vector_load.iter_vectors(db, table, DIMS,
                                                                       fast=False)])
        assert sorted(fast.tolist()) == sorted(slow.tolist()) and len(fast) == 2400
    finally:
        second.close()


def test_a_pruned_change_log_asks_for_a_reload(store: Store, pipeline: Pipeline,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    add(pipeline, 0, clustered(10, 11))
    db = store.reader()
    index = VectorIndex.load(db, pipeline.space())
    monkeypatch.setattr(vector_changes, "KEEP", 5)
    monkeypatch.setattr(vector_changes, "PRUNE_EVERY", 5)
    add(pipeline, 10, clustered(30, 12))
    with pytest.raises(NeedsReload):
        index.catch_up(db, wait=True)
