"""Where a hybrid search's time goes: per-stage times inside ``Retriever.search``.

    ENGRAM_BENCH_ITEMS=100000 .venv/bin/python tests/benchmarks/footprint_profile.py [rounds]
    .venv/bin/python tests/benchmarks/footprint_profile.py --instance [daemon]   # see below

Opens the cached ``bench_footprint`` store of ``ENGRAM_BENCH_ITEMS`` items in
this process (as the daemon does: engine, in-memory event and memory indexes),
then runs the benchmark's queries (given their vectors) many times and times
each stage by wrapping the functions that do it. Per stage it prints the wall
p50/p95 and the CPU time of the thread that ran it: on a loaded machine the
wall time is inflated by waiting for a core, the thread's CPU time much less,
so the CPU column says what a stage costs and the wall column what it cost now.
Stages nest (``memories`` holds ``mem keyword`` …); the keyword list of events
and the memories' search run on worker threads beside the vector scan, so
``total`` (the calling thread) is less than the sum of the stages.

``--instance`` runs the real app (or ``daemon``) with the same timers in and
prints the table on stderr when it exits: ``bench_footprint.py`` does this
with ENGRAM_BENCH_STAGES=1, to compare the app's stages with the daemon's.
"""
from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks import footprint_store as fs  # noqa: E402
from tests.benchmarks import synthetic as syn  # noqa: E402

WALL: dict[str, list[float]] = defaultdict(list)
CPU: dict[str, list[float]] = defaultdict(list)
MISSES: dict[str, list[int]] = defaultdict(list)  # page cache misses of the thread's connection
READER: list[Callable[[], Any]] = []  # the store's reader() once open


def _misses() -> int:
    import apsw

    return READER[0]().status(apsw.SQLITE_DBSTATUS_CACHE_MISS)[0] if READER else 0


def timed(owner: Any, name: str, label: str) -> None:
    """Replace ``owner.name`` by a wrapper adding each call's times to ``label``."""
    inner: Callable = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not READER and args and hasattr(args[0], "store"):
            READER.append(args[0].store.reader)  # the first Retriever call names the store
        m, w, c = _misses(), time.perf_counter(), time.thread_time()
        try:
            return inner(*args, **kwargs)
        finally:
            WALL[label].append((time.perf_counter() - w) * 1000)
            CPU[label].append((time.thread_time() - c) * 1000)
            MISSES[label].append(_misses() - m)

    setattr(owner, name, wrapper)


def instrument() -> None:
    from core import retrieval
    from core.memory import rows as memory_rows
    from core.memory import search as ms
    from core.memory.vector_index import MemoryIndex
    from core.store import events as event_rows
    from core.store import fts
    from core.store.vector_index import VectorIndex

    R = retrieval.Retriever
    timed(R, "search", "total")
    timed(R, "_keyword", "ev keyword (worker)")
    timed(R, "_semantic", "ev vector")
    timed(R, "_event_hits", "ev hits")
    timed(R, "_rerank", "  ev rerank (neighbours)")
    timed(R, "_fts_snippets", "  ev fts snippets")
    timed(event_rows, "get_many", "  event rows")
    timed(fts, "count_upto", "  fts count")
    timed(VectorIndex, "_read_q8", "  ev q8 read")
    if hasattr(R, "_memory_hits"):
        timed(R, "_memory_hits", "memory job (worker)")
    timed(ms, "search_memories", "memories")
    timed(ms, "_keyword", "  mem keyword")
    timed(MemoryIndex, "search", "  mem vector")
    timed(ms, "_ranking_rows", "  mem ranking rows")
    timed(memory_rows, "get_many", "  mem rows")
    timed(ms, "hits_for", "  mem hits")
    timed(memory_rows, "sources_many", "mem sources")
    timed(ms, "merge_hits", "merge")
    # The functions are looked up through their modules at call time, except
    # names retrieval imported directly; none are, but say so if it changes.
    assert retrieval.memory_search is ms


def open_instance(n: int):
    os.environ.update(fs.env_for(fs.home_dir(n)))
    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths

    paths = resolve_paths(fs.home_dir(n))
    embedder = fs.SyntheticEmbedder(fs.real_identity(), syn.make_corpus())
    engine = open_engine(paths, settings=Settings(paths.settings_path), ask=None,
                         embedder=embedder)
    began = time.perf_counter()
    thread = engine.retriever.start_index()
    if thread is not None:
        thread.join()
    print(f"indexes loaded in {time.perf_counter() - began:.2f} s "
          f"({len(engine.retriever.vector_index() or [])} items)")
    return engine


def table(title: str) -> str:
    """The per-stage figures collected so far."""
    lines = [title, f"{'stage':<28}{'calls':>7}{'wall p50':>10}{'wall p95':>10}{'cpu p50':>9}"
             f"{'cpu p95':>9}{'cpu mean':>9}{'misses':>8}  (ms per call; mean page cache misses)"]
    for label in WALL:
        w, c = np.array(WALL[label]), np.array(CPU[label])
        lines.append(f"{label:<28}{len(w):>7}{np.percentile(w, 50):>10.2f}"
                     f"{np.percentile(w, 95):>10.2f}{np.percentile(c, 50):>9.2f}"
                     f"{np.percentile(c, 95):>9.2f}{c.mean():>9.2f}{np.mean(MISSES[label]):>8.1f}")
    return "\n".join(lines)


def connections() -> str:
    """SQLite's heap and each reader connection's page cache (MB), as last seen."""
    import apsw

    return (f"last seen (every 5 s): SQLite heap {HEAP[0]:.1f} MB (soft limit "
            f"{apsw.soft_heap_limit(-1) / 1e6:.0f} MB), {len(CACHES)} read connections, "
            f"their page caches MB: " + ", ".join(f"{c:.1f}" for c in CACHES)
            + f"; the writer's page cache {WRITER[0]:.1f} MB")


CACHES: list[float] = []
HEAP = [0.0]
WRITER = [0.0]


def _watch_caches() -> None:
    """Every few seconds, the page cache each of the store's reader connections holds."""
    import apsw

    while True:
        time.sleep(5)
        if READER:
            store = READER[0].__self__
            sizes = []
            for conn in list(getattr(store, "_readers", [])):
                try:
                    sizes.append(conn.status(apsw.SQLITE_DBSTATUS_CACHE_USED)[0] / 1e6)
                except Exception:
                    sizes.append(float("nan"))  # closed, or busy in its thread
            CACHES[:] = sorted(sizes, reverse=True)
            try:
                WRITER[0] = store._writer._conn.status(apsw.SQLITE_DBSTATUS_CACHE_USED)[0] / 1e6
            except Exception:
                WRITER[0] = float("nan")
            HEAP[0] = apsw.status(apsw.SQLITE_STATUS_MEMORY_USED)[0] / 1e6


def run_instance(argv: list[str]) -> None:
    """Run the real ``python -m app [argv]`` with the stage timers in, printing the
    table on stderr when it exits (``bench_footprint`` with ENGRAM_BENCH_STAGES=1)."""
    import atexit
    import runpy

    instrument()

    def report() -> None:
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(table(f"stages inside `engram {' '.join(argv) or '(app)'}`, load average "
                    f"{load}:") + "\n" + connections(), file=sys.stderr, flush=True)

    atexit.register(report)
    import threading

    threading.Thread(target=_watch_caches, name="cache-watch", daemon=True).start()
    sys.argv = ["app", *argv]
    runpy.run_module("app", run_name="__main__", alter_sys=True)


def main() -> None:
    n = int(os.environ.get("ENGRAM_BENCH_ITEMS", "100000").split(",")[0])
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    engine = open_instance(n)
    from core.records import SearchFilters

    queries = syn.queries(syn.make_corpus(), 300)
    retriever = engine.retriever
    try:
        for text, vec, _ in queries[:30]:  # warm-up
            retriever.search(text, SearchFilters(), k=10, query_vector=vec)
        instrument()
        READER.append(engine.store.reader)
        for _ in range(rounds):
            for text, vec, _ in queries:
                retriever.search(text, SearchFilters(), k=10, query_vector=vec)
    finally:
        engine.close()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(table(f"{n:,} items, {rounds}×{len(queries)} hybrid searches, load average {load}"))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--instance"]:
        run_instance(sys.argv[2:])
    else:
        main()
