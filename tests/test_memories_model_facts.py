"""The sentence fact writer's choices and checks, without a model (pure logic).

What the model is asked about (only first-person statements the rules did not
read) and what of its answer is kept (the speaker named, third person, its words
found in the sentence) are decided here; the real model's runs are in
``test_memories_smollm2.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from core.memory.grounding import grounded
from core.memory.model_facts import SentenceFactWriter, prompt_parts, rule_sentences, worth_asking
from core.memory.rules import RuleConfig, build
from core.records import Event

T = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)


def chat(n: int, who: str, text: str) -> Event:
    return Event(id=n, source="chat", started_at=T + timedelta(minutes=n),
                 ended_at=T + timedelta(minutes=n), text=text, speaker=who, thread="team")


@dataclass
class Done:
    text: str
    finish_reason: str = "stop"


class Echo:
    """Answers every call with the next scripted line (pure logic of the writer)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls: list[Any] = []

    def complete(self, messages: Any, options: Any = None, **kwargs: Any) -> Done:
        self.calls.append((messages, options, kwargs))
        return Done(self.answers.pop(0) if self.answers else "none")


def test_the_prompt_is_an_instruction_and_few_shot_pairs_that_stay_the_same() -> None:
    instruction, examples = prompt_parts()
    assert "third person" in instruction and len(examples) >= 3
    assert any(e.fact == "none" for e in examples)
    writer = SentenceFactWriter(Echo())
    a, b = writer.messages("Ana: one"), writer.messages("Ben: two")
    # Everything but the last message is identical, so llama.cpp reuses its KV cache.
    assert a[:-1] == b[:-1] and a[-1] == {"role": "user", "content": "Ana: one"}


def test_only_first_person_statements_the_rules_did_not_read_are_asked() -> None:
    names, read = {"ana", "ben"}, {"i work at siemens in porto as a data engineer"}
    assert worth_asking("My brother and I restored an old sailboat over the summer.", names, ())
    assert not worth_asking("Did you restore the old sailboat over the summer?", names, ())
    assert not worth_asking("Your brother restored an old sailboat over the summer.", names, ())
    assert not worth_asking("It helps me keep track of ideas and milestones.", names, ())
    assert not worth_asking("Glad I could help, Ben!", names, ())  # small talk
    assert not worth_asking("The sailboat was restored by a crew over the summer.", names, ())
    assert not worth_asking("I work at Siemens in Porto as a data engineer.", names, read)


def test_rule_sentences_are_skipped_and_the_rest_go_to_the_model() -> None:
    events = [chat(1, "Ana", "I work at Siemens in Porto as a data engineer."),
              chat(2, "Ben", "Haha, nice!"),
              chat(3, "Ben", "My grandfather and I rebuilt the garden shed with reclaimed oak.")]
    rules, _drafts = build(events, RuleConfig())
    covered = rule_sentences(rules)
    writer = SentenceFactWriter(Echo())
    asked = [(e.id, name, s) for e, name, s in writer.targets(events, covered)]
    for event_id, _name, sentence in asked:
        assert sentence not in covered.get(event_id, [])  # never a sentence the rules read
    assert all(eid != 2 for eid, _n, _s in asked)
    everything = writer.targets(events, {})
    assert {(e.id, n) for e, n, _s in everything} >= {(1, "Ana"), (3, "Ben")}


def test_the_models_line_is_kept_only_when_it_is_the_speakers_fact_in_the_sentences_words() -> None:
    event = chat(3, "Ben", "My grandfather and I rebuilt the garden shed with reclaimed oak.")
    sentence = event.text
    writer = SentenceFactWriter(Echo())
    good, why = writer.candidate("Ben rebuilt the garden shed with his grandfather", event,
                                 "Ben", sentence)
    assert good is not None and not why
    assert good.origin == "model" and good.sources == (3,) and good.fact_key is None
    assert good.text == "Ben rebuilt the garden shed with his grandfather."
    assert good.fields["sentence"] == sentence and good.fields["subject_name"] == "Ben"
    cases = {
        "none": "",
        "Ana rebuilt the garden shed with her grandfather.": "not_about_speaker",
        "Ben rebuilt my garden shed.": "not_third_person",
        "Ben bought a sailboat in Lisbon for his company.": "not_in_sources",
    }
    for line, reason in cases.items():
        cand, why = writer.candidate(line, event, "Ben", sentence)
        assert cand is None and why == reason, line
    cut, why = writer.candidate("Ben rebuilt the garden shed and", event, "Ben", sentence,
                                cut=True)
    assert cut is None and why == "too_long"


def test_extract_counts_refusals_by_reason_and_bounds_calls_per_batch() -> None:
    events = [chat(n, "Ben", f"My cousin and I planted {n} olive trees near the river bank.")
              for n in range(1, 6)]
    model = Echo("Ben planted olive trees near the river bank with his cousin.",
                 "Ben sold the farm to a bank.", "none")
    writer = SentenceFactWriter(model, max_calls=3)
    got = writer.extract(events)
    assert got.calls == 3 and len(model.calls) == 3  # two sentences left for lack of budget
    assert [c.sources for c in got.candidates] == [(1,)]
    assert dict(got.rejected) == {"semantic:not_in_sources": 1}
    options = model.calls[0][1]
    assert options.temperature == 0.0 and "\n" in options.stop and options.max_tokens <= 64
    for cand in got.candidates:
        assert grounded([cand.text], [events[0].text])


def test_openings_do_not_hide_a_sentence_that_leans_on_the_one_before() -> None:
    names = {"maria", "john"}
    assert not worth_asking("Yeah, Maria, let's keep working together on our neighborhood.",
                            names, ())
    assert not worth_asking("Yup, it's a yoga studio I go to often near work.", names, ())
    assert worth_asking("Yeah, I volunteered at the animal shelter downtown last weekend.",
                        names, ())


def test_a_photo_caption_or_an_echo_is_not_a_fact() -> None:
    events = [chat(1, "Ben", "[image: a photo of my horse painting on a wooden wall]"),
              chat(2, "Ben", "My grandfather and I rebuilt the garden shed with reclaimed oak.")]
    writer = SentenceFactWriter(Echo())
    assert [e.id for e, _n, _s in writer.targets(events, {})] == [2]
    echo, why = writer.candidate("Ben: My grandfather and I rebuilt the garden shed.",
                                 events[1], "Ben", events[1].text)
    assert echo is None and why == "not_rewritten"


def test_the_background_runner_lowers_its_own_threads_priority_only() -> None:
    import os
    import threading

    from core.memory.runner import BACKGROUND_NICE, lower_priority

    seen: dict[str, int] = {}

    def work() -> None:
        assert lower_priority()
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen["nice"] >= BACKGROUND_NICE
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
