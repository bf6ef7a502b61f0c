"""Result quality figures for bench_search: what the fast paths give up, measured.

* recall@10 of the in-memory vector index against exact float brute force
  (numpy over the regenerated synthetic vectors), with and without filters,
  plus the ratio of mean cosine (returned top-10 / exact top-10): a miss
  between near-ties costs almost nothing, a miss of a different topic a lot;
* the candidate-count sweep (recall vs latency) behind ``CANDIDATES``;
* the re-rank alternatives on the same candidates (float / int8 / int4 /
  sign-bits-only), with their RAM per item: the numbers behind int8;
* agreement of the bounded keyword ranking with unbounded bm25.
"""
from __future__ import annotations

import time

import numpy as np

from core.records import SearchFilters, to_epoch
from core.retrieval import query_terms
from core.store import Store, fts
from core.store.vector_index import VectorIndex, hamming, nearest_codes
from tests.benchmarks import synthetic as syn

RECALL_QUERIES = 200


def item_vectors(corpus: syn.Corpus, n: int) -> np.ndarray:
    """The float vectors of items 0..n-1, as the build generated them."""
    parts = []
    for start in range(0, n, 8192):
        m = min(8192, n - start)
        parts.append(syn.vectors(corpus, syn.item_topics(corpus, start, m), salt=start))
    return np.concatenate(parts)


def exact_top(x: np.ndarray, q: np.ndarray, k: int, allowed: np.ndarray | None) -> np.ndarray:
    sims = np.einsum("ij,j->i", x, q)
    if allowed is not None:
        sims = np.where(allowed, sims, -np.inf)
    top = np.argpartition(-sims, k)[:k]
    return top[np.argsort(-sims[top])]


def report(store: Store, index: VectorIndex, corpus: syn.Corpus, queries: list,
           filters: dict[str, SearchFilters], n: int) -> None:
    db = store.reader()
    # Items were inserted in order with no duplicates, so id = item number + 1.
    for i in (0, n // 2, n - 1):
        ext = db.execute("SELECT external_id FROM events WHERE id = ?", (i + 1,)).fetchall()
        assert ext == [(f"syn-{i}",)], "store ids do not follow item numbers"
    x = item_vectors(corpus, n)
    times = np.array(db.execute("SELECT started_at, ended_at FROM events ORDER BY id").fetchall())
    qs = queries[:RECALL_QUERIES]
    print(f"vector recall@10 vs exact float brute force ({len(qs)} queries, "
          f"candidates={index.candidates}):")
    for label, flt in filters.items():
        allowed = None
        if flt.since is not None or flt.until is not None:
            allowed = np.ones(n, bool)
            if flt.since is not None:
                allowed &= times[:, 1] >= to_epoch(flt.since)
            if flt.until is not None:
                allowed &= times[:, 0] < to_epoch(flt.until)
        rec, ratio = _recall(index, x, qs, flt, allowed)
        print(f"  {label:<20} recall@10 {rec:.3f}   mean-cosine ratio {ratio:.4f}")
    print("candidates re-ranked (no filter): recall@10, vector-only latency")
    saved = index.candidates
    try:
        for cand in (500, 1000, 2000, 4000):
            index.candidates = cand
            lat = []
            for _, q, _ in qs[:100]:
                start = time.perf_counter()
                index.search(q, 50)
                lat.append(time.perf_counter() - start)
            rec, _ = _recall(index, x, qs[:100], SearchFilters(), None)
            lat_ms = np.array(lat) * 1000
            print(f"  {cand:>5}: recall@10 {rec:.3f}  p50 {np.median(lat_ms):.1f} ms  "
                  f"p95 {np.percentile(lat_ms, 95):.1f} ms")
    finally:
        index.candidates = saved
    _rerank_alternatives(index, x, qs[:100])
    _keyword_agreement(db, queries[:60])


def _recall(index: VectorIndex, x: np.ndarray, qs: list, flt: SearchFilters,
            allowed: np.ndarray | None) -> tuple[float, float]:
    recalls, ratios = [], []
    for _, q, _ in qs:
        want = exact_top(x, q, 10, allowed)
        got = np.array([i - 1 for i, _ in index.search(q, 10, flt)], np.int64)
        recalls.append(len(set(want) & set(got)) / 10)
        ratios.append(float((x[got] @ q).mean() / (x[want] @ q).mean()) if len(got) else 0.0)
    return float(np.mean(recalls)), float(np.mean(ratios))


def _rerank_alternatives(index: VectorIndex, x: np.ndarray, qs: list) -> None:
    """Same sign-bit candidates, different re-rank precision (and RAM per item)."""
    a = index._arrays  # the benchmark may look inside
    n = a.n
    slot_item = a.ids[:n] - 1
    scores: dict[str, list[float]] = {"float32 (1536 B)": [], "int8 (384 B, chosen)": [],
                                      "int4 (192 B)": [], "sign bits only (0 B)": []}
    for _, q, _ in qs:
        qn = q / np.linalg.norm(q)
        qcode = np.packbits(qn > 0, bitorder="little").view("<u8")
        cand = nearest_codes(hamming(a.codes[:, :n], qcode, np.empty(n, np.uint8)),
                             index.candidates)
        items = slot_item[cand]
        want = set(exact_top(x, qn, 10, None))
        fl = x[items]
        peak = np.abs(fl).max(axis=1, keepdims=True)
        i4 = np.clip(np.rint(fl / peak * 7), -8, 7)
        sign = np.where(fl > 0, 1.0, -1.0)
        for name, mat in (("float32 (1536 B)", fl),
                          ("int8 (384 B, chosen)", a.vecs[cand].astype(np.float32)),
                          ("int4 (192 B)", i4), ("sign bits only (0 B)", sign)):
            norms = np.linalg.norm(mat, axis=1)
            s = np.einsum("ij,j->i", mat, qn) / np.where(norms == 0, 1, norms)
            top = items[np.argsort(-s)[:10]]
            scores[name].append(len(want & set(top)) / 10)
    print(f"re-rank of the same {index.candidates} sign-bit candidates (RAM per item "
          "on top of 48 B of bits + ≈40 B ids/times/codes):")
    for name, vals in scores.items():
        print(f"  {name:<22} recall@10 {np.mean(vals):.3f}")


def _keyword_agreement(db, queries: list) -> None:
    """Bounded keyword ranking vs unbounded bm25 (the ranking before bounding).

    Id overlap undercounts: bm25 ties are broken differently once a word is
    left out. The bm25 ratio (full-query bm25 of the bounded top-10 / of the
    unbounded top-10) says how much relevance, by bm25's own measure, is lost.
    """
    groups: dict[str, list[tuple[float, float]]] = {}
    slow, fast = [], []
    for text, _, _ in queries:
        words = query_terms(text).words
        expr = str(fts.match_expression(words))
        t0 = time.perf_counter()
        bounded = fts.rank(db, words, "1", [], 10)
        t1 = time.perf_counter()
        full = fts.rank(db, words, "1", [], 10, window=10**9, deadline_s=60)
        slow.append(time.perf_counter() - t1)
        fast.append(t1 - t0)
        if not full:
            continue
        rare = any(fts.count_upto(db, fts.match_expression([w]) or "", fts.WINDOW + 1)
                   <= fts.WINDOW for w in words)
        key = "some word rarer than the window" if rare else "only very common words"
        ratio = _bm25_sum(db, expr, bounded) / _bm25_sum(db, expr, full)
        groups.setdefault(key, []).append((len(set(bounded) & set(full)) / len(full), ratio))
    a, b = np.array(fast) * 1000, np.array(slow) * 1000
    print(f"keyword ranking, bounded (window {fts.WINDOW:,}) vs unbounded bm25, "
          f"{len(queries)} queries: bounded p50 {np.median(a):.1f} ms p95 "
          f"{np.percentile(a, 95):.1f} ms; unbounded p50 {np.median(b):.0f} ms "
          f"p95 {np.percentile(b, 95):.0f} ms")
    for key, vals in groups.items():
        v = np.array(vals)
        print(f"  {key:<34} ({len(v)}): top-10 id overlap {v[:, 0].mean():.2f}, "
              f"bm25 ratio {v[:, 1].mean():.3f} (worst {v[:, 1].min():.3f})")


def _bm25_sum(db, expr: str, ids: list[int]) -> float:
    if not ids:
        return 0.0
    # bm25() cannot sit inside an aggregate: sum in Python.
    rows = db.execute(f"SELECT {fts._BM25} FROM events_fts WHERE "
                      f"events_fts MATCH ? AND rowid IN ({','.join('?' * len(ids))})",
                      (expr, *ids)).fetchall()
    return float(sum(r[0] for r in rows))


# -- real embeddings: is the synthetic distribution a fair stand-in? -----------------------
def real_sentences(n: int) -> list[str]:
    """English sentences from the standard library's docstrings (deterministic, offline)."""
    import importlib
    import inspect
    import random
    import re

    modules = ("os", "re", "json", "collections", "itertools", "functools", "pathlib",
               "subprocess", "threading", "asyncio", "logging", "argparse", "datetime",
               "decimal", "statistics", "random", "socket", "ssl", "sqlite3", "zipfile",
               "tarfile", "shutil", "tempfile", "typing", "dataclasses", "enum", "unittest",
               "inspect", "ast", "textwrap", "string", "difflib", "csv", "configparser",
               "email", "http.client", "urllib.request", "gzip", "hashlib", "heapq", "queue",
               "signal", "locale", "calendar", "time", "io", "pickle", "copy", "contextlib",
               "math", "glob", "platform", "multiprocessing", "smtplib", "mailbox", "base64")
    seen: set[str] = set()
    out: list[str] = []
    for name in modules:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        for obj in [mod, *(getattr(mod, a, None) for a in dir(mod))]:
            doc = inspect.getdoc(obj) if obj is not None else None
            for s in re.split(r"(?<=[.!?])\s+", " ".join((doc or "").split())):
                if 30 <= len(s) <= 200 and re.match(r"^[A-Z][a-z]", s) and s not in seen:
                    seen.add(s)
                    out.append(s)
    random.Random(1).shuffle(out)
    return out[:n]


def neighbour_stats(x: np.ndarray) -> str:
    sims = x @ x.T
    np.fill_diagonal(sims, -2)
    nn = -np.sort(-sims, axis=1)
    return (f"|mean| {np.linalg.norm(x.mean(0)):.2f}  nn1 cos {np.median(nn[:, 0]):.2f}  "
            f"nn10 {np.median(nn[:, 9]):.2f}  nn100 {np.median(nn[:, 99]):.2f}")


def prefilter_recall(x: np.ndarray, fraction: float, queries: int = 200) -> float:
    """recall@10 of sign-bit top-(fraction·n) + int8 re-rank, held-out queries."""
    from core.store.vector_index import encode

    q, items = x[:queries], x[queries:]
    codes, q8, scale = encode(items)
    n = len(items)
    cand_n = max(10, int(fraction * n))
    hits = []
    for v in q:
        want = set(exact_top(items, v, 10, None))
        qcode = encode(v[None, :])[0][:, 0]
        cand = nearest_codes(hamming(codes, qcode, np.empty(n, np.uint8)), cand_n)
        s = np.einsum("ij,j->i", q8[cand].astype(np.float32), v) * scale[cand]
        hits.append(len(want & set(cand[np.argsort(-s)[:10]])) / 10)
    return float(np.mean(hits))
