"""Unicode normalisation of everything that enters the store (NFKC, with care).

A PDF shows "misfits" but its text layer holds "misﬁts" (U+FB01, the "fi"
ligature); a web page writes "ＡＰＩ" in full-width letters; Arabic text comes out
of a PDF in presentation forms. A person types the plain letters, so keyword
search, snippets and facts must see the plain letters too: compatibility
characters are folded with NFKC once, at the pipeline's door, and queries are
folded the same way.

NFKC also folds characters whose difference carries meaning or whose folded
form reads worse. Those are kept as they are (canonically composed):

- superscripts, subscripts and vulgar fractions: "10⁶" must not become "106",
  nor "1½" become "11⁄2";
- spacing accents (´ ¨ ¸ …), which NFKC turns into a space plus a combining
  mark: "don´t" must not be split into two words;
- Hangul compatibility jamo and their half-width forms ("ㅋㅋ"), which NFKC turns
  into conjoining jamo that do not render on their own;
- full-width punctuation and symbols in CJK text ("，" "！" "（"): only
  full-width letters and digits are folded.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

__all__ = ["normalize_text", "normalize_value"]

_KEEP_TAGS = ("<super>", "<sub>", "<fraction>")
# Compatibility decompositions live below U+20000 (the rest are canonical CJK
# compatibility ideographs, which NFC maps as well).
_SCAN_LIMIT = 0x20000


@lru_cache(maxsize=1)
def _protected() -> re.Pattern[str]:
    """A character class of the characters NFKC must leave alone (built once, ~50 ms)."""
    keep: list[int] = []
    for cp in range(0xA0, _SCAN_LIMIT):
        ch = chr(cp)
        decomposition = unicodedata.decomposition(ch)
        if not decomposition.startswith("<"):
            continue
        tag = decomposition.split(">", 1)[0] + ">"
        folded = unicodedata.normalize("NFKC", ch)
        if tag in _KEEP_TAGS:
            keep.append(cp)
        elif len(folded) > 1 and folded[0] == " " and not ch.isspace():
            keep.append(cp)  # spacing accents: NFKC gives " " + a combining mark
        elif 0x3131 <= cp <= 0x318E or 0xFFA0 <= cp <= 0xFFDC:
            keep.append(cp)  # Hangul compatibility jamo, half-width Hangul
        elif tag == "<wide>" and not folded.isalnum():
            keep.append(cp)  # full-width punctuation and symbols
    ranges: list[str] = []
    start = prev = keep[0]
    for cp in keep[1:] + [-1]:
        if cp == prev + 1:
            prev = cp
            continue
        ranges.append(re.escape(chr(start)) if start == prev
                      else f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
        start = prev = cp
    return re.compile(f"[{''.join(ranges)}]+")


def normalize_text(text: str) -> str:
    """``text`` with compatibility characters folded (NFKC), except the protected ones.

    Idempotent, and cheap for text that needs nothing (ASCII, or already NFKC).
    """
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text
    protected = _protected()
    if protected.search(text) is None:
        return unicodedata.normalize("NFKC", text)
    parts: list[str] = []
    position = 0
    for found in protected.finditer(text):
        parts.append(unicodedata.normalize("NFKC", text[position:found.start()]))
        parts.append(unicodedata.normalize("NFC", found.group()))
        position = found.end()
    parts.append(unicodedata.normalize("NFKC", text[position:]))
    return "".join(parts)


def normalize_value(value: Any) -> Any:
    """Strings inside a JSON-like value normalised (mapping keys left alone)."""
    if isinstance(value, str):
        return normalize_text(value)
    if isinstance(value, dict):
        return {key: normalize_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize_value(item) for item in value]
    return value
