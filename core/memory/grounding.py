"""Is what a memory says found in the events it cites? (pure)

HaluMem's finding: memory systems fabricate while extracting and updating. A
model-written memory is kept only when its content words (crudely stemmed)
occur in the text of the events it cites, speakers and titles included.
This is deliberately lexical: it cannot judge a paraphrase's truth, but it
reliably refuses values that appear nowhere in the sources. A second check by
meaning (``similar_to_sources``, embedding cosine with the cited events) refuses
a memory whose words are scattered through its sources but which says something
else, so a model memory never outranks the rules' with a wrong source.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from core.memory.text import content_words, stem

MIN_SHARE = 0.5
# all-MiniLM-L6-v2: a third-person rewrite of a sentence scores about 0.6–0.9 with
# it, an unrelated message of the same chat below 0.3.
MIN_COSINE = 0.45


def source_stems(texts: Iterable[str]) -> set[str]:
    """The stems present in the cited events' text."""
    out: set[str] = set()
    for text in texts:
        out.update(stem(w) for w in content_words(text))
    return out


def share_found(claim: str, stems: set[str]) -> float:
    """Fraction of ``claim``'s content words whose stem occurs in ``stems`` (0 if none)."""
    words = content_words(claim)
    if not words:
        return 0.0
    return sum(stem(w) in stems for w in words) / len(words)


def grounded(claims: Sequence[str], texts: Iterable[str], *, min_share: float = MIN_SHARE) -> bool:
    """True when every non-empty claim has at least ``min_share`` of its words in ``texts``."""
    stems = source_stems(texts)
    checked = [c for c in claims if content_words(c)]
    if not checked:
        return False
    return all(share_found(c, stems) >= min_share for c in checked)


def similar_to_sources(memory: np.ndarray, sources: np.ndarray, *,
                       min_cosine: float = MIN_COSINE) -> bool:
    """True when the memory's unit vector has cosine ≥ ``min_cosine`` with some cited
    event's unit vector (``sources``: one row per cited event)."""
    if sources.size == 0:
        return False
    return float(np.max(sources @ memory)) >= min_cosine
