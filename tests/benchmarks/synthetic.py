"""Synthetic items for search benchmarks: realistic word and vector statistics.

Text: a Zipf-distributed vocabulary (the head is real English function words,
as in real captures), a few "very common" words planted in a fixed share of
items (``meeting`` in 75%: the FTS worst case), and per-topic words so that the
keyword and vector lists agree on some items, as they do for real data.

Vectors: clustered on the unit sphere around a shared offset direction. Real
sentence embeddings are anisotropic (all-MiniLM-L6-v2 vectors share a common
component) and clustered by topic; both properties change how sign-bit
quantization behaves, so uniform random vectors would flatter it.

Everything is a pure function of (seed, index): a cached store can be checked
against freshly generated vectors without keeping 1.5 GB of floats on disk.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from core.records import Observation

DIMS = 384
N_TOPICS = 2000
VOCAB = 30_000
# Planted words and the share of items containing them.
COMMON = {"meeting": 0.75, "project": 0.30, "email": 0.10, "update": 0.05}
HEAD = ("the of and to in a is for on with that this it at from by be as are was "
        "you we i not have or but an").split()
SOURCES = (("screen", 0.6), ("file", 0.2), ("chat", 0.15), ("note", 0.05))
APPS = tuple(f"app{i}" for i in range(30))
START = datetime(2023, 1, 1, tzinfo=timezone.utc)
SPAN = timedelta(days=730)
# Mixing weights, tuned so neighbour cosines resemble real MiniLM vectors
# (see bench_search.py's printed comparison).
# Topics nest: 12 areas > 120 groups > 2000 topics > 8 subtopics each.
OFFSET_W, AREA_W, GROUP_W, TOPIC_W, SUBTOPIC_W, NOISE_SD = 0.4, 0.6, 0.5, 0.6, 0.5, 0.033
AREAS, GROUPS, SUBTOPICS = 12, 120, 8
_SYLLABLES = ("ka lo mi ne ru sa te vo ba di fu ge hi jo ku la me no pa re si to "
              "va we xi yo za an el in or um").split()


@dataclass(frozen=True)
class Corpus:
    """The fixed parts of a synthetic corpus (vocabulary, topics, directions)."""

    seed: int
    words: tuple[str, ...]
    zipf_p: np.ndarray          # probability of each background word
    topic_words: np.ndarray     # (N_TOPICS, 3) indices into words
    offset: np.ndarray          # (DIMS,) shared direction
    areas: np.ndarray           # (AREAS, DIMS)
    groups: np.ndarray          # (GROUPS, DIMS)
    topics: np.ndarray          # (N_TOPICS, DIMS) unit topic directions
    subtopics: np.ndarray       # (N_TOPICS, SUBTOPICS, DIMS)


def make_corpus(seed: int = 7) -> Corpus:
    rng = np.random.default_rng(seed)
    words: list[str] = list(HEAD)
    seen = set(words) | set(COMMON)
    while len(words) < VOCAB:
        w = "".join(rng.choice(_SYLLABLES, size=int(rng.integers(2, 5))))
        if w not in seen:
            seen.add(w)
            words.append(w)
    ranks = np.arange(1, VOCAB + 1, dtype=np.float64)
    p = 1.0 / ranks ** 1.07
    p /= p.sum()
    # Topic words come from the middle of the frequency range: specific, not rare.
    topic_words = rng.integers(2000, 20000, size=(N_TOPICS, 3))
    offset = _unit(rng.standard_normal(DIMS))
    areas = _unit(rng.standard_normal((AREAS, DIMS)))
    groups = _unit(rng.standard_normal((GROUPS, DIMS)))
    topics = _unit(rng.standard_normal((N_TOPICS, DIMS)))
    subtopics = _unit(rng.standard_normal((N_TOPICS, SUBTOPICS, DIMS)))
    return Corpus(seed, tuple(words), p, topic_words, offset, areas, groups, topics, subtopics)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def item_topics(corpus: Corpus, start: int, n: int) -> np.ndarray:
    rng = np.random.default_rng((corpus.seed, 1, start))
    # Topic popularity is skewed too: a few projects dominate a person's data.
    w = 1.0 / np.arange(1, N_TOPICS + 1) ** 0.8
    return rng.choice(N_TOPICS, size=n, p=w / w.sum())


def vectors(corpus: Corpus, topics: np.ndarray, salt: int) -> np.ndarray:
    """Unit vectors for items (or queries) of the given topics."""
    rng = np.random.default_rng((corpus.seed, 2, salt))
    n = len(topics)
    sub = rng.integers(0, SUBTOPICS, size=n)
    group = topics % GROUPS
    v = (OFFSET_W * corpus.offset
         + AREA_W * corpus.areas[group % AREAS]
         + GROUP_W * corpus.groups[group]
         + TOPIC_W * corpus.topics[topics]
         + SUBTOPIC_W * corpus.subtopics[topics, sub]
         + NOISE_SD * rng.standard_normal((n, DIMS)))
    return _unit(v).astype(np.float32)


def texts(corpus: Corpus, topics: np.ndarray, salt: int) -> list[str]:
    rng = np.random.default_rng((corpus.seed, 3, salt))
    n = len(topics)
    lengths = rng.integers(6, 36, size=n)
    flat = rng.choice(VOCAB, size=int(lengths.sum()), p=corpus.zipf_p)
    words = corpus.words
    planted = {w: rng.random(n) < share for w, share in COMMON.items()}
    n_topic = rng.integers(1, 3, size=n)
    out: list[str] = []
    pos = 0
    for i in range(n):
        toks = [words[j] for j in flat[pos:pos + lengths[i]]]
        pos += lengths[i]
        toks += [words[j] for j in corpus.topic_words[topics[i], :n_topic[i]]]
        toks += [w for w, mask in planted.items() if mask[i]]
        rng.shuffle(toks)
        out.append(" ".join(toks))
    return out


def observations(corpus: Corpus, start: int, n: int,
                 total: int) -> tuple[list[Observation], np.ndarray]:
    """Items ``start .. start+n`` of a corpus of ``total``, and their vectors."""
    topics = item_topics(corpus, start, n)
    vecs = vectors(corpus, topics, salt=start)
    txt = texts(corpus, topics, salt=start)
    rng = np.random.default_rng((corpus.seed, 4, start))
    src_names = [s for s, _ in SOURCES]
    src = rng.choice(len(SOURCES), size=n, p=[p for _, p in SOURCES])
    # Time grows with the item number (capture order) with some jitter.
    frac = (start + np.arange(n) + rng.random(n) * 50) / total
    secs = frac * SPAN.total_seconds()
    dur = rng.integers(0, 600, size=n)
    apps = rng.integers(0, len(APPS), size=n)
    obs = []
    for i in range(n):
        source = src_names[src[i]]
        at = START + timedelta(seconds=float(secs[i]))
        obs.append(Observation(
            source=source, captured_at=at, text=txt[i],
            ended_at=at + timedelta(seconds=int(dur[i])) if source == "screen" else None,
            app=APPS[apps[i]] if source == "screen" else None,
            external_id=f"syn-{start + i}",
        ))
    return obs, vecs


def queries(corpus: Corpus, n: int, seed: int = 99) -> list[tuple[str, np.ndarray, int]]:
    """(text, vector, topic) per query: topic words, sometimes very common words."""
    rng = np.random.default_rng((corpus.seed, 5, seed))
    w = 1.0 / np.arange(1, N_TOPICS + 1) ** 0.8
    topics = rng.choice(N_TOPICS, size=n, p=w / w.sum())
    vecs = vectors(corpus, topics, salt=10**9 + seed)
    out = []
    for i, t in enumerate(topics):
        kind = i % 5
        topic = [corpus.words[j] for j in corpus.topic_words[t]]
        if kind == 0:      # a specific word and the 75% word
            parts = [topic[0], "meeting"]
        elif kind == 1:    # only very common words: the FTS worst case
            parts = ["meeting", "project"]
        elif kind == 2:    # two specific words with stopwords around
            parts = ["the", topic[0], "of", topic[1]]
        elif kind == 3:    # a specific word and a mid-frequency background word
            parts = [topic[1], corpus.words[int(rng.integers(200, 2000))]]
        else:              # three words, one common
            parts = [topic[0], topic[2], "email"]
        out.append((" ".join(parts), vecs[i], int(t)))
    return out
