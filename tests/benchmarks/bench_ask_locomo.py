"""Ask on LoCoMo: how good is the short answer, with no model and with SmolLM2?

Run: .venv/bin/python -m pytest -m benchmark tests/benchmarks/bench_ask_locomo.py -s
  ENGRAM_BENCH_CONVERSATIONS=conv-26,conv-30   limits the conversations;
  ENGRAM_BENCH_MODEL_QUESTIONS=N               questions per conversation with the model
                                               (default 40; 0 = all: about 5 s a question
                                               with SmolLM2 on 2 busy cores);
  ENGRAM_BENCH_DUMP=/tmp/x.jsonl               writes each question, reference, answer and
                                               F1 there (outside the repository: the data's
                                               licence forbids copying it in);
  ENGRAM_BENCH_VERBOSE=1                       prints each answer and the model's draft.
With the model (-k smollm2) it also answers each question with no model, to compare.
Data: ../shared/data/locomo-dev (read in place; licence forbids copying it here).

Per category it prints: token F1 of ``answer`` against the reference (LoCoMo's
normalisation: lower-case, punctuation and articles removed; citation markers
like [2] are removed first, they are not words of the answer), whether the
normalised reference is contained in ``answer`` (the short answer only, never the
evidence), the share answered "not found", and for adversarial questions (no
reference: the question presupposes something that did not happen) how often
the trap answer appears in ``answer``. Latency: the whole answer in-process with
no model; time to first token (and to the answer) with the model. With the model
it also counts leaked prompt framing (in the answer, the draft and every streamed
token: delimiters, nonces, special tokens, role markers) and uncited answers shown as
grounded (both must be 0), the fallback rate, and how many shown answers score
below the no-model answer to the same question.
"""
from __future__ import annotations

import json
import os
import re
import statistics
import string
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.bootstrap import open_engine
from core.chat import Asker, Done, Token
from core.config import Settings, resolve_paths
from core.threads import Threads
from ingest.chats.detect import parse_export

# Beside the repository (../shared/data/locomo-dev), found from a worktree too.
DATA = next((p / "shared" / "data" / "locomo-dev" for p in Path(__file__).resolve().parents
             if (p / "shared" / "data" / "locomo-dev").is_dir()),
            Path(__file__).resolve().parents[3] / "shared" / "data" / "locomo-dev")
SCORED = ("single-hop", "multi-hop", "temporal", "open-domain")
_CITE = re.compile(r"\[\d{1,3}\]")
# Anything of the prompt's framing that must never reach an answer, a draft or a
# streamed token: delimiters, special tokens, role markers, the prompt's own headings.
_LEAK = re.compile(r"⟦|⟧|<\|[^|>]*\|>|<\||\|>|\bim_(start|end)\b|\beot_id\b|</?s>|"
                   r"\[/?INST\]|<</?SYS>>|<(start|end)_of_turn>|"
                   r"^\s*(system|user|assistant|notes|question)\s*:", re.I | re.M)

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(0),
              pytest.mark.skipif(not DATA.exists(), reason="LoCoMo dev data not found")]


def normalise(text: str) -> str:
    """LoCoMo's answer normalisation (SQuAD-style)."""
    text = _CITE.sub(" ", str(text)).lower()
    text = "".join(" " if ch in string.punctuation else ch for ch in text)
    text = re.sub(r"\b(a|an|the|and)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str, reference: str) -> float:
    pred, ref = normalise(prediction).split(), normalise(reference).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains(answer: str, reference: str) -> bool:
    ref = normalise(reference)
    return bool(ref) and f" {ref} " in f" {normalise(answer)} "


@dataclass
class Tally:
    f1: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    by_conversation: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    rows: list[dict[str, Any]] = field(default_factory=list)
    contained: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    not_found: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    trap: list[bool] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    first_token: list[float] = field(default_factory=list)
    modes: Counter = field(default_factory=Counter)
    leaked: int = 0
    uncited_grounded: int = 0
    # With a model: the no-model answer to the same question, to compare with.
    plain_f1: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    worse: int = 0  # questions whose shown answer scores below the no-model one

    def add(self, q: dict[str, Any], done: Done, seconds: float, ttft: float | None,
            tokens: tuple[str, ...] = (), nonces: tuple[str, ...] = (),
            plain: Done | None = None) -> None:
        self.latency.append(seconds)
        if ttft is not None:
            self.first_token.append(ttft)
        self.modes[done.mode] += 1
        # Every streamed token, their concatenation, the answer and the draft.
        texts = (*tokens, "".join(tokens), done.answer, done.draft)
        self.leaked += any(_LEAK.search(t) or any(n in t for n in nonces) for t in texts)
        self.uncited_grounded += done.mode == "model" and not done.citations
        cat = q["category"]
        if plain is not None and q["answer"] is not None:
            self.plain_f1[cat].append(token_f1(plain.answer, str(q["answer"])))
            self.worse += token_f1(done.answer, str(q["answer"])) \
                < self.plain_f1[cat][-1] - 1e-9
        self.not_found[cat].append(done.mode in ("not-found", "not_found"))
        row = {"qid": q["qid"], "category": cat, "question": q["question"],
               "reference": q["answer"], "answer": done.answer, "mode": done.mode}
        self.rows.append(row)
        if q["answer"] is None:
            self.trap.append(contains(done.answer, str(q.get("adversarial_answer") or "")))
            row["trap"] = self.trap[-1]
            return
        self.f1[cat].append(token_f1(done.answer, str(q["answer"])))
        row["f1"] = self.f1[cat][-1]
        if cat in SCORED:
            self.by_conversation[q["conversation"]].append(self.f1[cat][-1])
        self.contained[cat].append(contains(done.answer, str(q["answer"])))

    def report(self, title: str) -> dict[str, float]:
        mean = statistics.fmean
        print(f"\n{title}")
        print(f"{'category':<13}{'n':>5}{'F1':>7}{'contains':>10}{'not-found':>11}")
        for cat in SCORED:
            if self.f1[cat]:
                print(f"{cat:<13}{len(self.f1[cat]):>5}{mean(self.f1[cat]):>7.3f}"
                      f"{mean(self.contained[cat]):>10.3f}{mean(self.not_found[cat]):>11.3f}")
        scored = [v for c in SCORED for v in self.f1[c]]
        held = [v for c in SCORED for v in self.contained[c]]
        print(f"{'categories 1-4':<13}{len(scored):>5}{mean(scored):>7.3f}{mean(held):>10.3f}")
        print("per conversation (categories 1-4): " + ", ".join(
            f"{c} {mean(v):.3f}" for c, v in sorted(self.by_conversation.items())))
        dump = os.environ.get("ENGRAM_BENCH_DUMP")
        if dump:
            with open(dump, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r) + "\n" for r in self.rows)
        figures = {"f1": mean(scored), "temporal_f1": mean(self.f1["temporal"] or [0.0])}
        if self.plain_f1:  # the same questions answered with no model
            print("no model, same questions: " + ", ".join(
                f"{c} {mean(self.plain_f1[c]):.3f}" for c in SCORED if self.plain_f1[c])
                + f"; categories 1-4 {mean([v for c in SCORED for v in self.plain_f1[c]]):.3f}"
                + f"; shown answer below the no-model one: {self.worse}")
        if self.trap:
            figures["trap"] = mean(self.trap)
            print(f"{'adversarial':<13}{len(self.trap):>5}  trap answer quoted "
                  f"{figures['trap']:.3f}, not-found {mean(self.not_found['adversarial']):.3f}")
        ordered = sorted(self.latency)
        figures["p95"] = ordered[int(0.95 * (len(ordered) - 1))]
        print(f"answer latency: p50 {statistics.median(ordered) * 1000:.0f} ms, "
              f"p95 {figures['p95'] * 1000:.0f} ms")
        if self.first_token:
            firsts = sorted(self.first_token)
            print(f"time to first token: p50 {statistics.median(firsts) * 1000:.0f} ms, "
                  f"p95 {firsts[int(0.95 * (len(firsts) - 1))] * 1000:.0f} ms")
        total = sum(self.modes.values())
        print("modes: " + ", ".join(f"{m} {n / total:.3f}" for m, n in sorted(self.modes.items())))
        print(f"leaked markers: {self.leaked}; uncited answers shown as grounded: "
              f"{self.uncited_grounded}")
        return figures


def _conversations() -> list[str]:
    found = sorted(p.stem for p in (DATA / "messages").glob("*.jsonl"))
    wanted = os.environ.get("ENGRAM_BENCH_CONVERSATIONS")
    return [c for c in found if c in wanted.split(",")] if wanted else found


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_dir: Path, *,
        model_path: Path | None = None, per_conversation: int = 0) -> Tally:
    monkeypatch.setenv("ENGRAM_MODELS", str(models_dir))
    monkeypatch.setenv("ENGRAM_PASSPHRASE", "benchmark passphrase")
    questions = [json.loads(line) for line in (DATA / "questions.jsonl").open()]
    tally = Tally()
    runtime = None
    nonces: list[str] = []
    if model_path is not None:
        import secrets

        import core.chat
        from core.models.runtime import ChatRuntime

        runtime = ChatRuntime(model_path, n_ctx=4096, idle_unload_seconds=None)

        class Recorder:  # every random string Ask makes (a nonce must never leak)
            @staticmethod
            def token_hex(n: int | None = None) -> str:
                value = secrets.token_hex(n)
                nonces.append(value)
                return value

        monkeypatch.setattr(core.chat, "secrets", Recorder())
    try:
        for conv in _conversations():
            paths = resolve_paths(tmp_path / conv)
            engine = open_engine(paths, settings=Settings(paths.settings_path), ask=None)
            try:
                engine.pipeline.submit(parse_export(DATA / "messages" / f"{conv}.jsonl", "jsonl"))
                asker = Asker(engine.retriever, engine.pipeline, Threads(engine.store),
                              model=runtime)
                plain = Asker(engine.retriever, engine.pipeline, Threads(engine.store)) \
                    if runtime is not None else None
                mine = [q for q in questions if q["conversation"] == conv]
                if per_conversation:  # an even spread, not the first N (they cluster)
                    step = max(1, len(mine) // per_conversation)
                    mine = mine[::step][:per_conversation]
                for q in mine:
                    started = time.perf_counter()
                    ttft, done, tokens = None, None, []
                    del nonces[:]
                    for item in asker.answer(q["question"]):
                        if isinstance(item, Token):
                            tokens.append(item.text)
                            if ttft is None:
                                ttft = time.perf_counter() - started
                        elif isinstance(item, Done):
                            done = item
                    assert done is not None
                    seconds = time.perf_counter() - started
                    if os.environ.get("ENGRAM_BENCH_VERBOSE"):
                        print(f"{q['qid']} {done.mode}: {done.answer!r} draft {done.draft!r}"
                              f" / {q['answer']!r}")
                    tally.add(q, done, seconds, ttft if runtime is not None else None,
                              tuple(tokens), tuple(n for n in nonces if len(n) >= 6),
                              plain=None if plain is None else _answer(plain, q["question"]))
            finally:
                engine.close()
    finally:
        if runtime is not None:
            runtime.close()
    return tally


def _answer(asker: Asker, question: str) -> Done:
    done = [item for item in asker.answer(question) if isinstance(item, Done)]
    return done[-1]


def test_ask_locomo_no_model(tmp_path: Path, models_dir: Path, monkeypatch) -> None:
    figures = run(tmp_path, monkeypatch, models_dir).report(
        "Ask, no chat model (extractive short answers)")
    assert figures["f1"] >= 0.0


def test_ask_locomo_smollm2(tmp_path: Path, models_dir: Path, smollm2: Path,
                            monkeypatch) -> None:
    n = int(os.environ.get("ENGRAM_BENCH_MODEL_QUESTIONS", "40"))
    tally = run(tmp_path, monkeypatch, models_dir, model_path=smollm2,
                per_conversation=n)
    tally.report(f"Ask with SmolLM2-135M-Instruct ({n or 'all'} questions per conversation)")
    assert tally.leaked == 0 and tally.uncited_grounded == 0
