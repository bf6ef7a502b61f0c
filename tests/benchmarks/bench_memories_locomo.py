"""Memories on LoCoMo (dev split): are they the person's facts, and do they help search?

    .venv/bin/python -m pytest -m benchmark tests/benchmarks/bench_memories_locomo.py -s
    ENGRAM_BENCH_MODEL=smollm2 ...   (the same with SmolLM2-135M-Instruct writing too)
    ENGRAM_BENCH_CONVERSATIONS=conv-26,conv-30 ...   (a subset)
    ENGRAM_BENCH_SESSIONS=4 ...   (only each conversation's first 4 sessions, with their gold
                                   observations, summaries and questions: a model run in minutes)

Quality against the dataset's gold observations and session summaries (issue 13),
with all-MiniLM-L6-v2 normalised vectors of each memory's ``text``:

- **coverage**: share of gold observations with some current memory at cosine ≥ 0.70;
- **provenance**: of the covered, the share whose best memory cites one of the
  observation's evidence messages;
- **speaker**: of the covered, the share whose best memory names the observation's speaker;
- **support**: share of current semantic and core memories matching some gold
  observation of their conversation at cosine ≥ 0.60 (a lower bound on precision);
- **episodes**: mean cosine between each session's summary and its episode memory
  (0 for a session without one);
- memories per type and per fact kind, consolidation seconds and events/s.

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
Data is read from ``shared/data/locomo-dev`` beside the checkout (or ``ENGRAM_LOCOMO``), never
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
from tests.conftest import locomo_dir  # noqa: E402  (after the path insert)

DATA = locomo_dir() or Path("shared/data/locomo-dev")
K = 10
RRF_K = 60
COVERED = 0.70
SUPPORTED = 0.60


def gold(name: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for line in (DATA / name).read_text("utf-8").splitlines():
        row = json.loads(line)
        out[row["conversation"]].append(row)
    return out


def quality(engine: Any, memories: list[Any], observations: list[dict], summaries: list[dict]
            ) -> dict[str, float]:
    """Coverage, provenance, speaker, support and episode similarity for one conversation."""
    import numpy as np

    from core.store import events as event_rows

    db = engine.store.reader()
    current = [m for m in memories if m.current]
    embed = engine.pipeline.embedder.embed
    mem_vecs = embed([m.text for m in current], interactive=False) if current else np.zeros((0, 384))
    obs_vecs = embed([o["text"] for o in observations], interactive=False)
    sims = obs_vecs @ mem_vecs.T if len(current) else np.zeros((len(observations), 0))
    events = event_rows.get_many(db, sorted({s for m in current for s in m.sources}))
    msg_of = {eid: message_id(e.external_id) for eid, e in events.items()}
    covered = provenance = speaker = uncited = close = 0
    cites = [{msg_of.get(s) for s in m.sources} for m in current]
    for i, o in enumerate(observations):
        if not len(current):
            break
        j = int(np.argmax(sims[i]))
        if sims[i, j] < COVERED:
            continue
        covered += 1
        best = current[j]
        evidence = set(o["evidence"])
        found = bool(cites[j] & evidence)
        provenance += found
        speaker += o["speaker"].lower() in best.text.lower()
        if not found:  # why not: no fact from the evidence, or one a little less similar
            own = [n for n, m in enumerate(current) if m.type != "episodic" and cites[n] & evidence]
            if not own:
                uncited += 1
            elif sims[i, j] - max(sims[i, n] for n in own) < 0.05:
                close += 1
    facts = [n for n, m in enumerate(current) if m.type in ("semantic", "core")]
    supported = sum(1 for n in facts if len(observations) and sims[:, n].max() >= SUPPORTED)
    episode_sims = []
    for summary in summaries:
        episodes = [m for m in current if m.type == "episodic"
                    and (m.group_key or "").endswith("|" + summary["session"])]
        if not episodes:
            episode_sims.append(0.0)
            continue
        svec = embed([summary["summary"]], interactive=False)[0]
        evecs = embed([m.text for m in episodes], interactive=False)
        episode_sims.append(float((evecs @ svec).max()))
    return {"coverage": covered / max(1, len(observations)),
            "provenance": provenance / max(1, covered), "speaker": speaker / max(1, covered),
            "support": supported / max(1, len(facts)),
            "episodes": sum(episode_sims) / max(1, len(episode_sims)),
            "n_obs": len(observations), "n_covered": covered, "n_facts": len(facts),
            "n_supported": supported, "miss_uncited": uncited, "miss_close": close}


def bench_extractor() -> Any:
    """SmolLM2 as the model builder when ENGRAM_BENCH_MODEL=smollm2, else None."""
    if os.environ.get("ENGRAM_BENCH_MODEL", "") != "smollm2":
        return None
    from core.memory.model_facts import SentenceFactWriter
    from core.models.runtime import ChatRuntime
    from tests.conftest import smollm2_path

    runtime = ChatRuntime(smollm2_path(), n_ctx=1024)
    return SentenceFactWriter(runtime)


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


def import_conversation(engine: Any, path: Path, sessions: int | None = None) -> int:
    from ingest.chats.detect import parse_export

    with parse_export(path, "jsonl") as stream:
        items = stream if sessions is None else (
            o for o in stream if in_sessions(message_id(o.external_id), sessions))
        return len(engine.pipeline.submit(items).added)


def in_sessions(message: str | None, sessions: int | None) -> bool:
    """``D3:5`` is in the first 3 sessions (every message is, without a limit)."""
    if sessions is None:
        return True
    head = (message or "").split(":", 1)[0]
    return head[1:].isdigit() and int(head[1:]) <= sessions


def session_number(session: str) -> int:
    """``session_12`` → 12."""
    return int(session.rsplit("_", 1)[-1])


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
@pytest.mark.timeout(7200)  # five conversations, longer with a chat model
def test_locomo_memories_and_recall(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.memory import rows
    from core.memory.consolidate import consolidate
    from core.memory.search import list_memories, memory_terms, search_memories
    from core.records import SearchFilters

    if not DATA.exists():
        pytest.skip(f"{DATA} is not available")
    monkeypatch.setenv("ENGRAM_MODELS", str(models_dir))
    monkeypatch.setenv("ENGRAM_PASSPHRASE", "locomo benchmark only")  # throwaway stores
    questions: dict[str, list[dict]] = defaultdict(list)
    for line in (DATA / "questions.jsonl").read_text("utf-8").splitlines():
        q = json.loads(line)
        if q.get("evidence"):
            questions[q["conversation"]].append(q)
    observations, summaries = gold("observations.jsonl"), gold("session_summaries.jsonl")
    only = {c for c in os.environ.get("ENGRAM_BENCH_CONVERSATIONS", "").split(",") if c}
    sessions = int(os.environ["ENGRAM_BENCH_SESSIONS"]) if os.environ.get(
        "ENGRAM_BENCH_SESSIONS") else None
    if sessions is not None:
        print(f"only the first {sessions} sessions of each conversation")
        observations = {c: [o for o in rows_ if session_number(o["session"]) <= sessions]
                        for c, rows_ in observations.items()}
        summaries = {c: [o for o in rows_ if session_number(o["session"]) <= sessions]
                     for c, rows_ in summaries.items()}
        questions = {c: [q for q in qs if all(in_sessions(e, sessions) for e in q["evidence"])]
                     for c, qs in questions.items()}
    extractor = bench_extractor()
    totals: dict[str, list[float]] = defaultdict(list)
    by_category: dict[tuple[str, str], list[float]] = defaultdict(list)
    quality_sum: dict[str, float] = defaultdict(float)
    kinds_all: dict[str, int] = defaultdict(int)
    seconds_all = events_all = 0.0
    print(f"\nmodel: {'SmolLM2-135M-Instruct' if extractor else 'none (rules)'}")
    print(f"{'conversation':<12} {'msgs':>5} {'cover':>6} {'prov':>6} {'spkr':>6} {'support':>8} "
          f"{'episode':>8} {'core':>5} {'epis':>5} {'sem':>5} {'proc':>5} {'cons s':>7} "
          f"{'ev/s':>6} {'R@10 ev':>8} {'+mem':>6} {'rejected':>9}")
    for path in sorted((DATA / "messages").glob("*.jsonl")):
        conv = path.stem
        if only and conv not in only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            engine = open_store(Path(tmp) / "home")
            try:
                n = import_conversation(engine, path, sessions)
                t0 = time.perf_counter()
                calls0, model0 = getattr(extractor, "calls", 0), getattr(extractor, "seconds", 0.0)
                report = consolidate(engine, extractor=extractor, progress=(
                    (lambda p: print(f"  {conv}: {p.done}/{p.total} {p.label}", flush=True))
                    if extractor else None))
                seconds = time.perf_counter() - t0
                db = engine.store.reader()
                everything = list_memories(db, include_all=True)
                types: dict[str, int] = defaultdict(int)
                for m in everything:
                    if m.current:
                        types[m.type] += 1
                        if m.type in ("core", "semantic"):
                            kinds_all[str(m.fields.get("kind") or m.fields.get("attribute")
                                          or "?").split(":")[0]] += 1
                q = quality(engine, everything, observations[conv], summaries[conv])
                for key in ("n_obs", "n_covered", "n_facts", "n_supported", "miss_uncited",
                            "miss_close"):
                    quality_sum[key] += q[key]
                quality_sum["provenance_n"] += q["provenance"] * q["n_covered"]
                quality_sum["speaker_n"] += q["speaker"] * q["n_covered"]
                quality_sum["episodes_n"] += q["episodes"] * len(summaries[conv])
                quality_sum["sessions"] += len(summaries[conv])
                seconds_all += seconds
                events_all += n
                space = engine.pipeline.space()
                per: dict[str, list[float]] = defaultdict(list)
                for question in questions[conv]:
                    evidence = set(question["evidence"])
                    event_hits = engine.retriever.search(question["question"], SearchFilters(include_memories=False), k=K)
                    event_hits = [h for h in event_hits if h.kind == "event"]
                    qvec = engine.pipeline.embedder.embed([question["question"]],
                                                          interactive=True)[0]
                    memory_hits = search_memories(db, terms=memory_terms(question["question"]),
                                                  query_vector=qvec, space=space, k=K)
                    covers = evidence_of_memories(db, [h.id for h in memory_hits])
                    sources = rows.sources_many(db, [h.id for h in memory_hits])
                    events_only = [{message_id(h.provenance.external_id)} - {None}
                                   for h in event_hits[:K]]
                    with_mem = merged_messages(event_hits, memory_hits, covers, sources)
                    for name, found in (("events", events_only), ("memories", with_mem)):
                        r = recall(found, evidence)
                        per[name].append(r)
                        totals[name].append(r)
                        by_category[(name, question["category"])].append(r)
            finally:
                engine.close()
        mean = {k: sum(v) / len(v) for k, v in per.items() if v}
        rejected = sum(report.rejected_reasons.values())
        print(f"{conv:<12} {n:>5} {q['coverage']:>6.3f} {q['provenance']:>6.3f} "
              f"{q['speaker']:>6.3f} {q['support']:>8.3f} {q['episodes']:>8.3f} "
              f"{types['core']:>5} {types['episodic']:>5} {types['semantic']:>5} "
              f"{types['procedural']:>5} {seconds:>7.1f} {n / max(seconds, 1e-9):>6.1f} "
              f"{mean.get('events', 0):>8.3f} {mean.get('memories', 0):>6.3f} {rejected:>9}")
        if report.rejected_reasons:
            print(f"{'':<12} rejected: {dict(report.rejected_reasons)}")
        if extractor is not None:
            print(f"{'':<12} model: {getattr(extractor, 'calls', 0) - calls0} calls, "
                  f"{getattr(extractor, 'seconds', 0.0) - model0:.1f} s generating, "
                  f"{report.model_candidates} memories passed the checks")
    s = quality_sum
    covered = max(1.0, s["n_covered"])
    print(f"{'all':<12} {int(events_all):>5} {s['n_covered'] / max(1, s['n_obs']):>6.3f} "
          f"{s['provenance_n'] / covered:>6.3f} {s['speaker_n'] / covered:>6.3f} "
          f"{s['n_supported'] / max(1, s['n_facts']):>8.3f} "
          f"{s['episodes_n'] / max(1, s['sessions']):>8.3f} {'':>23} {seconds_all:>7.1f} "
          f"{events_all / max(seconds_all, 1e-9):>6.1f}")
    misses = s["n_covered"] - s["provenance_n"]
    print(f"provenance misses: {misses:.0f} of {s['n_covered']:.0f} covered; no fact from the "
          f"evidence message {s['miss_uncited']:.0f}, the evidence's own fact within 0.05 cosine "
          f"of the best (another message saying much the same) {s['miss_close']:.0f}")
    print(f"fact kinds (current core + semantic): {dict(sorted(kinds_all.items()))}")
    mean = {k: sum(v) / len(v) for k, v in totals.items() if v}
    print(f"evidence recall@10 over {len(totals['events'])} questions: events only "
          f"{mean.get('events', 0):.3f}, with memory hits (through their sources) "
          f"{mean.get('memories', 0):.3f}")
    for category in sorted({c for _n, c in by_category}):
        cells = "  ".join(f"{name} {sum(v) / len(v):.3f}" for (name, c), v in by_category.items()
                          if c == category)
        print(f"  {category:<12} {cells}")
    assert totals["events"]
