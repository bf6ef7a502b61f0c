"""The compact index: same top results as exact search, codes only inside the encrypted
store, kept in step with writes and forgets, built once for an older store, loaded newest
first with searches meanwhile.

Real encrypted stores and real sqlite-vec; vectors are random but clustered like real
embeddings, written through the real pipeline.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.pipeline import Pipeline
from core.store import Store, vector_codes, vectors
from core.store import events as event_rows
from core.store.vector_index import VectorIndex
from tests.test_vector_index import HEXKEY, QueueEmbedder, add, clustered


@pytest.fixture
def store(tmp_path: Path):
    (tmp_path / "data").mkdir()
    s = Store(tmp_path / "data" / "engram.db", HEXKEY, backups_dir=tmp_path / "data" / "backups")
    yield s
    s.close()


@pytest.fixture
def pipeline(store: Store) -> Pipeline:
    p = Pipeline(store, QueueEmbedder())
    p.space()
    return p


def recall(index: VectorIndex, db, space, queries: np.ndarray) -> tuple[float, float]:
    """(mean recall@10 against exact float KNN, share of queries with the same first hit)."""
    hits, firsts = [], []
    for q in queries:
        exact = [i for i, _ in vectors.knn(db, space, "events", q, 10)]
        got = [i for i, _ in index.search(q, 10)]
        hits.append(len(set(exact) & set(got)) / 10)
        firsts.append(exact[0] == got[0])
    return float(np.mean(hits)), float(np.mean(firsts))


def test_compact_index_returns_the_exact_top_results(store: Store, pipeline: Pipeline) -> None:
    add(pipeline, 0, clustered(4000, 20))
    db = store.reader()
    space = pipeline.space()
    # Both stages really filter: 4000 items → 600 by bits → 100 by 2-bit codes → 10 by int8.
    index = VectorIndex.load(db, space, candidates=600, rerank=100)
    queries = clustered(40, 21)
    mean, first = recall(index, db, space, queries)
    assert mean >= 0.95 and first >= 0.95, (mean, first)
    # The distances are the cosine distances of the (int8) vectors: close to exact.
    q = queries[0]
    exact = vectors.knn(db, space, "events", q, 10)
    got = index.search(q, 10)
    assert abs(exact[0][1] - got[0][1]) < 0.01
    assert [d for _, d in got] == sorted(d for _, d in got)
    # RAM: codes, ids and filter columns only — no int8 or float copy of the vectors.
    assert index.nbytes() / index._arrays.cap < 0.4 * space.dims  # per slot: ≈126 B
    assert all(a.dtype.itemsize <= 8 and (a.ndim == 1 or a.shape[1] <= space.dims // 8)
               for a in (index._arrays.ids, index._arrays.mags, index._arrays.started))


def test_two_bit_stage_beats_sign_bits_alone(store: Store, pipeline: Pipeline) -> None:
    """The 2-bit scoring is what lets a small re-rank keep recall (a stage that does work)."""
    add(pipeline, 0, clustered(4000, 22))
    db = store.reader()
    space = pipeline.space()
    queries = clustered(30, 23)
    two_bit = VectorIndex.load(db, space, candidates=4000, rerank=30)
    mean_two_bit, _ = recall(two_bit, db, space, queries)
    # Sign bits alone, choosing the same number of items to re-rank.
    signs_only = VectorIndex.load(db, space, candidates=30, rerank=30)
    mean_signs, _ = recall(signs_only, db, space, queries)
    assert mean_two_bit > mean_signs + 0.05, (mean_two_bit, mean_signs)


def test_nothing_of_the_index_reaches_the_disk_outside_the_encrypted_file(
        tmp_path: Path, store: Store, pipeline: Pipeline,
        monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    vecs = clustered(1500, 24)
    ids = add(pipeline, 0, vecs)
    db = store.reader()
    index = VectorIndex.load(db, pipeline.space(), candidates=200)
    index.search(vecs[3], 10)
    store.write(lambda w: event_rows.delete(w, ids[:10]))
    index.catch_up(db, wait=True)
    store.close()
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert all(f.startswith("data/engram.db") or f.startswith("data/backups/") for f in files), \
        files
    assert not list(scratch.iterdir())
    # The codes are inside the store (readable with the key), never as plaintext on disk.
    signs, mags = vector_codes.signs_and_mags(vecs[100:101])
    q8, _ = vector_codes.int8(vecs[100:101])
    needles = [signs.tobytes(), mags.tobytes(), q8.tobytes()[:64], ids[100].to_bytes(8, "little")
               + ids[101].to_bytes(8, "little")]
    for f in files:
        data = (tmp_path / f).read_bytes()
        assert not any(n in data for n in needles), f
    reopened = Store(tmp_path / "data" / "engram.db", HEXKEY, backups_dir=tmp_path / "data" / "b")
    try:
        space = vectors.ready_space(reopened.reader(), QueueEmbedder.identity)
        assert vector_codes.count(reopened.reader(), space.id) == 1490
    finally:
        reopened.close()


def test_forget_removes_the_codes_and_a_rewrite_replaces_them(store: Store,
                                                              pipeline: Pipeline) -> None:
    vecs = clustered(2100, 25)  # three blocks
    ids = add(pipeline, 0, vecs)
    space = pipeline.space()
    store.write(lambda w: event_rows.delete(w, ids[1000:1100]))
    db = store.reader()
    assert vector_codes.count(db, space.id) == 2000
    found, _, _ = vector_codes.read_q8(db, space.id, np.array(ids), space.dims)
    assert set(found.tolist()) == set(ids) - set(ids[1000:1100])
    moved = clustered(1, 26)
    store.write(lambda w: vectors.put(w, space, "events", [ids[5]], moved))
    assert vector_codes.count(store.reader(), space.id) == 2000
    index = VectorIndex.load(store.reader(), space)
    assert index.search(moved[0], 1)[0] == (ids[5], pytest.approx(0.0, abs=0.01))
    assert not {i for i, _ in index.search(vecs[1050], 50)} & set(ids[1000:1100])


def test_an_older_store_gets_its_codes_built_once(store: Store, pipeline: Pipeline) -> None:
    vecs = clustered(2500, 27)
    add(pipeline, 0, vecs)
    space = pipeline.space()
    before = VectorIndex.load(store.reader(), space).search(vecs[7], 10)
    store.write(lambda w: vector_codes.drop(w, space.id))  # as written before the codes
    assert not vector_codes.exists(store.reader(), space.id)
    built = store.write(lambda w: vector_codes.build(w, space.id, space.dims,
                                                     space.table("events")))
    assert built == 2500 and vector_codes.count(store.reader(), space.id) == 2500
    assert VectorIndex.load(store.reader(), space).search(vecs[7], 10) == before


def test_loading_is_newest_first_and_searches_use_what_is_loaded(
        store: Store, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    vecs = clustered(3000, 28)
    ids = add(pipeline, 0, vecs)
    db = store.reader()
    index = VectorIndex(pipeline.space())
    seen: list[tuple[int, set[int]]] = []
    real = vector_codes.iter_blocks

    def watched(*args):
        for block in real(*args):
            # A search from another thread between two blocks sees only what is in.
            found = {i for i, _ in index.search(vecs[0], 3000, db=store.reader())}
            seen.append((len(index), found))
            yield block

    monkeypatch.setattr(vector_codes, "iter_blocks", watched)
    index.fill(db)
    counts = [n for n, _ in seen]
    assert counts[0] == 0 and counts == sorted(counts) and len(set(counts)) == len(counts) >= 3
    for n, found in seen[1:]:
        # Newest first: what is searchable is always the newest n items.
        assert found == set(sorted(ids)[-n:])
    assert len(index) == 3000 and index.complete

