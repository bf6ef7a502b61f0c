"""Is what a memory says found in the events it cites? (pure)

HaluMem's finding: memory systems fabricate while extracting and updating. A
model-written memory is kept only when its content words (crudely stemmed)
occur in the text of the events it cites, speakers and titles included.
This is deliberately lexical: it cannot judge a paraphrase's truth, but it
reliably refuses values that appear nowhere in the sources.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from core.memory.text import content_words, stem

MIN_SHARE = 0.5


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
