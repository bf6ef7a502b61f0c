"""Embedding benchmark: throughput of the built-in model through llama.cpp.

    .venv/bin/python -m pytest -m benchmark tests/benchmarks/bench_embedding.py -s

Prints conversion time and file size per dtype (F16, Q8_0), load time, cosine
against the sentence-transformers reference, sentences/s per ``embed`` batch
size, and sentences/s with a competing busy process, with and without
``OMP_WAIT_POLICY=PASSIVE`` and with 1 or 2 llama.cpp threads. The wait policy
is read when the native library loads, so every configuration runs in its own
worker process (this file, run as a script). Target: ≥150 sentences/s.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from core.models import minilm_gguf  # noqa: E402

TARGET_PER_S = 150
_FIXTURE = REPO / "tests" / "fixtures" / "minilm_reference.json"
_SUBJECTS = ["Ana", "the build", "my VPN", "the tax PDF", "Marco", "the invoice", "the backup job",
             "the standup", "Kubernetes", "the draft report", "the landlord", "Python 3.12"]
_VERBS = ["mentioned", "broke", "fixed", "moved", "recommended", "scheduled", "rejected", "updated"]
_TAILS = ["yesterday after lunch", "in the #infra channel", "before the deadline on Friday",
          "with a new config file", "and nobody noticed for a week", "in Documents/taxes/2024",
          "because the certificate expired", "so we postponed the release", ""]


def sentences(n: int, seed: int = 7) -> list[str]:
    """Deterministic note/chat-like sentences, ≈10–30 tokens each."""
    rng = random.Random(seed)
    return [f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_SUBJECTS).lower()} "
            f"{rng.choice(_TAILS)} {rng.choice(_TAILS)}".strip() for _ in range(n)]


# -- worker (runs in a fresh process) ------------------------------------------------
def worker(gguf: Path, threads: int, batch_sizes: list[int], n: int,
           workers: int = 1) -> dict[str, Any]:
    from core.models.embedding import Embedder

    texts = sentences(n)
    emb = Embedder(gguf, n_threads=threads, workers=workers)
    started = time.perf_counter()
    emb.embed(["warm up"])
    load_s = time.perf_counter() - started
    ref = json.loads(_FIXTURE.read_text("utf-8"))["items"]
    got = emb.embed([item["text"] for item in ref])
    want = np.array([item["vector"] for item in ref], dtype=np.float32)
    cosines = (got * want).sum(axis=1) / np.linalg.norm(want, axis=1)
    tokens = sum(emb.count_tokens(texts))
    rates = {}
    for size in batch_sizes:
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(texts), size):
            emb.embed(texts[i:i + size])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rates[size] = {"per_s": len(texts) / wall, "per_cpu_s": len(texts) / cpu}
    emb.close()
    return {"load_s": load_s, "min_cos": float(cosines.min()), "mean_tokens": tokens / len(texts),
            "rates": rates, "omp": os.environ.get("OMP_WAIT_POLICY")}


def _run_worker(gguf: Path, *, threads: int, passive: bool, busy: bool,
                batch_sizes: list[int], n: int, workers: int = 1) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["OMP_WAIT_POLICY"] = "PASSIVE" if passive else "ACTIVE"
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "worker", str(gguf), str(threads),
             ",".join(map(str, batch_sizes)), str(n), str(workers)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def ggufs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("bench-models")
    paths = {}
    for dtype in ("f16", "q8_0"):
        started = time.perf_counter()
        path = out / f"minilm.{dtype}.gguf"
        minilm_gguf.convert(minilm_gguf.builtin_source_dir(), path, dtype=dtype)
        print(f"\nconvert {dtype}: {time.perf_counter() - started:.2f}s, {path.stat().st_size / 1e6:.1f} MB")
        paths[dtype] = path
    return paths


@pytest.mark.benchmark
def test_dtypes_and_batch_sizes(ggufs: dict[str, Path]) -> None:
    print(f"\nmachine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    best = 0.0
    for dtype, path in ggufs.items():
        for rep in range(2):  # the box is shared: show the spread, keep the best
            r = _run_worker(path, threads=1, passive=True, busy=False, batch_sizes=[1, 16, 64, 256], n=384)
            rates = r["rates"]
            print(f"{dtype} run {rep + 1}: load {r['load_s'] * 1000:.0f} ms, min cosine {r['min_cos']:.6f}, "
                  f"{r['mean_tokens']:.1f} tokens/sentence")
            for size, rate in rates.items():
                print(f"  batch {size:>4}: {rate['per_s']:6.0f} sentences/s wall, "
                      f"{rate['per_cpu_s']:6.0f} per CPU-second, "
                      f"{rate['per_s'] * r['mean_tokens']:6.0f} tokens/s wall")
            if dtype == minilm_gguf.DEFAULT_DTYPE:
                best = max(best, max(rate["per_s"] for rate in rates.values()))
    print(f"default dtype best: {best:.0f} sentences/s (target {TARGET_PER_S})")


@pytest.mark.benchmark
def test_bulk_throughput_of_the_default_embedder(ggufs: dict[str, Path]) -> None:
    """What imports and rebuilds get: one single-threaded context per core (max 2)."""
    path = ggufs[minilm_gguf.DEFAULT_DTYPE]
    print(f"\nload average {os.getloadavg()[0]:.2f}")
    best = 0.0
    for workers in (1, 2):
        for rep in range(2):
            r = _run_worker(path, threads=1, passive=True, busy=False, batch_sizes=[256],
                            n=1024, workers=workers)
            rate = r["rates"]["256"]
            best = max(best, rate["per_s"]) if workers == 2 else best
            print(f"{workers} context(s) x 1 thread, run {rep + 1}: {rate['per_s']:6.0f} sentences/s "
                  f"wall, {rate['per_cpu_s']:6.0f} per CPU-second")
    print(f"default embedder (2 contexts) best: {best:.0f} sentences/s (target {TARGET_PER_S})")


@pytest.mark.benchmark
def test_threads_and_wait_policy_under_load(ggufs: dict[str, Path]) -> None:
    path = ggufs[minilm_gguf.DEFAULT_DTYPE]
    print()
    for threads, passive, busy in [(1, True, False), (2, True, False), (1, True, True), (1, False, True),
                                   (2, True, True), (2, False, True)]:
        r = _run_worker(path, threads=threads, passive=passive, busy=busy, batch_sizes=[64], n=192)
        rate = r["rates"]["64"]
        print(f"threads={threads} OMP_WAIT_POLICY={r['omp']:<7} busy process={'yes' if busy else 'no ':<3}: "
              f"{rate['per_s']:6.0f} sentences/s")


@pytest.mark.benchmark
def test_query_latency_behind_background_work(ggufs: dict[str, Path]) -> None:
    from core.models.embedding import Embedder

    emb = Embedder(ggufs[minilm_gguf.DEFAULT_DTYPE])
    try:
        emb.embed(["warm up"])
        alone = []
        for _ in range(10):
            started = time.perf_counter()
            emb.embed(["where did I put the tax pdf"], interactive=True)
            alone.append(time.perf_counter() - started)
        background = emb.submit(sentences(2000))
        time.sleep(0.3)
        behind = []
        for _ in range(10):
            started = time.perf_counter()
            emb.embed(["where did I put the tax pdf"], interactive=True)
            behind.append(time.perf_counter() - started)
        still_running = not background.done()
        background.result()
    finally:
        emb.close()
    print(f"\nquery latency alone: median {np.median(alone) * 1000:.0f} ms; "
          f"during a 2000-sentence background batch: median {np.median(behind) * 1000:.0f} ms, "
          f"max {max(behind) * 1000:.0f} ms (background still running: {still_running})")


if __name__ == "__main__" and len(sys.argv) == 7 and sys.argv[1] == "worker":
    result = worker(Path(sys.argv[2]), int(sys.argv[3]), [int(s) for s in sys.argv[4].split(",")],
                    int(sys.argv[5]), int(sys.argv[6]))
    print(json.dumps(result))
