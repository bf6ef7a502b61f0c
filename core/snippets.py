"""Display snippets: a window of text around the first match, matches marked «like this»."""
from __future__ import annotations

import re
from typing import Sequence

MARK_OPEN, MARK_CLOSE = "«", "»"
SNIPPET_CHARS = 220


def make_snippet(text: str, words: Sequence[str], width: int = SNIPPET_CHARS) -> str:
    """A window of ``text`` around the first word starting with one of ``words``."""
    flat = " ".join(text.split())
    if not words:
        return flat[:width] + ("…" if len(flat) > width else "")
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\w*",
                         re.IGNORECASE)
    first = pattern.search(flat)
    start = max(0, (first.start() if first else 0) - width // 3)
    window = flat[start:start + width]
    marked = pattern.sub(lambda m: f"{MARK_OPEN}{m.group(0)}{MARK_CLOSE}", window)
    return ("…" if start else "") + marked + ("…" if start + width < len(flat) else "")
