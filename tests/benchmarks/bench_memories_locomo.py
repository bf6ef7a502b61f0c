"""Memories on LoCoMo (dev split), no chat model: how many, and do they help search?

    .venv/bin/python -m pytest -m benchmark tests/benchmarks/bench_memories_locomo.py -s

Each conversation is imported into its own fresh encrypted store (the same
parser and pipeline as ``engram import``), consolidated by the rule-based
builder, and each of its questions is searched two ways:

- **events**: ``Retriever.search`` top 10 (what search returns today);
- **events + memories**: ``Retriever.search``'s hits and ``search_memories``'s
  merged by ``core.memory.search.merge_hits`` (interleaved by rank; a memory
  whose sources are all event hits above it is left out), top 10 items; a
  memory hit counts for the messages it came from (its source events). Also
  shown: the same without episodic memories, and merged by the hits' scores.

recall@10 = share of a question's evidence messages found in the top 10,
averaged over questions. Because an episode covers a whole session, a memory
hit can cover many messages; so the figures also show a variant without
episodic memories and the mean number of distinct messages the top 10 covers.
Data is read from ``/work/shared/data/locomo-dev`` (``ENGRAM_LOCOMO``), never
copied into the repository.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

DATA = Path(os.environ.get("ENGRAM_LOCOMO", "/work/shared/data/locomo-dev"))
K = 10
RRF_K = 60


def message_id(external_id: str | None) -> str | None:
    """``jsonl:conv-26:D1:3`` → ``D1:3``."""
    if not external_id:
        return None
    parts = external_id.split(":", 2)
    return parts[2] if len(parts) == 3 else None


def open_store(home: Path) -> Any:
    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths

    paths = resolve_paths(home)
    return open_engine(paths, settings=Settings(paths.settings_path), ask=None)


def import_conversation(engine: Any, path: Path) -> int:
    from ingest.chats.detect import parse_export

    with parse_export(path, "jsonl") as stream:
        return len(engine.pipeline.submit(stream).added)


def evidence_of_memories(db: Any, memory_ids: Iterable[int]) -> dict[int, set[str]]:
    from core.memory import rows
    from core.store import events as event_rows

    memories = rows.get_many(db, list(memory_ids))
    events = event_rows.get_many(db, [s for m in memories.values() for s in m.sources])
    return {mid: {message_id(events[s].external_id) for s in m.sources if s in events} - {None}
            for mid, m in memories.items()}


def merged_messages(event_hits: list[Any], memory_hits: list[Any], covers: dict[int, set[str]],
                    sources: dict[int, tuple[int, ...]], *, skip_episodic: bool = False,
                    by: str = "rank") -> list[set[str]]:
    """The top K of events and memories merged, as the message-id set of each hit.

    ``by="rank"``: ``core.memory.search.merge_hits``, what search does.
    ``by="score"``: sorted by the hits' own scores instead, for comparison.
    """
    from core.memory.search import merge_hits

    memory_hits = [h for h in memory_hits if not (skip_episodic and h.memory_type == "episodic")]
    if by == "rank":
        merged = merge_hits(event_hits, memory_hits, K, sources=sources)
    else:
        merged = sorted(list(event_hits) + memory_hits, key=lambda h: -h.score)[:K]
    return [covers.get(h.id, set()) if h.kind == "memory"
            else {message_id(h.provenance.external_id)} - {None} for h in merged]


def recall(found: list[set[str]], evidence: set[str]) -> float:
    got = set().union(*found) if found else set()
    return len(got & evidence) / len(evidence)


@pytest.mark.benchmark
def test_locomo_memories_and_recall(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.memory import rows
    from core.memory.consolidate import consolidate
    from core.memory.search import list_memories, memory_terms, search_memories

    if not DATA.exists():
        pytest.skip(f"{DATA} is not available")
    monkeypatch.setenv("ENGRAM_MODELS", str(models_dir))
    monkeypatch.setenv("ENGRAM_PASSPHRASE", "locomo benchmark only")  # throwaway stores
    questions: dict[str, list[dict]] = defaultdict(list)
    for line in (DATA / "questions.jsonl").read_text("utf-8").splitlines():
        q = json.loads(line)
        if q.get("evidence"):
            questions[q["conversation"]].append(q)
    totals: dict[str, list[float]] = defaultdict(list)
    by_category: dict[tuple[str, str], list[float]] = defaultdict(list)
    print()
    print(f"{'conversation':<12} {'msgs':>5} {'core':>5} {'epis':>5} {'sem':>5} {'proc':>5} "
          f"{'superseded':>10} {'cons s':>7} {'R@10 ev':>8} {'+mem':>6} {'+mem-ep':>8} {'score':>6} "
          f"{'cover ev':>8} {'cover+mem':>9}")
    for path in sorted((DATA / "messages").glob("*.jsonl")):
        conv = path.stem
        with tempfile.TemporaryDirectory() as tmp:
            engine = open_store(Path(tmp) / "home")
            try:
                n = import_conversation(engine, path)
                t0 = time.perf_counter()
                report = consolidate(engine)
                seconds = time.perf_counter() - t0
                db = engine.store.reader()
                everything = list_memories(db, include_all=True)
                types = defaultdict(int)
                for m in everything:
                    if m.current:
                        types[m.type] += 1
                superseded = sum(1 for m in everything if not m.current)
                space = engine.pipeline.space()
                per: dict[str, list[float]] = defaultdict(list)
                for q in questions[conv]:
                    evidence = set(q["evidence"])
                    event_hits = engine.retriever.search(q["question"], k=K)
                    event_hits = [h for h in event_hits if h.kind == "event"]
                    qvec = engine.pipeline.embedder.embed([q["question"]], interactive=True)[0]
                    memory_hits = search_memories(db, terms=memory_terms(q["question"]),
                                                  query_vector=qvec, space=space, k=K)
                    covers = evidence_of_memories(db, [h.id for h in memory_hits])
                    sources = rows.sources_many(db, [h.id for h in memory_hits])
                    events_only = [{message_id(h.provenance.external_id)} - {None}
                                   for h in event_hits[:K]]
                    with_mem = merged_messages(event_hits, memory_hits, covers, sources)
                    by_score = merged_messages(event_hits, memory_hits, covers, sources,
                                               by="score")
                    no_episodes = merged_messages(event_hits, memory_hits, covers, sources,
                                                  skip_episodic=True)
                    for name, found in (("events", events_only), ("memories", with_mem),
                                        ("by_score", by_score), ("no_episodic", no_episodes)):
                        r = recall(found, evidence)
                        per[name].append(r)
                        totals[name].append(r)
                        by_category[(name, q["category"])].append(r)
                    for name, found in (("cover_events", events_only), ("cover_mem", with_mem)):
                        per[name].append(len(set().union(*found)) if found else 0)
                        totals[name].append(per[name][-1])
            finally:
                engine.close()
        mean = {k: sum(v) / len(v) for k, v in per.items() if v}
        print(f"{conv:<12} {n:>5} {types['core']:>5} {types['episodic']:>5} "
              f"{types['semantic']:>5} {types['procedural']:>5} {superseded:>10} "
              f"{seconds:>7.1f} {mean['events']:>8.3f} {mean['memories']:>6.3f} "
              f"{mean['no_episodic']:>8.3f} {mean['by_score']:>6.3f} {mean['cover_events']:>8.1f} "
              f"{mean['cover_mem']:>9.1f}"
              f"   (report: {report.total('added')} added, {report.total('merged')} merged)")
    mean = {k: sum(v) / len(v) for k, v in totals.items() if v}
    print(f"{'all':<12} questions={len(totals['events'])}  recall@10 events only "
          f"{mean['events']:.3f}  with memory hits {mean['memories']:.3f}  "
          f"with memory hits except episodes {mean['no_episodic']:.3f}  "
          f"merged by score instead of rank {mean['by_score']:.3f}  "
          f"(messages covered by the top 10: {mean['cover_events']:.1f} vs {mean['cover_mem']:.1f})")
    for category in sorted({c for _n, c in by_category}):
        cells = "  ".join(f"{name} {sum(v) / len(v):.3f}" for (name, c), v in by_category.items()
                          if c == category for _ in [0])
        print(f"  {category:<12} {cells}")
    assert totals["events"]
