"""Search benchmark: hybrid search over 100k and 1M synthetic items.

    .venv/bin/python -m pytest -m benchmark tests/benchmarks/bench_search.py -s

Builds real encrypted stores (through ``Pipeline.submit``, the real write path,
with a stand-in embedder that hands back pre-generated vectors: embedding 1M
real texts at ≈150/s would take ≈2 hours) and caches them under
``$ENGRAM_BENCH_CACHE`` (default: the temp dir) keyed by ``VERSION``, so
re-runs skip the build. Prints insert throughput, bytes per item, index load
time, p50/p95 of hybrid / keyword-only / vector-only search with and without a
time filter, recall@10 of the vector path against exact brute force, and the
real query embedding time (reported apart: the p95 target is search given the
query's vector).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.pipeline import Pipeline  # noqa: E402
from core.store import Store  # noqa: E402
from tests.benchmarks import synthetic as syn  # noqa: E402

VERSION = "search-v1"
HEXKEY = "5e" * 32  # synthetic data only
CACHE = Path(os.environ.get("ENGRAM_BENCH_CACHE",
                            Path(tempfile.gettempdir()) / "engram-bench-cache")) / VERSION


class SyntheticEmbedder:
    """Hands out pre-generated vectors: item vectors in submit order, query vectors by text."""

    identity = "synthetic-minilm-like-384"
    dims = syn.DIMS

    def __init__(self) -> None:
        self.pending: np.ndarray | None = None
        self.queries: dict[str, np.ndarray] = {}

    def embed(self, texts, *, interactive: bool = False) -> np.ndarray:
        if interactive:
            return np.stack([self.queries[t] for t in texts])
        vecs, self.pending = self.pending, None
        assert vecs is not None and len(vecs) == len(texts)
        return vecs


def store_dir(n: int) -> Path:
    return CACHE / f"n{n}"


def build(n: int, *, log=print) -> dict:
    """Build (or reuse) the cached store of ``n`` items; return its build figures."""
    folder = store_dir(n)
    info_path = folder / "build.json"
    if info_path.exists():
        return json.loads(info_path.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    store = Store(folder / "engram.db", HEXKEY, backups_dir=folder / "backups")
    embedder = SyntheticEmbedder()
    pipeline = Pipeline(store, embedder)
    pipeline.space()
    corpus = syn.make_corpus()
    gen_s = insert_s = 0.0
    chunk = 8192
    try:
        for start in range(0, n, chunk):
            t0 = time.perf_counter()
            obs, vecs = syn.observations(corpus, start, min(chunk, n - start), n)
            t1 = time.perf_counter()
            for j in range(0, len(obs), 256):
                embedder.pending = vecs[j:j + 256]
                pipeline.submit(obs[j:j + 256], batch_size=256)
            insert_s += time.perf_counter() - t1
            gen_s += t1 - t0
            if (start // chunk) % 16 == 0:
                log(f"  built {start + len(obs):,}/{n:,} "
                    f"({(start + len(obs)) / insert_s:,.0f} items/s)")
    finally:
        store.close()
    size = (folder / "engram.db").stat().st_size
    info = {"items": n, "insert_per_s": n / insert_s, "generate_s": gen_s,
            "db_bytes": size, "bytes_per_item": size / n}
    info_path.write_text(json.dumps(info))
    return info


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(build(int(arg)))
