"""LoCoMo evidence recall: does search find the message that holds the answer?

    .venv/bin/python -m pytest -m benchmark tests/benchmarks/bench_locomo.py -s

For each conversation in ../shared/data/locomo-dev/messages (read in place: its
licence forbids copying it into the repo), a fresh data dir, `engram import`,
then every question of that conversation through `engram search --json -k 20`.
Both run in-process through the commands' own code (argument parsing, handler,
JSON output); searches share one opened engine so a thousand questions don't
pay a thousand key derivations. A hit matches an evidence id when its external
id ends with ``:<id>`` (ids repeat across conversations; each conversation is
its own store). Prints recall@5/10/20 per category and overall.
``ENGRAM_BENCH_CONVERSATIONS=conv-26,conv-30`` limits the conversations.
"""
from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from pathlib import Path

import pytest

from app.cli import build_parser, main
from app.cli.context import Context
from tests.conftest import locomo_dir

# Beside the checkout (or ENGRAM_LOCOMO), found from a worktree too.
DATA = locomo_dir() or Path(__file__).resolve().parents[3] / "shared" / "data" / "locomo-dev"
KS = (5, 10, 20)
TARGET_AT_10 = 0.75

pytestmark = pytest.mark.benchmark


def recall(ranked: list[str], evidence: list[str], k: int) -> float:
    top = ranked[:k]
    found = sum(1 for e in evidence if any(ext.endswith(f":{e}") for ext in top))
    return found / len(evidence)


def search_all(data_dir: Path, questions: list[dict], capsys) -> list[list[str]]:
    """Each question through `engram search QUESTION --json -k 20`; external ids, ranked."""
    parser = build_parser()
    engine = None
    ranked = []
    try:
        for q in questions:
            args = parser.parse_args(["search", q["question"], "--json", "-k", "20",
                                      "--data-dir", str(data_dir)])
            ctx = Context(args)
            if engine is None:
                engine = ctx.engine(create=False)
            ctx._engine = engine
            assert args.func(ctx) == 0
            results = json.loads(capsys.readouterr().out)["results"]
            ranked.append([r["external_id"] or "" for r in results])
    finally:
        if engine is not None:
            engine.close()
    return ranked


@pytest.mark.skipif(not DATA.exists(), reason="LoCoMo dev data not found beside the repo")
def test_locomo_evidence_recall(tmp_path: Path, models_dir: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ENGRAM_MODELS", str(models_dir))
    monkeypatch.setenv("ENGRAM_PASSPHRASE", "benchmark passphrase")
    questions = [json.loads(line) for line in (DATA / "questions.jsonl").open()]
    conversations = sorted(p.stem for p in (DATA / "messages").glob("*.jsonl"))
    wanted = os.environ.get("ENGRAM_BENCH_CONVERSATIONS")
    if wanted:
        conversations = [c for c in conversations if c in wanted.split(",")]
    scores: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    timings = []
    for conv in conversations:
        data_dir = tmp_path / conv
        started = time.perf_counter()
        assert main(["import", str(DATA / "messages" / f"{conv}.jsonl"), "--json",
                     "--data-dir", str(data_dir)]) == 0
        imported = json.loads(capsys.readouterr().out)
        import_s = time.perf_counter() - started
        asked = [q for q in questions if q["conversation"] == conv and q["evidence"]]
        started = time.perf_counter()
        ranked = search_all(data_dir, asked, capsys)
        search_s = time.perf_counter() - started
        timings.append((conv, imported["imported"], import_s, len(asked), search_s))
        for q, ids in zip(asked, ranked):
            for k in KS:
                value = recall(ids, q["evidence"], k)
                scores[q["category"]][k].append(value)
                scores["overall"][k].append(value)

    print(f"\nLoCoMo dev, evidence recall@k through `engram import` + `engram search` "
          f"({len(conversations)} conversations)")
    for conv, n, import_s, asked, search_s in timings:
        print(f"  {conv}: {n} messages imported in {import_s:.1f} s; {asked} questions "
              f"in {search_s:.1f} s ({1000 * search_s / max(asked, 1):.0f} ms each)")
    print(f"{'category':<14}{'questions':>10}" + "".join(f"{'R@' + str(k):>8}" for k in KS))
    for category in sorted(c for c in scores if c != "overall") + ["overall"]:
        row = scores[category]
        print(f"{category:<14}{len(row[KS[0]]):>10}" +
              "".join(f"{sum(row[k]) / len(row[k]):>8.3f}" for k in KS))
    overall = sum(scores["overall"][10]) / len(scores["overall"][10])
    print(f"overall recall@10 {overall:.3f} (target ≥ {TARGET_AT_10})")
