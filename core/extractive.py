"""No-model answers: the short span of the best evidence that answers the question.

``short_answer(question, numbered_hits)`` reads the question (core.question),
scores every sentence of the evidence against it, and cuts from the best one the
span its kind asks for: a date resolved against the moment the sentence was said
(core.temporal), a name, a place, a number, yes/no with the fact, the clause
that explains, or the object of the matched verb. First-person words are
rewritten to the speaker ("my sister" said by Ana → "Ana's sister") so the
answer never confuses who said what. When the evidence is about someone other
than the person asked about, it says so instead of asserting it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from core.question import QUESTION_WORDS, Question, analyse, names_in, root, words
from core.records import SearchHit
from core.retrieval import STOPWORDS
from core.spans import SpanPick, pick_span, speaker_view
from core.temporal import find_times

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'“A-Z0-9])|\n+")
_WORD = re.compile(r"\w+", re.UNICODE)
_RECENT = re.compile(r"\b(last|latest|most recent(ly)?|recently|newest|current(ly)?)\b", re.I)
_EARLIEST = re.compile(r"\b(first|earliest|originally|initially)\b", re.I)
_YOU = re.compile(r"\b(you|your|yours|you're|you've)\b", re.I)
PASSAGE_CHARS = 280
MAX_HITS = 6
NOT_FOUND = "I don't find that in your memories."


def _stem(word: str) -> str:
    return root(word)


def content_stems(text: str) -> set[str]:
    """Stems of the words in ``text`` that carry meaning (no stop words)."""
    return {_stem(w) for w in (t.lower() for t in _WORD.findall(text)) if w not in STOPWORDS}


@dataclass(frozen=True)
class Sentence:
    """One sentence of one piece of evidence, scored against the question."""

    n: int
    hit: SearchHit
    text: str
    speaker: str
    score: float


@dataclass(frozen=True)
class ShortAnswer:
    """The first line of an answer and the evidence numbers it rests on.

    ``kind`` is "answer", "premise" (the evidence is about someone else) or
    "not-found".
    """

    text: str
    cited: tuple[int, ...]
    kind: str


def speaker_of(hit: SearchHit) -> str:
    return (hit.provenance.speaker or "").strip()


_CAPTION = re.compile(r"\[image:\s*(?:an? (?:photo|photograph|photography|picture|image|"
                      r"screenshot) of\s+)?([^\]]*)\]", re.I)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; an image caption ("[image: a photo of X]") is one of its own."""
    captions = [m.group(1).strip() for m in _CAPTION.finditer(text)]
    text = _CAPTION.sub(" ", text)
    found = [s.strip() for s in _SENTENCE.split(text.strip()) if s and s.strip()]
    return found + [c for c in captions if c]


def replied(numbered: Sequence[tuple[int, SearchHit]]) -> dict[int, SearchHit]:
    """Evidence that replies to the evidence just before it (a chat question and its answer)."""
    ordered = sorted(numbered, key=lambda x: x[0])
    out = {}
    for (_, prev), (n, hit) in zip(ordered, ordered[1:]):
        if prev.provenance.thread and prev.provenance.thread == hit.provenance.thread \
                and hit.id > prev.id and speaker_of(prev) != speaker_of(hit) \
                and "?" in (prev.text or prev.snippet):
            out[n] = prev
    return out


def score_sentences(q: Question, numbered: Sequence[tuple[int, SearchHit]]) -> list[Sentence]:
    """Every sentence of the evidence, best first.

    A question word found in a sentence counts by its rarity among the evidence
    (a word every quote shares tells nothing); the retrieval rank breaks ties. A
    question in a chat never answers; its reply inherits its match.
    """
    focus = {_stem(w) for w in q.focus}
    context = replied(numbered)
    rows: list[tuple[int, SearchHit, str, set[str], set[str]]] = []
    for n, hit in numbered[:MAX_HITS + len(context)]:
        asked = context.get(n)
        asked_stems = {_stem(w) for w in words(asked.text or asked.snippet)} if asked else set()
        for text in split_sentences(hit.text or hit.snippet):
            rows.append((n, hit, text, {_stem(w) for w in words(text)}, asked_stems))
    if not focus:
        focus = {_stem(w) for w in words(q.text) if w not in QUESTION_WORDS}
    if not rows:
        return []
    df = {w: sum(w in r[3] for r in rows) for w in focus}
    weight = {w: math.log(1 + len(rows) / (1 + df[w])) for w in focus}
    total = sum(weight.values()) or 1.0
    out = []
    for n, hit, text, stems, asked_stems in rows:
        matched = sum(weight[w] for w in focus & stems) / total
        if asked_stems:
            matched = max(matched, 0.85 * sum(weight[w] for w in focus & (stems | asked_stems))
                          / total)
        speaker = speaker_of(hit)
        about = _is_about(q.subject, speaker, text) if q.subject else True
        score = matched + 0.15 * about + 0.05 / (1 + n) + _fits(q, text, hit) * 0.1
        if text.rstrip().endswith("?"):
            score *= 0.4
        if len(content_stems(text) - _FILLER) < 3:
            score *= 0.6
        out.append(Sentence(n, hit, text, speaker, score))
    out.sort(key=lambda s: -s.score)
    return out


_FILLER = frozenset("""
yeah yes wow oh hey hi thank thanks aweso amazi great cool total reall super lol haha glad
happy love loved lovel nice good sound prett defin congr so
""".split())


def _is_about(subject: str, speaker: str, text: str) -> bool:
    """Whether a sentence is about ``subject``: said by them, naming them, or to them."""
    if speaker and speaker.split()[0].lower() == subject.lower():
        return True
    if re.search(rf"\b{re.escape(subject)}\b", text, re.I):
        return True
    return bool(speaker) and bool(_YOU.search(text))


def _fits(q: Question, text: str, hit: SearchHit) -> float:
    """Whether the sentence holds the kind of thing the question asks for."""
    if q.kind == "when":
        return 1.0 if find_times(text, hit.time) else 0.0
    if q.kind == "count":
        return 1.0 if re.search(r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|"
                                r"dozen|hundred|twice|once)\b", text, re.I) else 0.0
    if q.kind == "who":
        return 1.0 if set(names_in(text)) - set(q.names) or re.search(
            r"\bmy (mom|mother|dad|father|sister|brother|friend|partner|wife|husband|son|"
            r"daughter|kids?|children|family|boss|colleague|teacher|grand\w+)\b", text, re.I) \
            else 0.0
    if q.kind == "where":
        return 1.0 if re.search(r"\b(in|at|to|from|near)\s+(the\s+)?[A-Z]", text) else 0.0
    return 0.0


def short_answer(question: str, numbered: Sequence[tuple[int, SearchHit]]) -> ShortAnswer:
    """The short answer to ``question`` from the numbered evidence, or honest absence."""
    people = tuple(dict.fromkeys(speaker_of(h).split()[0] for _, h in numbered
                                 if speaker_of(h)))
    q = analyse(question, people)
    ranked = score_sentences(q, numbered)
    if not ranked or ranked[0].score < 0.2:
        return ShortAnswer(NOT_FOUND, (), "not-found")
    best = ranked[0]
    if q.subject and q.subject in people and not _is_about(q.subject, best.speaker, best.text):
        other = best.speaker or "someone else"
        return ShortAnswer(f"I found that {other}, not {q.subject}, mentioned this [{best.n}].",
                           (best.n,), "premise")
    picks = [_answer_from(q, best)]
    if q.wants_list:  # combine facts: "What activities does Melanie do?"
        for s in ranked[1:]:
            if len(picks) >= 3 or s.score < 0.6 * best.score:
                break
            if s.n in {p.n for p in picks} or not _is_about(q.subject, s.speaker, s.text) \
                    if q.subject else False:
                continue
            pick = _answer_from(q, s)
            if pick.text and pick.text.lower() not in {p.text.lower() for p in picks}:
                picks.append(pick)
    picks = [p for p in picks if p.text]
    if not picks:
        return ShortAnswer(NOT_FOUND, (), "not-found")
    text = "; ".join(f"{p.text} [{p.n}]" for p in picks)
    return ShortAnswer(text, tuple(dict.fromkeys(p.n for p in picks)), "answer")


def _answer_from(q: Question, s: Sentence) -> SpanPick:
    if q.kind == "when":
        found = find_times(s.text, s.hit.time.astimezone())
        if found:
            return SpanPick(s.n, found[0].span.label)
        local = s.hit.time.astimezone()
        return SpanPick(s.n, f"{local.day} {local:%B %Y}")
    span = pick_span(q, s.text)
    return SpanPick(s.n, speaker_view(span, s.speaker))


def best_passage(text: str, question: str, limit: int = PASSAGE_CHARS) -> str:
    """The sentence(s) of ``text`` that share most with the question, within ``limit``."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    sentences = split_sentences(text)
    if not sentences:
        return ""
    wanted = content_stems(question)
    scores = [len(content_stems(s) & wanted) for s in sentences]
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    lo = hi = best
    passage = sentences[best]
    while True:  # grow with neighbours while there is room: context helps a quote
        grew = False
        if hi + 1 < len(sentences) and len(passage) + len(sentences[hi + 1]) + 1 <= limit:
            hi += 1
            passage, grew = f"{passage} {sentences[hi]}", True
        if lo > 0 and len(passage) + len(sentences[lo - 1]) + 1 <= limit:
            lo -= 1
            passage, grew = f"{sentences[lo]} {passage}", True
        if not grew:
            break
    passage = " ".join(passage.split())
    return passage if len(passage) <= limit else passage[:limit].rsplit(" ", 1)[0] + "…"


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


__all__ = ["NOT_FOUND", "QUESTION_WORDS", "Sentence", "ShortAnswer", "best_passage",
           "content_stems", "describe_time", "order_for", "score_sentences", "short_answer"]
