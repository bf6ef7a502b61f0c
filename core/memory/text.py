"""Words, sentences and extractive summaries (pure).

Kept free of ``core.retrieval`` on purpose: retrieval will import the memory
search, and a memory module importing retrieval back would make a cycle.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Iterable, Sequence

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n+")
_SPACE = re.compile(r"\s+")
REDUNDANT = 0.5  # word overlap at which a summary sentence repeats a chosen one

STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't could couldn't did didn't do does doesn't
doing don't down during each few for from further get got had hadn't has hasn't have haven't
having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll
i'm i've if in into is isn't it it's its itself just let's me more most mustn't my myself no
nor not now of off on once only or other ought our ours ourselves out over own same shan't
she she'd she'll she's should shouldn't so some such than that that's the their theirs them
themselves then there there's these they they'd they'll they're they've this those through
to too under until up very was wasn't we we'd we'll we're we've were weren't what what's
when when's where where's which while who who's whom why why's will with won't would
wouldn't you you'd you'll you're you've your yours yourself yourselves yeah yes oh ok okay
really just like well one thing things lot lots much many also still even ever
""".split())


def words(text: str) -> list[str]:
    """Lower-case word tokens (apostrophes kept inside words: "don't")."""
    return [w.lower().replace("’", "'") for w in WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """Words that carry meaning: no stopwords, no single letters, no bare numbers."""
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 1 and not w.isdigit()]


def normalize(text: str) -> str:
    """A comparison form: lower-case words joined by single spaces."""
    return " ".join(words(text))


def squash(text: str) -> str:
    """Collapse runs of whitespace into single spaces."""
    return _SPACE.sub(" ", text).strip()


def stem(word: str) -> str:
    """A crude stem (first five letters) good enough to match inflections."""
    return word[:5]


def sentences(text: str) -> list[str]:
    """Split ``text`` into sentences; lines are boundaries too (OCR, chat)."""
    out = []
    for part in _SENTENCE_END.split(text):
        part = squash(part)
        if part:
            out.append(part)
    return out


def readable(sentence: str) -> bool:
    """Worth quoting in a summary: a few words, mostly letters (not OCR debris)."""
    ws = words(sentence)
    if len(ws) < 4 or len(sentence) > 400:
        return False
    letters = sum(c.isalpha() for c in sentence)
    return letters >= 0.6 * len(sentence.replace(" ", ""))


def summarize(parts: Sequence[tuple[int, str]], *, max_sentences: int = 3,
              max_chars: int = 420) -> list[tuple[int, str]]:
    """Pick the sentences that best represent ``parts`` (``(event id, text)``).

    Extractive: each sentence is scored by how frequent its content words are in
    the whole group (the group's "centroid"), damped by length, with a small
    bonus for appearing early; repeated sentences (the same screen text seen in
    many frames) count once. The chosen sentences keep their original order
    and the id of the event each came from, so a summary can be re-derived
    when one of its events is forgotten.
    """
    seen: set[str] = set()
    candidates: list[tuple[int, int, str]] = []  # (order, event id, sentence)
    freq: Counter[str] = Counter()
    for event_id, text in parts:
        for sentence in sentences(text):
            key = normalize(sentence)
            if key in seen or not readable(sentence):
                continue
            seen.add(key)
            candidates.append((len(candidates), event_id, sentence))
            freq.update(set(content_words(sentence)))
    if not candidates:
        return []
    scored = []
    total = len(candidates)
    for order, event_id, sentence in candidates:
        cw = content_words(sentence)
        if not cw:
            continue
        weight = sum(math.log1p(freq[w]) for w in set(cw)) / math.sqrt(len(cw) + 2)
        position = 0.15 * (1.0 - order / total)
        scored.append((weight + position, order, event_id, sentence))
    scored.sort(key=lambda s: (-s[0], s[1]))
    chosen: list[tuple[int, int, str]] = []
    used = 0
    picked_words: list[set[str]] = []
    for _score, order, event_id, sentence in scored:
        if len(chosen) >= max_sentences:
            break
        if chosen and used + len(sentence) > max_chars:
            continue
        cw = set(content_words(sentence))
        # Redundancy check: a near-repeat of a chosen sentence (OCR of the same
        # screen with one number changed) says nothing new.
        if any(overlap(cw, other) >= REDUNDANT for other in picked_words):
            continue
        picked_words.append(cw)
        chosen.append((order, event_id, sentence[:max_chars]))
        used += len(sentence)
    chosen.sort()
    return [(event_id, sentence) for _order, event_id, sentence in chosen]


def overlap(a: Iterable[str], b: Iterable[str]) -> float:
    """Jaccard overlap of two collections of strings (0 when both are empty)."""
    sa, sb = set(a), set(b)
    if not sa and not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, marked with …"""
    text = squash(text)
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"
