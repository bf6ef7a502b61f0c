"""Ask without a chat model on LoCoMo: does the extractive answer contain the reference?

Run: .venv/bin/python -m pytest -m benchmark tests/benchmarks/bench_ask_locomo.py -s
(ENGRAM_BENCH_CONVERSATIONS=conv-26,conv-30 limits the conversations.)
Data: ../shared/data/locomo-dev (read in place; licence forbids copying it here).
"""
from __future__ import annotations

import json
import os
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path

import pytest

from app.bootstrap import open_engine
from core.chat import Done, EvidenceFound
from core.config import Settings, resolve_paths
from ingest.chats.detect import parse_export

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "locomo-dev"

pytestmark = pytest.mark.benchmark


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def contains_answer(answer: str, reference: str) -> bool:
    return normalise(reference) in normalise(answer)


@pytest.mark.skipif(not DATA.exists(), reason="LoCoMo dev data not found beside the repo")
def test_ask_locomo_no_model(tmp_path: Path, models_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("ENGRAM_MODELS", str(models_dir))
    monkeypatch.setenv("ENGRAM_PASSPHRASE", "benchmark passphrase")
    questions = [json.loads(line) for line in (DATA / "questions.jsonl").open()]
    wanted = os.environ.get("ENGRAM_BENCH_CONVERSATIONS")
    conversations = sorted(p.stem for p in (DATA / "messages").glob("*.jsonl"))
    if wanted:
        conversations = [c for c in conversations if c in wanted.split(",")]
    hits: dict[str, list[bool]] = defaultdict(list)
    misled: dict[str, list[bool]] = defaultdict(list)
    first_evidence: list[float] = []
    for conv in conversations:
        paths = resolve_paths(tmp_path / conv)
        engine = open_engine(paths, settings=Settings(paths.settings_path), ask=None)
        try:
            engine.pipeline.submit(parse_export(DATA / "messages" / f"{conv}.jsonl", "jsonl"))
            asker = engine.asker()
            assert asker.model is None, "benchmark is for no-model mode"
            for q in (q for q in questions if q["conversation"] == conv):
                started = time.perf_counter()
                answer = None
                for item in asker.answer(q["question"]):
                    if isinstance(item, EvidenceFound):
                        first_evidence.append(time.perf_counter() - started)
                    elif isinstance(item, Done):
                        answer = item.answer
                if q["answer"] is None:
                    # Adversarial: the question presupposes something that did not
                    # happen (usually to another person). Count how often the quotes
                    # carry the misleading answer; lower is better.
                    misled[q["category"]].append(
                        contains_answer(answer or "", str(q.get("adversarial_answer", ""))))
                    continue
                hits[q["category"]].append(contains_answer(answer or "", str(q["answer"])))
        finally:
            engine.close()
    print("\nAsk, no chat model — extractive answer contains the reference answer")
    print(f"{'category':<14}{'questions':>10}{'share':>8}")
    total = []
    for category in sorted(hits):
        values = hits[category]
        total += values
        print(f"{category:<14}{len(values):>10}{sum(values) / len(values):>8.3f}")
    print(f"{'overall':<14}{len(total):>10}{sum(total) / len(total):>8.3f}")
    for category, values in sorted(misled.items()):
        print(f"{category:<14}{len(values):>10}{sum(values) / len(values):>8.3f}"
              "   (no reference answer: share quoting the misleading answer, lower is better)")
    ordered = sorted(first_evidence)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"time to first evidence: p50 {statistics.median(ordered) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms (no model: no first token)")
    assert total
