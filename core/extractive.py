"""No-model answers: the best evidence, quoted, in the order that answers the question."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Sequence

from core.records import SearchHit
from core.retrieval import STOPWORDS

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\w+", re.UNICODE)
_RECENT = re.compile(r"\b(last|latest|most recent(ly)?|recently|newest|current(ly)?)\b", re.I)
_EARLIEST = re.compile(r"\b(first|earliest|originally|initially)\b", re.I)
PASSAGE_CHARS = 280


def _stem(word: str) -> str:
    return word[:5] if len(word) > 5 else word


def content_stems(text: str) -> set[str]:
    return {_stem(w) for w in (t.lower() for t in _WORD.findall(text)) if w not in STOPWORDS}


def best_passage(text: str, question: str, limit: int = PASSAGE_CHARS) -> str:
    """The sentence(s) of ``text`` that share most with the question, within ``limit``."""
    flat = text.strip()
    sentences = [s.strip() for s in _SENTENCE.split(flat) if s.strip()]
    if not sentences:
        return ""
    if len(flat) <= limit:
        return " ".join(flat.split())
    wanted = content_stems(question)
    scores = [len(content_stems(s) & wanted) for s in sentences]
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    passage = sentences[best]
    # Grow with neighbours while there is room: context helps a quote make sense.
    lo, hi = best, best
    while True:
        grew = False
        if hi + 1 < len(sentences) and len(passage) + len(sentences[hi + 1]) + 1 <= limit:
            hi += 1
            passage = f"{passage} {sentences[hi]}"
            grew = True
        if lo > 0 and len(passage) + len(sentences[lo - 1]) + 1 <= limit:
            lo -= 1
            passage = f"{sentences[lo]} {passage}"
            grew = True
        if not grew:
            break
    passage = " ".join(passage.split())
    if len(passage) > limit:
        passage = passage[:limit].rsplit(" ", 1)[0] + "…"
    return passage


def order_for(question: str, hits: Sequence[SearchHit]) -> list[int]:
    """Indices of ``hits`` in answer order: newest first for "when did I last…"."""
    idx = list(range(len(hits)))
    if _RECENT.search(question):
        return sorted(idx, key=lambda i: hits[i].time, reverse=True)
    if _EARLIEST.search(question):
        return sorted(idx, key=lambda i: hits[i].time)
    return idx


def describe_time(moment: datetime) -> str:
    local = moment.astimezone()
    return f"{local:%a} {local.day} {local:%B %Y}, {local:%H:%M}"


def extractive_answer(question: str, numbered: Sequence[tuple[int, SearchHit]],
                      *, how_to_get_model: str) -> str:
    """Quote the evidence with times and sources; say how to get written answers."""
    lines = ["Here is what I found in your memories:"]
    for n, hit in numbered:
        passage = best_passage(hit.text or hit.snippet, question)
        source = hit.source if not hit.memory_type else f"{hit.memory_type} memory"
        lines.append(f"[{n}] {describe_time(hit.time)} · {source} · {hit.title}\n"
                     f"    “{passage}”")
    lines.append("")
    lines.append(f"(These are quotes, not a written answer. {how_to_get_model})")
    return "\n".join(lines)
