"""Folder indexing benchmark: files/s and MB/s for 1,000 mixed documents.

    .venv/bin/python -m pytest -m benchmark tests/benchmarks/bench_files.py -s

Generates a folder of 1,000 documents (txt, md, html, csv, code, PDF, DOCX,
ODT; 1–6 paragraphs each) and indexes it with the real `engram index` in a
fresh data dir: first scan (extract, chunk, embed, store), then a re-scan of
the unchanged folder (a stat per file). Then, in-process, where the first
scan's time goes: extraction + chunking per type versus embedding the chunks.
A second test prints passages per MB for machine data (a 2 MB one-line JSON,
a log, a minified bundle) read whole versus by name and head.
``ENGRAM_BENCH_THREADS=N`` sets the embedder's threads (settings ``model_threads``);
``ENGRAM_BENCH_FILES=N`` makes a smaller (or larger) folder.
"""
from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from pathlib import Path

import pytest

from tests.benchmarks.cli_run import engram, fresh_home
from tests.documents import write_mixed_folder

FILES = int(os.environ.get("ENGRAM_BENCH_FILES", "1000"))

pytestmark = pytest.mark.benchmark


def engram_json(args: list[str], env: dict[str, str]) -> dict:
    return json.loads(engram(args, env).stdout)


def test_index_1000_mixed_documents(tmp_path: Path, models_dir: Path) -> None:
    docs = tmp_path / "Documents"
    total_bytes = write_mixed_folder(docs, FILES)
    env = fresh_home(tmp_path, models_dir)
    threads = os.environ.get("ENGRAM_BENCH_THREADS")
    load = os.getloadavg()[0]
    mb = total_bytes / 1e6

    started = time.perf_counter()
    first = engram_json(["index", str(docs), "--json"], env)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    again = engram_json(["index", str(docs), "--json"], env)
    again_s = time.perf_counter() - started
    assert first["indexed"] == FILES and first["skipped"] == 0, first["problems"][:5]
    assert again["unchanged"] == FILES and again["chunks_added"] == 0

    print(f"\nFolder indexing, {FILES:,} mixed documents, {mb:.1f} MB "
          f"(load average {load:.1f} on {os.cpu_count()} cores, embedder threads: "
          f"{threads or 'default'})")
    print(f"  first scan (CLI)     {first_s:7.1f} s  {FILES / first_s:6.1f} files/s  "
          f"{mb / first_s:6.2f} MB/s  {first['chunks_added']:,} passages "
          f"({first['chunks_added'] / mb:.0f} per MB)")
    print(f"    of which the scan  {first['seconds']:7.1f} s (the rest: start-up, model load)")
    print(f"  re-scan, unchanged   {again_s:7.1f} s  (scan itself {again['seconds']:.2f} s: "
          f"{FILES / max(again['seconds'], 1e-6):,.0f} files/s)")
    breakdown(docs, models_dir, int(threads) if threads else None)


def breakdown(docs: Path, models_dir: Path, threads: int | None) -> None:
    from core.models.embedding import Embedder
    from core.models.minilm_gguf import ensure_builtin_gguf
    from core.pipeline import embedding_text
    from ingest.files.chunk import chunk
    from ingest.files.extract import Extracted, extract

    per_kind: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0])
    texts: list[str] = []
    started = time.perf_counter()
    for path in sorted(p for p in docs.rglob("*") if p.is_file()):
        t0 = time.perf_counter()
        result = extract(path, max_bytes=20 * 1024 * 1024)
        assert isinstance(result, Extracted), result
        pieces = chunk(result)
        row = per_kind[result.kind]
        row[0] += 1
        row[1] += time.perf_counter() - t0
        row[2] += len(pieces)
        texts += [embedding_text(p.title, None, p.text) for p in pieces]
    extract_s = time.perf_counter() - started
    embedder = Embedder(ensure_builtin_gguf(models_dir), n_threads=threads)
    embedder.embed(["warm up"])
    sample = texts[:600]
    t0 = time.perf_counter()
    embedder.embed(sample)
    per_s = len(sample) / (time.perf_counter() - t0)
    embedder.close()
    print("  where the time goes (in-process):")
    print(f"    extract + chunk    {extract_s:7.1f} s for {len(texts):,} passages")
    for kind, (n, seconds, pieces) in sorted(per_kind.items()):
        print(f"      {kind:<8} {int(n):>4} files  {1000 * seconds / n:6.1f} ms/file  "
              f"{pieces / n:4.1f} passages/file")
    print(f"    embed              {len(texts) / per_s:7.1f} s  ({per_s:.1f} passages/s on "
          f"{embedder.n_threads} thread(s), measured on {len(sample)})")


def test_machine_data_passages_per_mb(tmp_path: Path) -> None:
    import random

    from ingest.files.chunk import chunk
    from ingest.files.extract import DATA_MAX_BYTES, Extracted, extract

    rng = random.Random(5)
    files = {
        "track.json": json.dumps({"coordinates": [[rng.uniform(-180, 180), rng.uniform(-90, 90)]
                                                  for _ in range(80_000)]}),
        "server.log": "\n".join(f"2024-05-0{n % 9 + 1} 12:00:{n % 60:02d} INFO request {n} "
                                f"served in {rng.randint(1, 900)} ms" for n in range(40_000)),
        "bundle.min.js": "function a(b){return b+1};var c=a(2);" * 30_000,
    }
    print("\nMachine data: passages per MB, read whole vs name + head "
          f"(file_data_max_kb = {DATA_MAX_BYTES // 1024})")
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text)
        mb = path.stat().st_size / 1e6
        row = []
        for limit in (0, DATA_MAX_BYTES):
            started = time.perf_counter()
            result = extract(path, max_bytes=20 * 1024 * 1024, data_max_bytes=limit)
            assert isinstance(result, Extracted), result
            pieces = chunk(result)
            row.append((len(pieces), time.perf_counter() - started))
        (whole, whole_s), (head, head_s) = row
        print(f"  {name:<14} {mb:5.1f} MB  whole: {whole:5,} passages ({whole / mb:6.0f}/MB, "
              f"{whole_s:5.2f} s)   head: {head} ({head / mb:5.1f}/MB, {head_s:5.2f} s)")
        assert head == 1
