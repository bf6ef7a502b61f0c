"""Retention benchmark: expiring by age and fitting a disk budget on a large store.

    .venv/bin/python -m pytest -m benchmark tests/benchmarks/bench_retention.py -s
    ENGRAM_BENCH_RETENTION_N=300000 …   (default 100,000 items)

Builds a real encrypted store (the real write path, synthetic texts and
vectors as in bench_search, two years of activity: 60 % screen captures, each
with a 6 KB incompressible thumbnail) and prints:

- measuring usage (what Settings › Privacy shows) and previewing a policy;
- the first "keep 1 year" run, which expires half the screen captures;
- the hourly steady state: an hour of new captures, the hour that ages out;
- fitting a budget of 70 % of what is in use;
- the file on disk before and after (freed pages go back to the disk).
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core import retention  # noqa: E402
from core.pipeline import Pipeline  # noqa: E402
from core.retention import RetentionPolicy  # noqa: E402
from core.store import Store  # noqa: E402
from core.units import format_bytes  # noqa: E402
from tests.benchmarks import synthetic as syn  # noqa: E402
from tests.benchmarks.bench_search import HEXKEY, SyntheticEmbedder  # noqa: E402

N = int(os.environ.get("ENGRAM_BENCH_RETENTION_N", "100000"))
THUMBNAIL = 6 * 1024
NOW = syn.START + syn.SPAN


def build(folder: Path, n: int) -> tuple[Store, Pipeline]:
    store = Store(folder / "engram.db", HEXKEY, backups_dir=folder / "backups")
    embedder = SyntheticEmbedder()
    pipeline = Pipeline(store, embedder, None)
    pipeline.space()
    corpus = syn.make_corpus()
    t0 = time.perf_counter()
    for start in range(0, n, 4096):
        obs, vecs = syn.observations(corpus, start, min(4096, n - start), n)
        obs = [replace(o, image=os.urandom(THUMBNAIL)) if o.source == "screen" else o
               for o in obs]
        for j in range(0, len(obs), 256):
            embedder.pending = vecs[j:j + 256]
            pipeline.submit(obs[j:j + 256], batch_size=256)
    print(f"built {n:,} items in {time.perf_counter() - t0:.0f} s")
    return store, pipeline


def usage_line(store: Store) -> str:
    u = retention.measure(store.reader(), store.path)
    return (f"in use {format_bytes(u.used_bytes)}, file {format_bytes(u.file_bytes)}, "
            f"free inside {format_bytes(u.free_bytes)}, screenshots "
            f"{format_bytes(u.image_bytes)}, items {sum(u.items.values()):,}")


@pytest.mark.benchmark
def test_retention_at_scale() -> None:
    folder = Path(tempfile.mkdtemp(prefix="engram-bench-retention-"))
    try:
        store, pipeline = build(folder, N)
        store.compact(merge_index=False)
        print("store:", usage_line(store))

        t0 = time.perf_counter()
        usage = retention.measure(store.reader(), store.path)
        print(f"measure usage: {1000 * (time.perf_counter() - t0):.0f} ms")
        year = RetentionPolicy(days=365)
        t0 = time.perf_counter()
        preview = retention.preview(store.reader(), year, now=NOW)
        print(f"preview 'keep 1 year': {preview.expired:,} to forget, "
              f"{1000 * (time.perf_counter() - t0):.0f} ms")

        cpu0, t0 = time.process_time(), time.perf_counter()
        report = retention.apply(pipeline, year, now=NOW)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        print(f"first run, keep 1 year: forgot {report.expired:,} in {wall:.1f} s "
              f"({report.expired / wall:,.0f} items/s, CPU {cpu:.1f} s); "
              f"gave back {format_bytes(report.freed_bytes)}")
        print("after:", usage_line(store))
        assert report.expired == preview.expired > 0

        # The steady state: every hour, an hour of captures ages out.
        hours = []
        for hour in range(1, 4):
            later = NOW + timedelta(hours=hour)
            cpu0, t0 = time.process_time(), time.perf_counter()
            r = retention.apply(pipeline, year, now=later)
            hours.append((r.expired, time.perf_counter() - t0, time.process_time() - cpu0))
        for expired, wall, cpu in hours:
            print(f"hourly run: forgot {expired:,} in {wall:.2f} s (CPU {cpu:.2f} s)")
        t0 = time.perf_counter()
        retention.apply(pipeline, year, now=NOW + timedelta(hours=3))
        print(f"hourly run with nothing to forget: {1000 * (time.perf_counter() - t0):.0f} ms")
        t0 = time.perf_counter()
        store.compact()
        print(f"keyword index merge + page release alone: {time.perf_counter() - t0:.2f} s")

        used = retention.measure(store.reader(), store.path).used_bytes
        budget = RetentionPolicy(budget_bytes=int(used * 0.7))
        t0 = time.perf_counter()
        guess = retention.preview(store.reader(), budget, now=NOW)
        print(f"preview budget {format_bytes(budget.budget_bytes)}: about "
              f"{guess.over_budget:,} to forget ({1000 * (time.perf_counter() - t0):.0f} ms)")
        t0 = time.perf_counter()
        r = retention.apply(pipeline, budget, now=NOW)
        print(f"budget run: forgot {r.over_budget:,} in {time.perf_counter() - t0:.1f} s; "
              f"still over: {r.still_over_budget}")
        after = retention.measure(store.reader(), store.path)
        print("after:", usage_line(store))
        assert after.used_bytes <= budget.budget_bytes
        assert usage.used_bytes > after.used_bytes
        store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
