"""The prompt a chat model answers from: a few short numbered passages and one example.

A small local model (SmolLM2-135M) given eight long quotes between nonce markers
wrote emoji and echoed the markers; every prompt token also costs time before the
first word on a CPU (≈1,200 tokens took 7–15 s on two busy cores). So the model
sees only the ``MODEL_EVIDENCE`` passages the answer scorer ranks best, each
trimmed to its best sentences, one line each, labelled ``[n]`` exactly as the
citation it must write — and one worked example of the answer's shape for the
kind of question asked ("3 March 2023 [1]" for *when*, "Lisbon [1]" for *where*).

Captured text is data, never instructions: a passage is one line (newlines
collapsed), its square brackets become round ones and marker characters and
special-token syntax are removed (``sanitize``), so nothing captured can start a
line of its own, open a label, forge a citation or impersonate a turn.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Callable, Sequence

from core.extractive import best_passage, score_sentences
from core.models.budget import REQUIRED, Piece
from core.question import Kind, analyse
from core.records import SearchHit

PROMPT_VERSION = "answer.v3"
MODEL_EVIDENCE = 4
PASSAGE_CHARS = 240
PROFILE_CHARS = 400

_SPECIAL = re.compile(r"<\|[^|>]{0,40}\|>|</?s>|\[/?INST\]|<</?SYS>>|<\|?(?:im_start|im_end|eot_id)")
_CAPTION = re.compile(r"\[image:\s*([^\]]*)\]", re.I)

# One example conversation; the question and answer shown follow the kind asked.
EXAMPLE_NOTES = ("[1] (Ana, 3 March 2023) I ran my first half marathon in Lisbon today, "
                 "21 km! My sister Joana came to cheer.\n"
                 "[2] (Ben, 3 March 2023) Congrats! How do you feel?")
EXAMPLES: dict[Kind, tuple[str, str]] = {
    "when": ("When did Ana run a half marathon?", "3 March 2023 [1]"),
    "where": ("Where did Ana run a half marathon?", "In Lisbon [1]"),
    "who": ("Who came to cheer for Ana?", "Her sister Joana [1]"),
    "count": ("How many kilometres did Ana run?", "21 km [1]"),
    "yesno": ("Did Ana run a race in Lisbon?", "Yes, a half marathon [1]"),
    "why": ("Why was Ana happy?", "She ran her first half marathon [1]"),
    "how": ("How did Ana's sister support her?", "Joana came to cheer [1]"),
    "what": ("What race did Ana run?", "A half marathon in Lisbon [1]"),
}


@dataclass(frozen=True)
class Passage:
    """One piece of evidence as the model sees it: its number and its best sentences."""

    n: int
    hit: SearchHit
    text: str


Similarity = Callable[[str, Sequence[str]], Sequence[float]]


def sanitize(text: str) -> str:
    """Captured text made safe to quote: no markers, no special-token syntax."""
    text = text.replace("⟦", "(").replace("⟧", ")")
    return _SPECIAL.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›")
                        .replace("[", "(").replace("]", ")"), text)


def choose_passages(question: str, numbered: Sequence[tuple[int, SearchHit]],
                    similarity: Similarity | None = None, people: Sequence[str] = (),
                    limit: int = MODEL_EVIDENCE) -> list[Passage]:
    """The ``limit`` pieces of evidence whose best sentence answers best, each trimmed."""
    q = analyse(question, tuple(p.split()[0] for p in people if p))
    ranked = score_sentences(q, numbered, similarity, people)
    order = list(dict.fromkeys(s.n for s in ranked))
    order += [n for n, _ in numbered if n not in order]  # evidence with no sentence scored
    by_n = dict(numbered)
    return [Passage(n, by_n[n], best_passage(by_n[n].text or by_n[n].snippet, question,
                                             PASSAGE_CHARS)) for n in order[:limit]]


def passage_line(p: Passage) -> str:
    """``[n] (who, day) text`` on one line; nothing in ``text`` can open a label of its own."""
    hit = p.hit
    local = hit.time.astimezone()
    who = "memory" if hit.kind == "memory" else (hit.provenance.speaker or hit.source)
    body = _CAPTION.sub(lambda m: f"(photo: {m.group(1).strip()})", p.text)
    body = sanitize(body).replace("[", "(").replace("]", ")")
    label = " ".join(sanitize(who).replace("[", "(").replace("]", ")").split())
    return f"[{p.n}] ({label}, {local.day} {local:%B %Y}) {' '.join(body.split())}"


def prompt_pieces(question: str, kind: Kind, passages: Sequence[Passage], *, today: datetime,
                  history: Sequence[tuple[str, str]] = (), profile: str = "") -> list[Piece]:
    """The prompt, as pieces the runtime fits into its context by priority.

    ``history``: earlier (role, text) turns of this conversation, oldest first.
    """
    system = prompt_template().replace("{today}", f"{today:%A} {today.day} {today:%B %Y}")
    example_q, example_a = EXAMPLES.get(kind, EXAMPLES["what"])
    pieces = [Piece("system", system, REQUIRED, role="system"),
              Piece("example", f"Notes:\n{EXAMPLE_NOTES}\n\nQuestion: {example_q}", REQUIRED),
              Piece("example answer", example_a, REQUIRED, role="assistant")]
    for i, (role, text) in enumerate(history):
        text = re.sub(r"\[\d{1,3}\]", "", text)  # its numbers point at other evidence
        pieces.append(Piece(f"turn{i}", " ".join(text.split())[:300], 300 + i,
                            role="assistant" if role == "assistant" else "user",
                            trimmable=True))
    if profile:
        pieces.append(Piece("profile", "About the user: "
                            + " ".join(sanitize(profile).split())[:PROFILE_CHARS], 200,
                            trimmable=True))
    notes = "\n".join(passage_line(p) for p in passages)
    pieces.append(Piece("notes", f"Notes:\n{notes}\n\nQuestion: {question}", REQUIRED))
    return pieces


def prompt_template() -> str:
    return resources.files("resources").joinpath("prompts", f"{PROMPT_VERSION}.txt") \
        .read_text("utf-8")
