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
from typing import Callable, Sequence

from core.question import QUESTION_WORDS, Question, analyse, names_in, root, words
from core.records import SearchHit
from core.retrieval import STOPWORDS
from core.spans import SpanPick, pick_span, speaker_view, typed_span
from core.temporal import find_times

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'“A-Z0-9])|\n+")
_WORD = re.compile(r"\w+", re.UNICODE)
_RECENT = re.compile(r"\b(last|latest|most recent(ly)?|recently|newest|current(ly)?)\b", re.I)
_EARLIEST = re.compile(r"\b(first|earliest|originally|initially)\b", re.I)
_YOU = re.compile(r"\b(you|your|yours|you're|you've)\b", re.I)
PASSAGE_CHARS = 280
MAX_HITS = 6
MIN_SCORE = 0.2
MEANING_ALONE = 0.45
MAX_EMBEDDED = 12
NOT_FOUND = "I don't find that in your memories."
# A list answer ("What activities does Ana do?") joins up to LIST_MAX facts scoring at least
# LIST_RATIO of the best one.
LIST_MAX, LIST_RATIO = 3, 0.6
# A who/where/how-many answer comes from the first of the best TYPED_LOOK sentences that
# holds a name, place or number, if it scores at least TYPED_RATIO of the best.
TYPED_LOOK, TYPED_RATIO = 3, 0.6


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
    matched: float = 0.0  # share of the question's words it holds (weighted by rarity)
    meaning: float = 0.0  # embedding cosine with the question (0 when not embedded)


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


Similarity = Callable[[str, Sequence[str]], Sequence[float]]
# How the parts of a sentence's score weigh (see score_sentences).
W_WORDS, W_MEANING, W_RANK, W_ABOUT, W_FIT = 1.0, 1.0, 0.3, 0.15, 0.3
# A person's own words about themself, over a friend's echo of them ("Glad your son is ok").
W_OWN = 0.15
# A sentence that asks ("What pet do you have?") rarely answers.
ASKING = 0.4
# "Sunflowers mean warmth and happiness, right?" states; the tag only asks for agreement.
_TAG_QUESTION = re.compile(r",\s*(?:right|isn't it|aren't they|don't you think|you know|huh|"
                           r"no)\s*\?\s*$", re.I)


def score_sentences(q: Question, numbered: Sequence[tuple[int, SearchHit]],
                    similarity: Similarity | None = None,
                    people: Sequence[str] = ()) -> list[Sentence]:
    """Every sentence of the evidence, best first.

    A question word found in a sentence counts by its rarity among the evidence
    (a word every quote shares tells nothing); the retrieval rank breaks ties. A
    question in a chat never answers; its reply inherits its match. The names of
    the people talking (``people``) are not matched as words: in a chat they are
    said in greetings ("Thanks, Caroline!"), and whom a sentence is about is
    scored on its own.
    """
    speakers = {p.lower() for p in people}
    focus = {_stem(w) for w in q.focus if w not in speakers}
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
    sims: list[float] = [0.0] * len(rows)
    if similarity is not None:  # meaning, not only shared words ("pets" ~ "guinea pig")
        # Only the most promising sentences are embedded: it keeps Ask under a second.
        lexical = [sum(weight[w] for w in focus & (r[3] | r[4])) for r in rows]
        chosen = sorted(range(len(rows)), key=lambda i: -lexical[i])[:MAX_EMBEDDED]
        for i, sim in zip(chosen, similarity(q.text, [rows[i][2] for i in chosen])):
            sims[i] = float(sim)
    order = {n: i for i, (n, _) in enumerate(numbered)}
    out = []
    for (n, hit, text, stems, asked_stems), sim in zip(rows, sims):
        matched = sum(weight[w] for w in focus & stems) / total
        if asked_stems:
            matched = max(matched, 0.85 * sum(weight[w] for w in focus & (stems | asked_stems))
                          / total)
        speaker = speaker_of(hit)
        about = _is_about(q.subject, speaker, text) if q.subject else True
        own = bool(q.subject and speaker and speaker.split()[0].lower() == q.subject.lower())
        score = (W_WORDS * matched + W_MEANING * max(0.0, float(sim)) + W_ABOUT * about
                 + W_OWN * own
                 + W_RANK / (1 + order.get(n, 0)) + W_FIT * _fits(q, text, hit))
        if text.rstrip().endswith("?") and not _TAG_QUESTION.search(text):
            score *= ASKING
        if substance(text) < 2:  # "Thanks, Mel!", "Wow, that's awesome" answer nothing
            score *= 0.3
        elif not _news(text, focus):  # only says again what the question says
            score *= 0.6
        out.append(Sentence(n, hit, text, speaker, score, matched, float(sim)))
    out.sort(key=lambda s: -s.score)
    return out


_FILLER = frozenset("""
yeah yes yep yup wow oh hey hi thank thanks awesome amazing great cool totally really super
lol haha glad happy love loved lovely nice good sounds sound pretty definitely congrats so
right agree sure true hope hoping wish wonderful fantastic incredible proud exciting excited
fun blast glad tough lot lots much inspiring stunning gorgeous beautiful
""".split())


def substance(text: str) -> int:
    """How many words of ``text`` say something (not stop words, fillers or names)."""
    return sum(1 for w in re.findall(r"[A-Za-z][\w'-]*", text)
               if w.lower() not in STOPWORDS and w.lower() not in _FILLER and not w[0].isupper()
               and w.lower() not in QUESTION_WORDS)


def _news(text: str, focus: set[str]) -> int:
    """How many words of ``text`` say something the question does not already say."""
    return sum(1 for w in re.findall(r"[A-Za-z][\w'-]*", text)
               if w.lower() not in STOPWORDS and w.lower() not in _FILLER
               and w.lower() not in QUESTION_WORDS and _stem(w.lower()) not in focus)


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


def short_answer(question: str, numbered: Sequence[tuple[int, SearchHit]],
                 similarity: Similarity | None = None,
                 people: Sequence[str] = ()) -> ShortAnswer:
    """The short answer to ``question`` from the numbered evidence, or honest absence.

    ``people``: who speaks in the conversations the evidence comes from (the
    speakers of the evidence itself are always counted).
    """
    people = tuple(dict.fromkeys(p.split()[0] for p in [*people, *(speaker_of(h) for _, h in
                                                                   numbered)] if p))
    q = analyse(question, people)
    ranked = score_sentences(q, numbered, similarity, people)
    # A sentence sharing none of the question's words (names of the people talking
    # aside) answers only if it is close in meaning: "the name of Ana's dentist" is
    # not answered by "her puppy's name is Coco".
    ranked = [s for s in ranked if s.matched > 0 or s.meaning >= MEANING_ALONE]
    if not ranked or ranked[0].score < MIN_SCORE:
        return ShortAnswer(NOT_FOUND, (), "not-found")
    best = ranked[0]
    single = q.subject and q.subject in people and not (set(q.names) - {q.subject}) & set(people)
    if single and not _is_about(q.subject, best.speaker, best.text):
        theirs = next((s for s in ranked[1:8] if _is_about(q.subject, s.speaker, s.text)), None)
        if theirs is not None and theirs.score >= 0.75 * best.score \
                and theirs.matched >= 0.6 * best.matched:
            best = theirs
    if single and not _is_about(q.subject, best.speaker, best.text):
        other = best.speaker or "someone else"
        return ShortAnswer(f"I found that {other}, not {q.subject}, mentioned this [{best.n}].",
                           (best.n,), "premise")
    first = next((s for s in ranked[:4] if substance(_answer_from(q, s).text) >= 1
                  or q.kind in ("who", "when", "count")), best)
    if first is not best and first.score >= 0.8 * best.score:
        best = first
    if q.kind in ("who", "where", "count") and not typed_span(q, best.text):
        # "Where …?" is answered by a sentence naming a place, not one sharing more words.
        typed = next((s for s in ranked[1:TYPED_LOOK] if s.score >= TYPED_RATIO * best.score
                      and typed_span(q, s.text)), None)
        best = typed or best
    if instruction_like(best.text):
        return ShortAnswer(attributed(best), (best.n,), "answer")
    if q.options:  # "a beach or the mountains?": the one the evidence speaks of
        option, n = _choose(q.options, ranked[:10])
        return ShortAnswer(f"{option[:1].upper()}{option[1:]} [{n}]", (n,), "answer")
    picks = [_answer_from(q, best)]
    if q.wants_list:  # combine facts: "What activities does Melanie do?"
        for s in ranked[1:]:
            if len(picks) >= LIST_MAX or s.score < LIST_RATIO * best.score:
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


_INSTRUCTION = re.compile(
    r"^\W*(system|assistant|user|developer|instruction|note to (the )?(ai|assistant|model))\s*:|"
    r"\b(ignore|disregard|forget)\b.{0,30}\b(previous|prior|above|earlier)\b.{0,20}"
    r"\b(instructions?|prompts?|rules?)\b|\byou are (now )?(an? )?(ai|assistant|chatbot|"
    r"language model)\b|\b(the )?user (is|was|has been) (an? )?\w+|\b(assistant|ai) (must|should|"
    r"will) (say|answer|reply|respond|tell)\b", re.I)


def instruction_like(text: str) -> bool:
    """Whether captured text reads as an instruction to an assistant or a claim about "the user"
    (prompt-injection shape): such text is quoted as something seen, never asserted."""
    return bool(_INSTRUCTION.search(text))


def attributed(s: Sentence) -> str:
    """'A note you captured on 3 Dec 2026 says: "…" [n]' — a quote, not a fact."""
    hit = s.hit
    local = hit.time.astimezone()
    who = f"{s.speaker}'s message" if s.speaker and s.speaker != "You" else {
        "screen": "Text on your screen", "file": "A file", "chat": "A chat message",
        "note": "A note"}.get(hit.source, "Something")
    captured = "" if who.startswith("Text on") else " you captured"
    words_ = " ".join(s.text.split()[:20])
    return f"{who}{captured} on {local.day} {local:%b %Y} says: “{words_}” [{s.n}]"


def _choose(options: Sequence[str], ranked: Sequence[Sentence]) -> tuple[str, int]:
    """The option the best sentences speak of most (the first on a tie), and where."""
    best, where, top = options[0], ranked[0].n, 0.0
    for option in options:
        wanted = content_stems(option)
        if not wanted:
            continue
        support = [(len(wanted & content_stems(s.text)) / len(wanted) * s.score, s.n)
                   for s in ranked]
        total = sum(x for x, _ in support)
        if total > top:
            best, where, top = option, max(support)[1], total
    return best, where


def _answer_from(q: Question, s: Sentence) -> SpanPick:
    if q.kind == "when":
        found = find_times(s.text, s.hit.time.astimezone())
        if found:
            span = found[0].span
            said = re.search(r"monday|tuesday|wednesday|thursday|friday|saturday|sunday",
                             found[0].phrase, re.I)
            if said and span.granularity == "day":  # "last Saturday" → "Saturday 20 May 2023"
                return SpanPick(s.n, f"{span.start:%A} {span.label}")
            before = _before_said(found[0].phrase, span.granularity, s.hit.time.astimezone())
            if before:
                return SpanPick(s.n, before)
            return SpanPick(s.n, span.label)
        local = s.hit.time.astimezone()
        return SpanPick(s.n, f"{local.day} {local:%B %Y}")
    span = pick_span(q, s.text)
    if q.hedged and span.startswith(("Yes", "No")):  # an inference from the facts, not a fact
        span = f"Likely {span[:1].lower()}{span[1:]}"
    return SpanPick(s.n, speaker_view(span, s.speaker))


_WEEKS_AGO = re.compile(r"^(?:(last|past|previous)|(a|one|two|three|four|a couple of|a few)"
                        r"\s+(?:weeks?|weekends?)\s+ago)", re.I)


def _before_said(phrase: str, granularity: str, said: datetime) -> str:
    """"last week" said on 9 June 2023 → "the week before 9 June 2023": what was said, no
    more precise than it was (the week of 29 May would claim a week it did not name)."""
    m = _WEEKS_AGO.match(phrase.strip())
    if not m or granularity not in ("week", "weekend"):
        return ""
    day = f"{said.day} {said:%B %Y}"
    if m.group(1) or m.group(2).lower() in ("a", "one"):
        return f"the {granularity} before {day}"
    return f"{m.group(2).lower()} {granularity}s before {day}"


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
