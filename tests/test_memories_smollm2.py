"""The model path with the real small instruct model (SmolLM2-135M-Instruct).

Every memory the model writes must be found in the events it cites; one that
cites an unrelated event is refused and counted with its reason. A model this
small is labelled too small to be trusted, and memory writing stays rule-based
unless the person turns it on anyway.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

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
    # The extractor's own check, aimed precisely; the real model's output meets it below.
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


# --- The real model generating (SmolLM2-135M-Instruct through llama.cpp) ------------

def smollm2_extractor(path: Path) -> tuple[ModelExtractor, Any]:
    """The real model with a small context and short outputs, so a test stays quick."""
    from core.models.runtime import ChatRuntime

    runtime = ChatRuntime(path, n_ctx=2048, n_threads=1, idle_unload_seconds=None)
    return ModelExtractor(runtime, max_events_per_call=2, max_memories=2, max_tokens=160,
                          seed=7), runtime


def chat_events() -> list[tuple[str, str]]:
    texts = [("Ana", "I adopted a puppy named Max yesterday, he is a beagle."),
             ("Ben", "The printer on the third floor needs new toner again."),
             ("Ana", "I work at Siemens in Porto as a data engineer."),
             ("Ben", "My sister Joana moved to Lisbon last week.")]
    return texts


def submit_chat(engine: Any) -> None:
    from tests.test_memories import chat

    for n, (who, text) in enumerate(chat_events(), 1):
        engine.pipeline.submit([chat(n, T + timedelta(minutes=n), text, who)])


def test_smollm2_consolidates_in_batches_with_progress_and_stops_on_cancel(
        engine: Any, smollm2: Path) -> None:
    from core.memory import rows
    from core.memory.consolidate import consolidate
    from core.progress import Cancel, Progress

    submit_chat(engine)
    extractor, runtime = smollm2_extractor(smollm2)
    cancel = Cancel()
    seen: list[tuple[Progress, int]] = []

    def progress(p: Progress) -> None:
        # What is committed when progress is reported: the batch is already written.
        seen.append((p, rows.cursor(engine.store.reader())))
        cancel.cancel()  # Stop after the first batch.

    try:
        report = consolidate(engine, extractor=extractor, batch_size=2, progress=progress,
                             cancel=cancel, now=T + timedelta(hours=1))
        assert report.cancelled and report.model_used and report.events == 2
        assert runtime.stats().generations >= 1  # the real model ran
        assert len(seen) == 1
        first, cursor = seen[0]
        assert (first.done, first.total) == (2, 4) and "events/s" in first.label
        assert cursor > 0  # committed per batch, before the next one starts
        assert rows.cursor(engine.store.reader()) == cursor  # the cancelled batch wrote nothing
        before = {(m.text, m.sources) for m in rows.select(engine.store.reader())}
        assert before  # the first batch's memories are there

        rest = consolidate(engine, extractor=extractor, batch_size=2,
                           now=T + timedelta(hours=1))
    finally:
        runtime.close()
    assert not rest.cancelled and rest.events == 2  # resumes where it stopped
    after = [(m.text, m.sources) for m in rows.select(engine.store.reader()) if m.current]
    assert len(after) == len(set(after))  # nothing written twice
    every = report.total("rejected") + rest.total("rejected")
    assert every == sum(report.rejected_reasons.values()) + sum(rest.rejected_reasons.values())


def test_smollm2_memory_citing_an_unrelated_event_is_refused_with_its_reason(
        engine: Any, smollm2: Path) -> None:
    from core.memory import rows
    from core.memory.consolidate import consolidate

    submit_chat(engine)
    extractor, runtime = smollm2_extractor(smollm2)
    written: list[dict[str, Any]] = []
    generate = runtime.generate_json

    def misattributing(messages: Any, schema: Any, *args: Any, **kwargs: Any) -> Any:
        # The real model writes; its memories are then pointed at the batch's other
        # event, and a memory about Ana's puppy is made to cite Ben's printer message.
        result = generate(messages, schema, *args, **kwargs)
        memories = list(result.value.get("memories", []))
        for m in memories:
            m["sources"] = ["E2"]
        memories.append({"type": "semantic", "text": "Ana adopted a beagle puppy named Max",
                         "subject": "Ana", "attribute": "pet", "value": "a beagle named Max",
                         "steps": [], "importance": 3, "sources": ["E2"]})
        written.extend(memories)
        result.value["memories"] = memories
        return result

    runtime.generate_json = misattributing  # type: ignore[method-assign]
    try:
        report = consolidate(engine, extractor=extractor, batch_size=2,
                             max_batches=1, now=T + timedelta(hours=1))
    finally:
        runtime.close()
    assert report.rejected_reasons.get("not_in_sources", 0) >= 1
    assert report.to_json()["rejected_reasons"] == dict(report.rejected_reasons)
    kept = [m for m in rows.select(engine.store.reader()) if m.origin == "model"]
    assert not any("beagle" in m.text.lower() for m in kept)
    printer = "The printer on the third floor needs new toner again."
    for m in kept:  # whatever the model got through really is in Ben's message
        assert grounded([m.fields.get("value") or m.text], [f"Ben {printer}"])


# --- The fast path for a small model: one sentence per call (core.memory.model_facts) ---

class EverySentence:
    """The real ``SentenceFactWriter`` on the real model, asked about every first-person
    sentence (as if the rules read none), so these tests do not depend on what the rules
    read today; what it writes goes through the same checks."""

    def __init__(self, runtime: Any) -> None:
        from core.memory.model_facts import SentenceFactWriter

        self.writer = SentenceFactWriter(runtime)
        self.batch_size = 2
        self.covered: list[dict[int, list[str]]] = []

    def extract(self, events: Any, cancel: Any = None, *, covered: Any = None) -> Any:
        self.covered.append(dict(covered or {}))
        return self.writer.extract(events, cancel, covered={})


def sentence_chat() -> list[tuple[str, str]]:
    return [("Ana", "My brother and I restored an old sailboat over the whole summer."),
            ("Ben", "Haha, nice!"),
            ("Ben", "My grandfather and I rebuilt the garden shed with reclaimed oak."),
            ("Ana", "I volunteered at the animal shelter downtown last weekend with my aunt.")]


def submit_sentences(engine: Any) -> None:
    from tests.test_memories import chat

    for n, (who, text) in enumerate(sentence_chat(), 1):
        engine.pipeline.submit([chat(n, T + timedelta(minutes=n), text, who)])


def assert_model_memories_are_checked(engine: Any) -> None:
    """What holds for any output: a model memory cites one event, names its speaker,
    and its words are found in that event's sentence."""
    from core.memory import rows
    from core.memory.model_facts import MIN_SHARE
    from core.store import events as event_rows

    db = engine.store.reader()
    for m in rows.select(db):
        if m.origin != "model":
            continue
        assert len(m.sources) == 1 and m.fact_key is None
        event = event_rows.get_many(db, list(m.sources))[m.sources[0]]
        assert m.text.startswith(event.speaker or "?")
        assert m.fields["sentence"] in event.text
        assert grounded([m.text[len(event.speaker or ""):]], [m.fields["sentence"]],
                        min_share=MIN_SHARE)


def test_smollm2_sentence_facts_per_batch_with_progress_cancel_and_resume(
        engine: Any, smollm2: Path) -> None:
    from core.memory import rows
    from core.memory.consolidate import consolidate
    from core.models.runtime import ChatRuntime
    from core.progress import Cancel, Progress

    submit_sentences(engine)
    runtime = ChatRuntime(smollm2, n_ctx=1024, n_threads=1, idle_unload_seconds=None)
    extractor = EverySentence(runtime)
    cancel = Cancel()
    seen: list[tuple[Progress, int]] = []

    def progress(p: Progress) -> None:
        seen.append((p, rows.cursor(engine.store.reader())))
        cancel.cancel()  # Stop after the first batch.

    try:
        report = consolidate(engine, extractor=extractor, progress=progress, cancel=cancel,
                             now=T + timedelta(hours=1))  # the extractor's batch size: 2
        assert report.cancelled and report.model_used and report.events == 2
        first_calls = runtime.stats().generations
        assert first_calls >= 1  # the real model ran on Ana's sailboat sentence
        assert extractor.covered and all(isinstance(c, dict) for c in extractor.covered)
        assert len(seen) == 1 and (seen[0][0].done, seen[0][0].total) == (2, 4)
        assert "events/s" in seen[0][0].label and seen[0][1] > 0  # committed, then reported
        # Facts of the first batch (its episode grows when the next batch continues it).
        before = {(m.text, m.sources) for m in rows.select(engine.store.reader())
                  if m.type != "episodic"}

        rest = consolidate(engine, extractor=extractor, now=T + timedelta(hours=1))
        assert runtime.stats().generations >= first_calls + 2  # both later first-person lines
    finally:
        runtime.close()
    assert not rest.cancelled and rest.events == 2 and rest.pending == 0
    after = [(m.text, m.sources) for m in rows.select(engine.store.reader()) if m.current]
    assert len(after) == len(set(after)) and before <= set(after)  # nothing twice, nothing lost
    model_rows = [m for m in rows.select(engine.store.reader()) if m.origin == "model"]
    assert len(model_rows) <= report.model_candidates + rest.model_candidates
    assert_model_memories_are_checked(engine)


def test_smollm2_never_lowers_what_the_rules_found(engine: Any, smollm2: Path,
                                                   tmp_path: Path) -> None:
    """The same chat consolidated with and without the model: every memory the rules
    wrote is there, the same, when the model writes too."""
    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths
    from core.memory import rows
    from core.memory.consolidate import consolidate
    from core.memory.model_facts import SentenceFactWriter
    from core.models.runtime import ChatRuntime

    submit_sentences(engine)
    paths = resolve_paths(tmp_path / "rules-only")
    plain = open_engine(paths, settings=Settings(paths.settings_path), ask=None)
    try:
        submit_sentences(plain)
        consolidate(plain, now=T + timedelta(hours=1))
        rules_only = {(m.type, m.text, m.sources) for m in rows.select(plain.store.reader())
                      if m.current}
    finally:
        plain.close()
    runtime = ChatRuntime(smollm2, n_ctx=1024, n_threads=1, idle_unload_seconds=None)
    try:
        report = consolidate(engine, extractor=SentenceFactWriter(runtime),
                             now=T + timedelta(hours=1))
    finally:
        runtime.close()
    assert report.model_used and report.pending == 0
    with_model = [m for m in rows.select(engine.store.reader()) if m.current]
    assert rules_only <= {(m.type, m.text, m.sources) for m in with_model if m.origin == "rules"}
    assert_model_memories_are_checked(engine)


def test_smollm2_consolidation_killed_midway_resumes_without_duplicates(
        cli, data_dir: Path, smollm2: Path) -> None:
    """`engram consolidate` with SmolLM2 turned on anyway, SIGKILLed inside its second
    batch's transaction: the next run redoes that batch only, and nothing is written twice."""
    import json
    import signal

    from core.config import Settings, resolve_paths
    from core.memory import rows
    from tests.test_memories import chat
    from tests.test_memories_cli import killed_consolidation, read, submit

    added = cli("models", "add", str(smollm2), "--json", check=False)  # models are shared
    assert added.returncode == 0 or "already installed" in added.stdout, added.stderr
    listed = json.loads(cli("models", "list", "--json").stdout)["models"]
    name = next(m["name"] for m in listed if m["role"] == "chat" and m["installed"]
                and "smollm2" in m["name"].lower())
    cli("models", "use", name, "--role", "chat")
    settings = Settings(resolve_paths(data_dir).settings_path)
    settings.set("memories_small_model", True)  # the person's choice
    texts = sentence_chat() + [("Ben", "I moved to Lisbon with my sister two years ago.")]
    submit(data_dir, [chat(n, T + timedelta(minutes=n), text, who)
                      for n, (who, text) in enumerate(texts, 1)])

    killed = killed_consolidation(1, "consolidate", "--batch-size", "2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    crashed = read(data_dir)
    assert crashed["cursor"] == 2 and crashed["batches"] == [(1, 2)]

    resumed = json.loads(cli("consolidate", "--batch-size", "2", "--json",
                             timeout=600).stdout)
    assert resumed["model_used"] and resumed["events"] == len(texts) - 2
    assert resumed["pending"] == 0
    after = read(data_dir)
    assert after["batches"] == [(1, 2), (3, 4), (5, 5)]  # every event in exactly one batch
    current = [(m[1], m[3], m[4]) for m in after["memories"] if m[5] is None]
    assert len(current) == len(set(current))
    assert {m[0] for m in after["memories"]} >= {m[0] for m in crashed["memories"]}
    from app.bootstrap import open_engine

    paths = resolve_paths(data_dir)
    engine = open_engine(paths, settings=Settings(paths.settings_path), ask=None)
    try:
        assert_model_memories_are_checked(engine)
        assert rows.cursor(engine.store.reader()) == len(texts)
    finally:
        engine.close()
