"""Is this extracted text language, or garbage from a broken text layer?

A PDF's text layer can be unusable while the page looks fine on screen: fonts
without a Unicode map give glyph names ("/g152/g135…"), private-use code
points or control characters; a wrong code page gives mojibake ("Ã©", "ÆüËÜ").
Such text would fill the store with chunks nobody can find or read, so every
page passes this gate; the PDF reader then tries another extractor, and skips
the page with a reason when none gives real text.

Pure functions over strings; cheap enough to run on every page.
"""
from __future__ import annotations

import re
import unicodedata

__all__ = ["text_problem", "text_score"]

# "/g152", "/G7A", "/cid123", "/uni0041", "/glyph12", "/c45": names pypdf writes
# when a font maps codes to glyph names only.
_GLYPH_NAMES = re.compile(r"(?:/(?:g|G|cid|glyph|c|C|uni|u|index)[0-9A-Fa-f]{1,5}\b\.?\w*){2,}")
# UTF-8 read as Windows-1252/Latin-1: a lead byte shown as "Ã", "Â", "â", "ã" …
# followed by a continuation byte shown as a C1 control or Latin-1 symbol.
_MOJIBAKE = re.compile("[\u00c2-\u00c3\u00c5\u00e2\u00e3\u00ef][\u0080-\u00bf\u0152\u0153\u0160"
                       "\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e"
                       "\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")
_MIN_CHARS = 12  # below this, too little to judge: accepted


def _counts(text: str) -> tuple[int, int, int, int, int]:
    """(visible chars, bad chars, private-use chars, letters, Latin-1/Extended letters)."""
    visible = bad = private = letters = extended = 0
    for ch in text:
        if ch in " \t\n\r\f\v":
            continue
        visible += 1
        code = ord(ch)
        if ch.isalpha():
            letters += 1
            if 0xC0 <= code <= 0x24F:
                extended += 1
            continue
        category = unicodedata.category(ch)
        if ch.isdigit() or (ch.isascii() and category != "Cc"):
            continue
        if category == "Co":
            private += 1
        elif category in ("Cc", "Cn", "Cs") or ch == "\ufffd":
            bad += 1  # controls (C1 included), unassigned, the replacement char
    return visible, bad, private, letters, extended


def text_problem(text: str) -> str | None:
    """None when ``text`` reads as language; else why not, in a few words.

    "glyph names instead of text", "private-use characters", "control
    characters", "mojibake". Short texts are given the benefit of the doubt.
    """
    visible, bad, private, letters, extended = _counts(text)
    if visible < _MIN_CHARS:
        return None
    glyphs = sum(len(m.group()) for m in _GLYPH_NAMES.finditer(text))
    if glyphs > 0.2 * visible:
        return "glyph names instead of text"
    if private > 0.1 * visible:
        return "private-use characters"
    if bad > 0.1 * visible:
        return "control characters"
    if len(_MOJIBAKE.findall(text)) > 0.03 * visible:
        return "mojibake"
    # Text of a non-Latin script read through a Latin code page: nearly every
    # letter an accented Latin one (real Latin-script languages stay far below).
    if letters >= 20 and extended > 0.6 * letters:
        return "mojibake"
    # A multi-byte encoding (EUC-JP, GBK, Big5 …) read as Latin-1: a dense run
    # of Latin-1 letters and symbols, more than any Latin-script language has.
    if sum(1 for ch in text if 0x80 <= ord(ch) <= 0xFF) > 0.4 * visible:
        return "mojibake"
    return None


def text_score(text: str) -> float:
    """How much real text ``text`` holds: readable characters, minus garbage."""
    visible, bad, private, _, _ = _counts(text)
    glyphs = sum(len(m.group()) for m in _GLYPH_NAMES.finditer(text))
    return visible - 3 * (bad + private + glyphs)
