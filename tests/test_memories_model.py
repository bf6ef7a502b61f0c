"""The model builder: every memory must cite events of its batch and be found in them.

One logic test uses a deterministic stand-in model plugged into the real
``ModelExtractor`` through the same interface as ``ChatRuntime`` (so the
refusal rules can be aimed at precisely); the end-to-end test runs the tiny
random-weight model through real llama.cpp and checks the accounting holds for
whatever it produced.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.errors import Cancelled
from core.memory import rows
from core.memory.consolidate import consolidate
from core.memory.extract import ModelExtractor
from core.memory.grounding import grounded
from core.store import events as event_rows
from tests.test_memories import JULY, MARCH, chat, moving_chat, tiny_extractor
from tests.tinymodel import make_tiny_chat_gguf


@dataclass
class Result:
    value: Any


class ScriptedModel:
    """Answers every extraction call with the same scripted memories."""

    n_ctx = 4096

    def __init__(self, memories: list[dict[str, Any]]) -> None:
        self.memories = memories
        self.calls: list[Any] = []

    def count_tokens(self, messages: Any) -> int:
        return 100

    def generate_json(self, messages: Any, schema: Any, options: Any = None, *,
                      attempts: int = 3, priority: int = 10, cancel: Any = None) -> Result:
        if cancel is not None and cancel.cancelled:
            raise Cancelled("Generation was cancelled.")
        self.calls.append((messages, schema, priority))
        return Result({"memories": self.memories})


def item(**over: Any) -> dict[str, Any]:
    base = {"type": "semantic", "text": "Ana Souza works at Siemens", "subject": "Ana Souza",
            "attribute": "employer", "value": "Siemens", "steps": [], "importance": 4,
            "sources": ["E5"]}
    base.update(over)
    return base


def test_model_memories_without_a_valid_source_are_rejected_and_counted(engine) -> None:
    model = ScriptedModel([
        item(),                                              # valid: E5 says it
        item(text="Ana Souza works at Google", value="Google"),  # E5 never says Google
        item(sources=[]),                                    # cites nothing
        item(sources=["E9"]),                                # not in this batch of 5
        item(type="core", text="You live in Porto", subject="user", attribute="city",
             value="Porto", sources=["E4"]),                 # valid, about the person
        item(type="procedural", text="Weekend", subject="", attribute="", value="",
             steps=["brunch", "beach"], sources=["E1"]),     # steps found nowhere in E1
    ])
    engine.pipeline.submit(moving_chat())
    report = consolidate(engine, extractor=ModelExtractor(model), now=JULY)
    assert report.rejected_reasons == {"not_in_sources": 2, "no_source": 1, "unknown_source": 1}
    assert report.total("rejected") == 4 and report.count("procedural").rejected == 1
    messages, schema, priority = model.calls[0]
    assert priority == 10  # background: a person's request goes first
    refs = schema["properties"]["memories"]["items"]["properties"]["sources"]["items"]["enum"]
    assert refs == ["E1", "E2", "E3", "E4", "E5"]
    assert "⟦" in messages[1]["content"] and "Porto is lovely" in messages[1]["content"]
    db = engine.store.reader()
    by_model = [m for m in rows.select(db) if m.origin == "model"]
    assert by_model == []  # both valid ones confirmed what the rules had already built
    ana = [m for m in rows.select(db) if m.fact_key == "ana souza|works_at"]
    assert len(ana) == 1 and len(ana[0].sources) == 1
    e5 = db.execute("SELECT id FROM events WHERE external_id = 'wa:5'").fetchall()[0][0]
    assert ana[0].sources == (e5,) and ana[0].evidence_count == 2
    assert report.count("semantic").merged == 1 and report.count("core").merged == 1


def test_a_model_memory_whose_text_says_something_else_is_refused(engine) -> None:
    model = ScriptedModel([
        # The value is in E5, the sentence around it is not.
        item(text="Ana Souza was fired and moved to Berlin", value="Siemens"),
        # Half its words are in E5 (the lexical check passes), its meaning is not.
        item(text="Ana Souza has three cats", attribute="", value=""),
    ])
    engine.pipeline.submit(moving_chat())
    report = consolidate(engine, extractor=ModelExtractor(model), now=JULY)
    assert report.rejected_reasons == {"not_in_sources": 1, "unlike_source": 1}
    assert report.to_json()["rejected_reasons"] == {"not_in_sources": 1, "unlike_source": 1}
    kept = [m.text for m in rows.select(engine.store.reader())]
    assert not any("Berlin" in t or "cats" in t for t in kept)


def test_a_model_fact_the_rules_missed_is_kept_with_its_source(engine) -> None:
    model = ScriptedModel([item(text="Ana Souza has a red bike", attribute="owns",
                                value="red bike", sources=["E1"])])
    engine.pipeline.submit([chat(1, MARCH, "Ana Souza finally bought that red bike", "Ben")])
    consolidate(engine, extractor=ModelExtractor(model), now=MARCH)
    kept = [m for m in rows.select(engine.store.reader()) if m.origin == "model"]
    assert [(m.text, m.fact_key, m.fields["value"]) for m in kept] == [
        ("Ana Souza has a red bike", "ana souza|owns", "red bike")]
    # Forgetting its only source removes it too.
    engine.pipeline.forget(list(kept[0].sources), scrub=False)
    assert rows.get(engine.store.reader(), kept[0].id) is None


def test_cancel_stops_before_the_batch_is_written(engine) -> None:
    class Cancelled_:
        cancelled = False

    token = Cancelled_()
    model = ScriptedModel([item()])
    engine.pipeline.submit(moving_chat())
    token.cancelled = True
    report = consolidate(engine, extractor=ModelExtractor(model), cancel=token, now=JULY)
    assert report.cancelled and report.events == 0
    assert rows.cursor(engine.store.reader()) == 0 and rows.select(engine.store.reader()) == []


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_chat_gguf(tmp_path_factory.mktemp("tiny") / "tiny-chat.gguf")


def test_tiny_model_extraction_end_to_end_through_llama_cpp(engine, tiny_path: Path) -> None:
    extractor, runtime = tiny_extractor(tiny_path)
    returned: list[Any] = []
    generate = runtime.generate_json

    def recording(*args: Any, **kwargs: Any) -> Any:
        result = generate(*args, **kwargs)
        returned.extend(result.value["memories"])
        return result

    runtime.generate_json = recording  # type: ignore[method-assign]
    try:
        engine.pipeline.submit(moving_chat() + [
            chat(6, JULY + timedelta(minutes=5), "the vpn fix for the tax report file", "Ben")])
        report = consolidate(engine, extractor=extractor, now=JULY)
    finally:
        runtime.close()
    assert report.model_used and runtime.stats().generations >= 1
    db = engine.store.reader()
    by_model = [m for m in rows.select(db) if m.origin == "model"]
    # Every memory the model returned was refused (and counted) or passed on to the policy.
    assert report.model_candidates + report.total("rejected") == len(returned)
    assert len(by_model) <= report.model_candidates
    for m in by_model:  # whatever survived is found in the events it cites
        cited = event_rows.get_many(db, list(m.sources))
        assert cited and grounded([m.fields.get("value") or m.text],
                                  [f"{e.speaker} {e.thread} {e.text}" for e in cited.values()])
    # The rule-built facts are unaffected by the model's gibberish.
    current = [m for m in rows.select(db) if m.fact_key == "self|lives_in" and m.current]
    assert [m.fields["value"] for m in current] == ["Porto"]
