"""The footprint benchmark's comparison: the same vectors in LanceDB and in sqlite-vec.

    python tests/benchmarks/footprint_side.py lancedb|sqlite-vec N TRUTH.npy [QUERIES]

Run by ``bench_footprint.py``, one process per engine so each RSS is its own.
Loads the ``N`` synthetic item vectors of ``footprint_store`` (regenerated:
they are a pure function of the item number) and answers the same 300 queries
(k=10; fewer for sqlite-vec at 1M), given the query vector. Prints one JSON line: p95 ms, recall@10 against
the exact top-10 in ``TRUTH.npy`` (event ids = item number + 1), RSS after the
searches. Vector search only: neither engine does Engram's keyword half.

LanceDB (embedded, Lance files on disk, what several local memory tools use):
an IVF-PQ index (√N partitions, 48 sub-vectors) searched with 20 probes and a
refine factor of 10, its usual recall-minded setting. sqlite-vec: a vec0
float[384] table in an encrypted apsw-sqlite3mc database as Engram stores it,
exact KNN, page cache big enough to hold the table. Benchmark-only
(``pip install -e .[bench]``); neither is an Engram dependency. The LanceDB
folder holds synthetic vectors only.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks import footprint_store as fs  # noqa: E402
from tests.benchmarks import synthetic as syn  # noqa: E402

CHUNK = 8192  # the build's generation chunks: same vectors


def chunks(n: int):
    corpus = syn.make_corpus()
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        yield start, syn.vectors(corpus, syn.item_topics(corpus, start, count), salt=start)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def lancedb_run(n: int, queries: list) -> tuple[list[list[int]], list[float], str]:
    import lancedb
    import pyarrow as pa

    folder = fs.CACHE / f"n{n}" / "lancedb"
    if not (folder / "built").exists():
        _build_apart("lancedb", n)
    db = lancedb.connect(str(folder))
    table = db.open_table("items")
    found, took = [], []
    for _, vec, _ in queries:
        began = time.perf_counter()
        rows = (table.search(vec).metric("cosine").nprobes(20).refine_factor(10)
                .limit(10).select(["id"]).to_arrow())
        took.append((time.perf_counter() - began) * 1000)
        found.append(rows.column("id").to_pylist())
    return found, took, "IVF-PQ (sqrt(N) partitions, 48 sub-vectors), nprobes 20, refine 10"


def lancedb_build(n: int) -> None:
    import lancedb
    import pyarrow as pa

    folder = fs.CACHE / f"n{n}" / "lancedb"
    shutil.rmtree(folder, ignore_errors=True)
    db = lancedb.connect(str(folder))
    table = None
    for start, vecs in chunks(n):
        data = pa.table({"id": pa.array(np.arange(start + 1, start + 1 + len(vecs))),
                         "vector": pa.FixedSizeListArray.from_arrays(
                             pa.array(vecs.ravel()), syn.DIMS)})
        if table is None:
            table = db.create_table("items", data)
        else:
            table.add(data)
    assert table is not None
    table.create_index(metric="cosine", index_type="IVF_PQ",
                       num_partitions=int(np.sqrt(n)), num_sub_vectors=48)
    (folder / "built").write_text("ok")


def _build_apart(engine: str, n: int) -> None:
    """Build in a child process: the measured process never held the build's memory."""
    import subprocess

    subprocess.run([sys.executable, __file__, "build", engine, str(n)], check=True)


def _sqlite_vec(n: int):
    import apsw
    import sqlite_vec

    path = fs.CACHE / f"n{n}" / "sqlite-vec.db"
    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA key = \"x'" + "5e" * 32 + "'\"")  # synthetic data only
    conn.enable_load_extension(True)
    conn.load_extension(sqlite_vec.loadable_path())
    conn.execute(f"PRAGMA cache_size=-{(n * 1600) // 1024 + 65536}")
    return conn


def sqlite_vec_build(n: int) -> None:
    conn = _sqlite_vec(n)
    conn.execute("BEGIN")
    conn.execute(f"CREATE VIRTUAL TABLE items USING vec0(embedding float[{syn.DIMS}] "
                 "distance_metric=cosine)")
    for start, vecs in chunks(n):
        conn.executemany("INSERT INTO items(rowid, embedding) VALUES (?, ?)",
                         ((start + 1 + i, v.tobytes()) for i, v in enumerate(vecs)))
    conn.execute("COMMIT")
    conn.close()


def sqlite_vec_run(n: int, queries: list) -> tuple[list[list[int]], list[float], str]:
    conn = _sqlite_vec(n)
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'items'").fetchall():
        conn.close()
        _build_apart("sqlite-vec", n)
        return sqlite_vec_run(n, queries)
    found, took = [], []
    for _, vec, _ in queries[:20 if n < 500_000 else 3]:  # fill the page cache first
        conn.execute("SELECT rowid FROM items WHERE embedding MATCH ? AND k = 10",
                     (vec.tobytes(),)).fetchall()
    for _, vec, _ in queries:
        began = time.perf_counter()
        rows = conn.execute("SELECT rowid FROM items WHERE embedding MATCH ? AND k = 10 "
                            "ORDER BY distance", (vec.tobytes(),)).fetchall()
        took.append((time.perf_counter() - began) * 1000)
        found.append([r[0] for r in rows])
    return found, took, "vec0 float[384], exact KNN, encrypted, page cache holds the table"


def main(engine: str, n: int, truth_path: str, count: int) -> None:
    truth = np.load(truth_path)
    # All of them generated, then the first ``count``: a query set depends on its size.
    queries = syn.queries(syn.make_corpus(), len(truth))[:count]
    truth = truth[:count]
    run = {"lancedb": lancedb_run, "sqlite-vec": sqlite_vec_run}[engine]
    found, took, note = run(n, queries)
    recall = float(np.mean([len(set(f) & set(t.tolist())) / 10 for f, t in zip(found, truth)]))
    label = {"lancedb": "LanceDB (IVF-PQ, vector only)",
             "sqlite-vec": "sqlite-vec (exact, vector only)"}[engine]
    print(json.dumps({"label": label, "note": note, "p95_ms": float(np.percentile(took, 95)),
                      "p50_ms": float(np.percentile(took, 50)), "recall10": recall,
                      "rss_mb": rss_mb()}))


if __name__ == "__main__":
    if sys.argv[1] == "build":
        {"lancedb": lancedb_build, "sqlite-vec": sqlite_vec_build}[sys.argv[2]](int(sys.argv[3]))
        sys.exit(0)
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 300)
