"""Chat model speed: load time, time to first token, generation tokens/s.

    ENGRAM_BENCH_MODEL=/path/to/model.gguf \\
        .venv/bin/python -m pytest tests/benchmarks/bench_generation.py -m benchmark -s

Without ``ENGRAM_BENCH_MODEL`` it measures the tiny random test model (the
figures then only show the runtime's own overhead). Threads follow the app's
default (cores - 1) unless ``ENGRAM_BENCH_THREADS`` is set.
"""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

from core.models.prompts import ChatMessage
from core.models.runtime import INTERACTIVE, ChatRuntime, GenerationOptions
from tests.tinymodel import make_tiny_chat_gguf

QUESTION = ("Last week Ana recommended a Python library for parsing PDF files while we were "
            "talking about the tax report. What was the name of that library, and why did she "
            "recommend it? Answer in two sentences.")
CONTEXT = ("Notes from the meeting: " + "We discussed the quarterly tax report, the VPN "
           "problems and which libraries to use for reading documents. " * 12)
SCHEMA = {"type": "object",
          "properties": {"library": {"type": "string", "maxLength": 40},
                         "reason": {"type": "string", "maxLength": 160},
                         "confidence": {"type": "integer", "minimum": 1, "maximum": 5}},
          "required": ["library", "reason", "confidence"]}


@pytest.mark.benchmark
def test_generation_speed(tmp_path: Path) -> None:
    env_model = os.environ.get("ENGRAM_BENCH_MODEL")
    model = Path(env_model) if env_model else make_tiny_chat_gguf(tmp_path / "tiny.gguf")
    threads = int(os.environ.get("ENGRAM_BENCH_THREADS", "0")) or None
    rt = ChatRuntime(model, n_ctx=4096, n_threads=threads, idle_unload_seconds=None)
    try:
        messages = [ChatMessage("system", "You answer from the person's own notes."),
                    ChatMessage("user", CONTEXT + "\n\n" + QUESTION)]
        started = time.perf_counter()
        rt.complete("hi", GenerationOptions(max_tokens=1), priority=INTERACTIVE)
        load_s = time.perf_counter() - started

        first_tokens, rates, prompt_tokens = [], [], 0
        for i in range(3):
            # A different first user token each round: no KV-cache reuse, full prompt eval.
            varied = [messages[0], ChatMessage("user", f"({i}) " + messages[1].content)]
            stream = rt.stream(varied, GenerationOptions(max_tokens=128, seed=i, temperature=0.7))
            for _ in stream:
                pass
            result = stream.wait()
            prompt_tokens = result.prompt_tokens
            first_tokens.append(result.first_token_seconds or 0.0)
            rates.append(result.tokens_per_second)

        started = time.perf_counter()
        structured = rt.generate_json([ChatMessage("user", QUESTION + " Reply as JSON.")], SCHEMA)
        json_s = time.perf_counter() - started

        print(f"\nmodel: {model.name} ({model.stat().st_size / 1e6:.1f} MB, "
              f"{rt.info.architecture}, {rt.info.quantization}), n_threads={rt.n_threads}, "
              f"n_ctx={rt.n_ctx}")
        print(f"load + first call:      {load_s * 1000:8.1f} ms")
        print(f"time to first token:    {statistics.median(first_tokens) * 1000:8.1f} ms "
              f"(prompt {prompt_tokens} tokens; only the system turn cached)")
        print(f"prompt eval:            {prompt_tokens / statistics.median(first_tokens):8.1f} "
              "tokens/s")
        print(f"generation:             {statistics.median(rates):8.1f} tokens/s "
              "(median of 3 x 128 tokens)")
        print(f"structured (JSON) call: {json_s * 1000:8.1f} ms, "
              f"{structured.completion.completion_tokens} tokens, "
              f"{structured.attempts} attempt(s)")
        assert statistics.median(rates) > 0
    finally:
        rt.close()
