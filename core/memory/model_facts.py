"""The fast model path: a chat model rewrites, as facts, the sentences the rules left.

A small model (SmolLM2-135M) could not write a JSON list of memories for a
batch: the call read ~1,500 prompt tokens and generated hundreds, about 0.2
events/s on a busy core, and what it wrote was mostly invented. Here the model
gets one short job per sentence the rules found nothing in — "rewrite this
message as one fact about its speaker, or say none" — after a fixed few-shot
prefix (``resources/prompts/sentence_facts.v1.txt``) that stays in llama.cpp's
KV cache, so each call evaluates only the sentence (~40 tokens) and generates
one line (greedy, ``max_tokens`` small, stopped at the newline).

Every line is checked before it becomes a candidate: it must name the speaker,
its words must be found in the sentence (``grounding.grounded``), and
consolidation then refuses it when its meaning is far from the sentence
(``unlike_source``). Refusals are counted by reason. Model facts carry no fact
key, so they never supersede a fact the rules read; a model fact saying what a
rule fact says merges into it (more evidence, same text).

The sentence is the prompt's last turn, so a message saying "ignore your
instructions" can steer the model; the checks bound what that can do: the
line kept must be the speaker's, in the third person, in that sentence's own
words. Only other people's chat sentences are asked about: the person's own
("You …") stay with the rules, which write them in the second person.
"""
from __future__ import annotations

import logging
import re
import time
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any, Collection, Protocol, Sequence

from core.memory.extract import Extraction
from core.memory.grounding import grounded
from core.memory.rules import RuleConfig, addressees_of, voice_of
from core.memory.text import content_words, normalize, sentences, shorten
from core.memory.types import SELF, Candidate
from core.progress import Cancel
from core.records import Event

log = logging.getLogger(__name__)

PROMPT_VERSION = "sentence_facts.v1"
MAX_TOKENS = 40  # one short sentence; a model that rambles is cut and refused
MAX_SENTENCE_CHARS = 300
# Fewer content words (names aside) is small talk: "Glad I could help, Jon!"
MIN_CONTENT_WORDS = 5
# Stricter than for the JSON extractor: one sentence in, so nearly every word of a
# faithful rewrite is in it; a small model's additions ("for her company") are not.
MIN_SHARE = 0.75
# A sentence is a person's claim about themselves when it speaks in the first person.
_FIRST_PERSON = re.compile(r"\b(i|i'm|i've|i'd|i'll|my|me|mine|we|we're|we've|our|us)\b", re.I)
# "you" in a chat is the other person: such a sentence is not the speaker's own fact.
_SECOND_PERSON = re.compile(r"\b(you|you're|you've|you'd|you'll|your|yours)\b", re.I)
# A sentence opening on "it"/"this"/"that" needs the message before it to mean anything.
_CONTEXT_SUBJECT = re.compile(r"^\W*(let me|it|it's|this|that|that's|these|those|here|here's|there|"
                              r"there's|let's|they|they're|he|she)\b", re.I)
# A third-person fact has no "I" or "you" left; one that does was not rewritten.
_PERSONAL = re.compile(r"\b(i|i'm|i've|i'd|i'll|me|my|mine|we|we're|our|us|you|you're|your)\b",
                       re.I)
# Leading interjections and names are skipped before the checks: "Yeah, Maria, let's …".
_OPENING = re.compile(r"^\W*(?:(?:yeah|yep|yup|yes|no|wow|oh|ah|hey|hi|haha|lol|well|so|and|"
                      r"but|plus|thanks|thank you|totally|absolutely|sure|ok|okay)\b\W*)+", re.I)
# Chat exports describe attached photos in brackets: a caption is not the speaker's words.
_CAPTION = re.compile(r"\[(?:image|photo|video|sticker|gif)[^\]]*\]?", re.I)
_NONE = re.compile(r"^\W*(none|no fact|nothing)\b", re.I)
IMPORTANCE = 0.45
# Events per consolidation batch: a few model calls each, committed every few seconds.
BATCH = 50


class TextModel(Protocol):
    """What the writer needs from ``core.models.runtime.ChatRuntime``."""

    def complete(self, messages: Any, options: Any = None, *, priority: int = ...,
                 cancel: Cancel | None = None) -> Any: ...


@dataclass(frozen=True)
class Example:
    """One few-shot pair: the message line and the fact (or "none") to write."""

    message: str
    fact: str


def prompt_parts(template: str | None = None) -> tuple[str, tuple[Example, ...]]:
    """The instruction and the examples of the versioned prompt (``---`` separated)."""
    text = template if template is not None else resources.files("resources").joinpath(
        "prompts", f"{PROMPT_VERSION}.txt").read_text("utf-8")
    blocks = [b.strip() for b in text.split("\n---\n")]
    examples = []
    for block in blocks[1:]:
        message, _, fact = block.partition("\n")
        examples.append(Example(message.strip(), fact.strip()))
    return blocks[0], tuple(examples)


class SentenceFactWriter:
    """Writes model facts for the sentences of a batch that no rule fact came from.

    The same ``extract(events, cancel, covered=...)`` face as ``ModelExtractor``;
    ``covered`` maps an event id to the sentences the rules already read in it.
    ``max_calls`` bounds the model calls per batch (the first sentences go first),
    so a batch is committed within a predictable time.
    """

    def __init__(self, model: TextModel, *, owner_names: Sequence[str] = (),
                 max_tokens: int = MAX_TOKENS, max_calls: int = 64,
                 template: str | None = None) -> None:
        self.model = model
        self.config = RuleConfig(owner_names=tuple(owner_names))
        self.max_tokens = max_tokens
        self.max_calls = max(1, max_calls)
        self.instruction, self.examples = prompt_parts(template)
        self.batch_size = BATCH
        self.seconds = 0.0  # time spent generating (events/s of the model path)
        self.calls = 0

    def messages(self, line: str) -> list[dict[str, str]]:
        """The fixed few-shot prefix (cached by llama.cpp across calls), then ``line``."""
        out = [{"role": "system", "content": self.instruction}]
        for ex in self.examples:
            out += [{"role": "user", "content": ex.message},
                    {"role": "assistant", "content": ex.fact}]
        return out + [{"role": "user", "content": line}]

    def targets(self, events: Sequence[Event], covered: dict[int, Collection[str]]
                ) -> list[tuple[Event, str, str]]:
        """(event, speaker name, sentence) for each first-person statement no rule read."""
        addressees = addressees_of(events, self.config)
        out: list[tuple[Event, str, str]] = []
        for event in events:
            if event.source != "chat":
                continue  # notes, files and screens: only the rules read them
            voice = voice_of(event, self.config, addressees)
            if voice is None or voice.name == "You" or not event.speaker:
                continue
            read = {normalize(s) for s in covered.get(event.id, ())}
            names = {w.lower() for n in (voice.name, voice.addressee or "") for w in n.split()}
            for sentence in sentences(_CAPTION.sub(" ", event.text)):
                if worth_asking(sentence, names, read):
                    out.append((event, voice.name, sentence))
        return out

    def extract(self, events: Sequence[Event], cancel: Cancel | None = None, *,
                covered: dict[int, Collection[str]] | None = None) -> Extraction:
        """Model facts for the sentences of ``events`` the rules left (see class doc)."""
        from core.models.budget import ContextOverflow
        from core.models.generation import GenerationOptions
        from core.models.runtime import BACKGROUND

        # Greedy: the same sentence gives the same fact on a rerun after a kill.
        options = GenerationOptions(max_tokens=self.max_tokens, temperature=0.0, top_k=1,
                                    repeat_penalty=1.0, stop=("\n",))
        candidates: list[Candidate] = []
        rejected: Counter[str] = Counter()
        failures = calls = 0
        began = time.perf_counter()
        for event, name, sentence in self.targets(events, covered or {})[:self.max_calls]:
            line = f"{name}: {shorten(sentence, MAX_SENTENCE_CHARS)}"
            try:
                calls += 1
                done = self.model.complete(self.messages(line), options, priority=BACKGROUND,
                                           cancel=cancel)
            except ContextOverflow:
                failures += 1
                continue
            cand, reason = self.candidate(done.text, event, name, sentence,
                                          cut=done.finish_reason == "length")
            if cand is not None:
                candidates.append(cand)
            elif reason:
                rejected[f"semantic:{reason}"] += 1
        self.seconds += time.perf_counter() - began
        self.calls += calls
        return Extraction(tuple(candidates), dict(rejected), failures, calls)

    def candidate(self, text: str, event: Event, name: str, sentence: str, *,
                  cut: bool = False) -> tuple[Candidate | None, str]:
        """The fact the model wrote, or None and why ("" when it rightly said none)."""
        line = " ".join(text.strip().split())
        if not line or _NONE.match(line):
            return None, ""
        if cut:
            return None, "too_long"
        if not line.lower().startswith(name.lower()):
            return None, "not_about_speaker"
        claim = line[len(name):]
        if claim.lstrip().startswith(":"):
            return None, "not_rewritten"  # "Ana: …" is the message echoed, not a fact
        if _PERSONAL.search(claim):
            return None, "not_third_person"
        if not grounded([claim], [sentence], min_share=MIN_SHARE):
            return None, "not_in_sources"
        if not line.endswith((".", "!")):
            line += "."
        return Candidate(
            type="semantic", title=line.rstrip(".!"), text=line, sources=(event.id,),
            valid_from=event.started_at, started_at=event.started_at, ended_at=event.ended_at,
            importance=IMPORTANCE, origin="model",
            fields={"subject": name if name != "You" else SELF, "subject_name": name,
                    "kind": "statement", "sentence": sentence, "when": None, "single": False},
            entities=name,
        ), ""


def worth_asking(sentence: str, names: Collection[str], read: Collection[str]) -> bool:
    """A first-person statement with some content (``names`` aside), not a question, not
    about "you", not leaning on the message before it, and not one the rules ``read``
    (normalised sentences or values)."""
    opening = _OPENING.sub("", sentence)
    for name in names:  # "Maria, let's …": the addressee's name is an opening too
        if opening.lower().startswith(name + ","):
            opening = _OPENING.sub("", opening[len(name) + 1:])
    if (sentence.endswith("?") or len(sentence) > MAX_SENTENCE_CHARS
            or not _FIRST_PERSON.search(sentence) or _SECOND_PERSON.search(sentence)
            or _CONTEXT_SUBJECT.match(opening)):
        return False
    if len([w for w in content_words(sentence) if w not in names]) < MIN_CONTENT_WORDS:
        return False
    said = normalize(sentence)
    return not any(r and (said in r or r in said) for r in read)


def rule_sentences(candidates: Sequence[Candidate]) -> dict[int, list[str]]:
    """Event id → the sentences the rules' facts were read from (what the model skips)."""
    out: dict[int, list[str]] = {}
    for cand in candidates:
        sentence = cand.fields.get("sentence") if cand.origin == "rules" else None
        value = cand.fields.get("value") if cand.origin == "rules" else None
        for text in (sentence, value):
            if text:
                for source in cand.sources:
                    out.setdefault(source, []).append(str(text))
    return out


__all__ = ["SentenceFactWriter", "prompt_parts", "rule_sentences", "worth_asking"]
