"""The chat runtime against the real llama-cpp-python, with a tiny random-weight model.

The model's text is gibberish by design: any structure in its output comes from
the grammar, which is exactly what the structured-output tests need to prove.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Iterator, Sequence

import jsonschema
import pytest

from core.errors import Cancelled
from core.models.budget import REQUIRED, ContextOverflow, Piece, fit_prompt
from core.models.grammar import SAFE_CHAR_RULE, json_grammar
from core.models.prompts import ChatMessage
from core.progress import Cancel
from core.models.runtime import (
    BACKGROUND, INTERACTIVE, ChatRuntime, GenerationOptions, Preempted,
    StructuredOutputError,
)
from tests.tinymodel import make_tiny_chat_gguf

# Forces a long answer: the random model cannot end it early with EOS.
LONG = 'root ::= [a-z ]{1900}'

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 60},
        "kind": {"enum": ["episodic", "semantic", "procedural"]},
        "importance": {"type": "integer", "minimum": 1, "maximum": 5},
        "offset": {"type": "integer", "minimum": -50, "maximum": 50},
        "minutes": {"type": "integer", "minimum": 0, "maximum": 999},
        "day": {"type": ["integer", "null"], "minimum": 1, "maximum": 31},
        "people": {"type": "array", "maxItems": 4,
                   "items": {"type": "object",
                             "properties": {"name": {"type": "string", "maxLength": 30},
                                            "role": {"enum": ["author", "mentioned"]}},
                             "required": ["name", "role"]}},
        "steps": {"type": "array", "minItems": 1, "maxItems": 3,
                  "items": {"type": "string", "minLength": 1, "maxLength": 40}},
        "source": {"type": "object",
                   "properties": {"app": {"type": "string", "maxLength": 20},
                                  "confident": {"type": "boolean"}},
                   "required": ["app", "confident"]},
    },
    "required": ["title", "kind", "importance", "offset", "minutes", "day", "people", "steps",
                 "source"],
}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_chat_gguf(tmp_path_factory.mktemp("models") / "tiny-chat.gguf")


@pytest.fixture
def rt(tiny_model: Path) -> Iterator[ChatRuntime]:
    runtime = ChatRuntime(tiny_model, n_ctx=2048, n_threads=1, idle_unload_seconds=None)
    yield runtime
    runtime.close()


def test_loads_lazily_and_streams(rt: ChatRuntime) -> None:
    assert not rt.loaded  # nothing loads until asked
    stream = rt.stream([ChatMessage("user", "hello")], GenerationOptions(max_tokens=40, seed=1))
    pieces = list(stream)
    result = stream.result
    assert rt.loaded and result is not None
    assert pieces and "".join(pieces) == result.text
    assert result.finish_reason in ("stop", "length") and 0 < result.completion_tokens <= 40
    assert result.prompt_tokens == rt.count_tokens([ChatMessage("user", "hello")])
    assert rt.info.chat_template and "<|im_start|>" in rt.info.chat_template


def test_chat_template_from_the_gguf_is_used(rt: ChatRuntime) -> None:
    tokens, _stops = rt.prompt_tokens([ChatMessage("system", "s"), ChatMessage("user", "u")])
    vocab, _ = rt._tokenizer()  # noqa: SLF001
    text = vocab.detokenize(tokens, special=True).decode()
    assert text == "<|im_start|>system\ns<|im_end|>\n<|im_start|>user\nu<|im_end|>\n" \
                   "<|im_start|>assistant\n"


def test_cancel_mid_answer_stops_within_a_token(rt: ChatRuntime) -> None:
    stream = rt.stream("tell me everything", GenerationOptions(max_tokens=1800), grammar=LONG)
    received = []
    for piece in stream:
        received.append(piece)
        if len(received) == 5:
            stream.cancel()
    result = stream.wait(5)
    assert result.finish_reason == "cancelled"
    assert len(received) == 5
    # One piece may sit in the hand-over slot and one be in flight: no more.
    assert result.completion_tokens <= len(received) + 2


def test_dropping_the_stream_cancels_it(rt: ChatRuntime) -> None:
    for i, _piece in enumerate(rt.stream("go", GenerationOptions(max_tokens=1800), grammar=LONG)):
        if i == 3:
            break
    deadline = time.monotonic() + 5
    while rt.stats().cancellations < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rt.stats().cancellations == 1
    assert rt.stats().tokens_generated < 20


def test_cancel_token_stops_complete(rt: ChatRuntime) -> None:
    token = Cancel()
    threading.Timer(0.05, token.cancel).start()
    with pytest.raises(Cancelled):
        rt.complete("go", GenerationOptions(max_tokens=1800), grammar=LONG, cancel=token,
                    priority=INTERACTIVE)


def test_interactive_request_is_answered_before_long_background_generation(
        rt: ChatRuntime) -> None:
    events: list[str] = []
    background: dict[str, object] = {}

    def run_background() -> None:
        background["result"] = rt.complete("build memories", GenerationOptions(max_tokens=1800),
                                           priority=BACKGROUND, grammar=LONG)
        events.append("background done")

    worker = threading.Thread(target=run_background)
    worker.start()
    deadline = time.monotonic() + 10
    while rt.active_priority != BACKGROUND and time.monotonic() < deadline:
        time.sleep(0.001)
    assert rt.active_priority == BACKGROUND, "background generation never started"
    answer = rt.complete("quick question", GenerationOptions(max_tokens=10),
                         priority=INTERACTIVE)
    events.append("interactive done")
    worker.join(30)
    assert events == ["interactive done", "background done"]
    assert answer.completion_tokens > 0
    result = background["result"]
    assert result.preemptions >= 1  # type: ignore[attr-defined]
    # Re-run to the end: the grammar allows the end only after 1900 characters.
    assert result.finish_reason == "stop" and len(result.text) >= 1890  # type: ignore[attr-defined]
    assert rt.stats().preemptions >= 1


def test_background_stream_reports_preemption(rt: ChatRuntime) -> None:
    stream = rt.stream("background", GenerationOptions(max_tokens=1800), priority=BACKGROUND,
                       grammar=LONG)
    first = next(stream)
    assert first
    outcome: dict[str, object] = {}

    def drain() -> None:
        try:
            outcome["pieces"] = sum(1 for _ in stream)
        except Preempted as exc:
            outcome["preempted"] = exc

    reader = threading.Thread(target=drain)
    reader.start()
    rt.complete("person waiting", GenerationOptions(max_tokens=5), priority=INTERACTIVE)
    reader.join(10)
    assert "preempted" in outcome
    assert stream.wait(5).finish_reason == "preempted"


def test_fifty_structured_generations_all_validate(rt: ChatRuntime) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    attempts = 0
    for i in range(50):
        result = rt.generate_json([ChatMessage("user", "Extract a memory as JSON.")], SCHEMA,
                                  GenerationOptions(max_tokens=700, temperature=0.9, seed=i))
        assert result.value == json.loads(result.text)
        validator.validate(result.value)
        attempts += result.attempts
    stats = rt.stats()
    assert stats.structured_ok == 50 and stats.structured_failures == 0
    print(f"\n50 structured generations took {attempts} attempts "
          f"({stats.structured_retries} retries)")


def test_structured_failure_is_counted_and_visible(rt: ChatRuntime) -> None:
    with pytest.raises(StructuredOutputError) as info:
        rt.generate_json("json please", SCHEMA, GenerationOptions(max_tokens=5), attempts=3)
    assert info.value.attempts == 3 and len(info.value.failures) == 3
    assert "max_tokens=5" in info.value.failures[0]
    stats = rt.stats()
    assert stats.structured_failures == 1 and stats.structured_retries == 2


def test_wide_integer_range_is_validated_and_retried(rt: ChatRuntime) -> None:
    # 0..1000: the grammar bounds sign and digits (0..9999); the validator does the rest.
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0,
                                                     "maximum": 1000}}, "required": ["n"]}
    for seed in range(0, 300, 10):
        try:
            result = rt.generate_json("n?", schema, GenerationOptions(max_tokens=20, seed=seed),
                                      attempts=8)
        except StructuredOutputError as exc:  # visible and counted, never silent
            assert exc.attempts == 8
            continue
        if result.attempts > 1:
            assert 0 <= result.value["n"] <= 1000
            assert len(result.failures) == result.attempts - 1
            assert "greater than the maximum of 1000" in result.failures[0]
            return
    pytest.fail("no generation needed a retry; the test did not exercise it")


def test_grammar_fixes_for_the_0_3_36_converter() -> None:
    g = json_grammar(SCHEMA)
    assert SAFE_CHAR_RULE in g.gbnf  # no raw control characters inside strings
    assert 'importance ::= "1" | "2" | "3" | "4" | "5"' in g.gbnf  # small range enforced
    assert 'minutes ::= ("0" | [1-9] [0-9]{0,2})' in g.gbnf  # wide range: digits bounded
    with pytest.raises(Exception, match="greater than the maximum"):
        g.parse(json.dumps({**_valid_example(), "importance": 9}))
    with pytest.raises(Exception, match="not valid JSON"):
        g.parse('{"title": "a\x01b"}')
    # A field without maxLength gets a grammar-only cap; reaching it is a failure
    # (retried), never a silently shortened value.
    loose = json_grammar({"type": "object", "properties": {"note": {"type": "string"}}})
    assert loose.string_cap
    assert loose.parse('{"note": "short"}') == {"note": "short"}
    with pytest.raises(Exception, match="length cap"):
        loose.parse(json.dumps({"note": "x" * loose.string_cap}))


def _valid_example() -> dict[str, object]:
    return {"title": "t", "kind": "semantic", "importance": 3, "offset": 0, "minutes": 5,
            "day": None, "people": [], "steps": ["s"], "source": {"app": "x", "confident": True}}


def test_budget_trims_lowest_priority_first_and_reports(rt: ChatRuntime) -> None:
    filler = " ".join(["word"] * 400)
    pieces = [
        Piece("instructions", "Extract memories. " * 5, REQUIRED, role="system"),
        Piece("core", "The person is called Ana. " + filler, 90),
        Piece("hits", "hit " + filler, 50, trimmable=True),
        Piece("history", "old chat " + filler, 10),
        Piece("question", "What did Ana recommend?", REQUIRED),
    ]
    full = rt.count_tokens(fit_prompt(pieces, count_tokens=rt.count_tokens,
                                      budget=10**6).messages)
    # Room for everything but the history and part of the hits.
    max_tokens = rt.n_ctx - (full - 500)
    assembled = rt.fit(pieces, max_tokens=max_tokens)
    report = assembled.report
    assert report.dropped == ("history",)
    assert [t.key for t in report.trimmed] == ["hits"]
    assert report.used <= report.budget == rt.n_ctx - max_tokens
    assert report.used == rt.count_tokens(assembled.messages)
    text = "\n".join(m.content for m in assembled.messages)
    assert "Extract memories." in text and "What did Ana recommend?" in text and "Ana." in text
    assert "old chat" not in text and "[…]" in text
    with pytest.raises(ContextOverflow, match="tokens but only"):
        rt.fit(pieces, max_tokens=rt.n_ctx - 20)


def test_budget_order_with_a_plain_counter() -> None:
    def count(messages: Sequence[ChatMessage]) -> int:
        return sum(len(m.content.split()) for m in messages)

    pieces = [Piece("a", "x " * 10, 5), Piece("b", "y " * 10, 5), Piece("c", "z " * 10, 1),
              Piece("q", "q", REQUIRED)]
    out = fit_prompt(pieces, count_tokens=count, budget=15)
    assert out.report.dropped == ("c", "b")  # lowest first; among equals the later one
    assert out.report.kept == ("a", "q")
    assert fit_prompt(pieces, count_tokens=count, budget=100).report.complete


def test_stop_strings_are_held_back_and_never_shown() -> None:
    from core.models.generation import _TextOut

    shown: list[str] = []
    out = _TextOut(("<|end|>",), lambda text: shown.append(text) is None)
    assert out.add("\nHel") and out.add("lo <|e")
    assert not out.add("nd|> more")
    assert shown == ["Hel", "lo "] and out.reason == "stop"
    assert "".join(out.parts) == "Hello "


def test_prompt_plus_answer_longer_than_context_is_refused(rt: ChatRuntime) -> None:
    with pytest.raises(ContextOverflow):
        rt.complete("hello", GenerationOptions(max_tokens=rt.n_ctx))


def test_chat_model_unloads_after_idle(tiny_model: Path) -> None:
    runtime = ChatRuntime(tiny_model, n_ctx=512, n_threads=1, idle_unload_seconds=0.3)
    try:
        runtime.complete("hi", GenerationOptions(max_tokens=3), priority=INTERACTIVE)
        assert runtime.loaded
        deadline = time.monotonic() + 5
        while runtime.loaded and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not runtime.loaded
        runtime.complete("again", GenerationOptions(max_tokens=3), priority=INTERACTIVE)
        assert runtime.stats().loads == 2
    finally:
        runtime.close()


def test_close_stops_a_running_generation(tiny_model: Path) -> None:
    runtime = ChatRuntime(tiny_model, n_ctx=2048, n_threads=1)
    stream = runtime.stream("go", GenerationOptions(max_tokens=1800), grammar=LONG)
    next(stream)
    started = time.monotonic()
    runtime.close()  # the reader is still holding the stream: close must not wait for it
    assert time.monotonic() - started < 5
    assert stream.wait(5).finish_reason == "cancelled"


def test_runtime_from_settings_and_no_model_mode(tmp_path: Path, tiny_model: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from core.config import Settings, resolve_paths
    from core.errors import ModelError
    from core.models import install

    monkeypatch.delenv("ENGRAM_MODELS", raising=False)
    paths = resolve_paths(tmp_path / "home")
    settings = Settings(paths.settings_path)
    with pytest.raises(ModelError, match="engram models pull"):
        ChatRuntime.from_settings(paths, settings)
    install.add_local(paths, settings, tiny_model)
    settings.set("chat_context_tokens", 1024)
    runtime = ChatRuntime.from_settings(paths, settings)
    try:
        assert runtime.n_ctx == 1024
        assert runtime.complete("hi", GenerationOptions(max_tokens=4),
                                priority=INTERACTIVE).completion_tokens > 0
    finally:
        runtime.close()


def test_n_ctx_is_explicit_and_capped_by_the_model(tiny_model: Path) -> None:
    runtime = ChatRuntime(tiny_model, n_ctx=100_000, n_threads=1)
    try:
        assert runtime.n_ctx == 2048  # the tiny model's trained context
    finally:
        runtime.close()
