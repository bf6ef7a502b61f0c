"""The model path with the real small instruct model (SmolLM2-135M-Instruct).

Every memory the model writes must be found in the events it cites; one that
cites an unrelated event is refused and counted with its reason. A model this
small is labelled too small to be trusted, and memory writing stays rule-based
unless the person turns it on anyway.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from core.memory.extract import ModelExtractor
from core.memory.grounding import grounded
from core.models.trust import TOO_SMALL, may_write_memories, model_trust
from core.records import Event

T = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)


def events() -> list[Event]:
    texts = [("Ana", "I adopted a puppy named Max yesterday, he is a beagle."),
             ("Ben", "The printer on the third floor needs new toner again."),
             ("Ana", "I work at Siemens in Porto as a data engineer.")]
    return [Event(id=n, source="chat", started_at=T + timedelta(minutes=n),
                  ended_at=T + timedelta(minutes=n), text=text, speaker=who, thread="team")
            for n, (who, text) in enumerate(texts, 1)]


def test_a_model_memory_citing_an_unrelated_event_is_refused() -> None:
    # Generation with SmolLM2 crashes inside llama.cpp's decode during prefill on this
    # build (see the report); the refusal itself is the extractor's own check.
    extractor = ModelExtractor(model=None, template="Quoted between ⟦{nonce}⟧.")  # type: ignore[arg-type]
    batch = events()
    memory = {"type": "semantic", "text": "Ana adopted a beagle puppy named Max",
              "subject": "Ana", "attribute": "pet", "value": "a beagle named Max", "steps": [],
              "importance": 3}
    kept, refused = extractor.validate({"memories": [{**memory, "sources": ["E2"]}]}, batch)
    assert kept == [] and refused == {"semantic:not_in_sources": 1}
    kept, refused = extractor.validate({"memories": [{**memory, "sources": ["E1"]}]}, batch)
    assert len(kept) == 1 and kept[0].sources == (1,) and not refused
    assert grounded(["a beagle named Max"], [batch[0].text])


def test_smollm2_is_too_small_to_be_trusted(smollm2: Path) -> None:
    trust = model_trust(smollm2)
    assert not trust.trusted and trust.label == TOO_SMALL
    assert trust.parameters is not None and 100_000_000 < trust.parameters < 200_000_000
    assert not may_write_memories(trust, {})
    assert may_write_memories(trust, {"memories_small_model": True})  # the person's choice


def test_models_list_and_consolidate_say_smollm2_is_too_small(cli, smollm2: Path) -> None:
    import json

    added = json.loads(cli("models", "add", str(smollm2), "--json").stdout)
    assert added
    listed = json.loads(cli("models", "list", "--json").stdout)["models"]
    chat = [m for m in listed if m["role"] == "chat" and m["installed"]]
    assert chat and all(m["trust"] == TOO_SMALL for m in chat)
    assert "too small to be trusted to write memories" in cli("models", "list").stdout
    cli("add", "I moved to Porto last week.")
    report = json.loads(cli("consolidate", "--json").stdout)
    assert not report["model_used"] and TOO_SMALL in report["model_note"]
