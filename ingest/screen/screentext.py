"""The text read so far from one window, updated band by band as the screen changes.

A window is read whole once (when it comes to the front, moves or resizes);
after that only the bands that changed are read again, and their words replace
the words that were there (``WindowText.replace_band``). A band spans the
window's full width — cutting a line of text sideways would cut words in half —
covers the pixel rows that changed and the whole height of the known lines it
touches, and is read with a small margin; only words whose centre lies inside
the band are taken from that read, so a neighbouring line cut by the margin
never adds half-read words.

Also here: aligning redacted text with the words' boxes (so the secrets'
pixels can be painted over and the stored boxes match the stored text), and a
compact encoding of word boxes for the event's meta.
"""
from __future__ import annotations

import base64
import difflib
import struct
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from ingest.screen.frame import Rect
from ingest.screen.ocr import OcrResult, OcrWord

Fragment = tuple[OcrWord, ...]  # one line (or line piece) of words, left to right
Redact = Callable[[str], "tuple[str, Mapping[str, int]]"]

BOX_FORMAT = "u16le-xywh"  # meta["boxes_format"]: 4 little-endian uint16 per token


def _centre_in(word: OcrWord, rect: Rect) -> bool:
    cx, cy = word.left + word.width // 2, word.top + word.height // 2
    return rect.left <= cx < rect.right and rect.top <= cy < rect.bottom


def _clean(word: OcrWord) -> OcrWord | None:
    """Words never contain whitespace, so text tokens and words stay aligned 1:1."""
    text = "".join(word.text.split())
    if not text:
        return None
    return word if text == word.text else OcrWord(text, word.confidence, word.left, word.top,
                                                  word.width, word.height, word.line)


def fragments_of(result: OcrResult, inside: Rect | None = None) -> list[Fragment]:
    """The result's lines as fragments, keeping only words centred in ``inside``."""
    lines: dict[int, list[OcrWord]] = {}
    for word in result.words:
        cleaned = _clean(word)
        if cleaned is not None and (inside is None or _centre_in(cleaned, inside)):
            lines.setdefault(cleaned.line, []).append(cleaned)
    return [tuple(words) for _, words in sorted(lines.items())]


@dataclass(frozen=True)
class WindowText:
    """Words read from one window area, as fragments in reading order.

    ``digest`` identifies the pixels of ``area`` this text was read from, so a
    window shown again unchanged is not read again.
    """

    area: Rect
    fragments: tuple[Fragment, ...] = ()
    digest: bytes = b""

    @classmethod
    def from_result(cls, area: Rect, result: OcrResult, digest: bytes = b"") -> WindowText:
        return cls(area, tuple(fragments_of(result)), digest)

    @property
    def words(self) -> tuple[OcrWord, ...]:
        return tuple(w for frag in self.fragments for w in frag)

    @property
    def text(self) -> str:
        return "\n".join(" ".join(w.text for w in frag) for frag in self.fragments)

    def with_digest(self, digest: bytes) -> WindowText:
        return WindowText(self.area, self.fragments, digest)

    def replace_band(self, band: Rect, result: OcrResult) -> WindowText:
        """Words centred in ``band`` are replaced by the words ``result`` read there."""
        kept: list[Fragment] = []
        insert_at: int | None = None
        for frag in self.fragments:
            rest = tuple(w for w in frag if not _centre_in(w, band))
            if len(rest) != len(frag) and insert_at is None:
                insert_at = len(kept)
            if rest:
                kept.append(rest)
        new = fragments_of(result, band)
        if insert_at is None:
            # Nothing was there before: place the new lines above the first line below them.
            top = band.top
            insert_at = next((i for i, f in enumerate(kept) if min(w.top for w in f) > top),
                             len(kept))
        return WindowText(self.area, tuple(kept[:insert_at] + new + kept[insert_at:]),
                          self.digest)


def read_rect(band: Rect, area: Rect, margin: int) -> Rect:
    """What to OCR for a changed band: the band plus ``margin`` rows, inside ``area``."""
    grown = Rect(area.left, band.top - margin, area.width, band.height + 2 * margin)
    return grown.intersection(area) or band


def bands(changed: Sequence[Rect], area: Rect,
          known: Sequence[OcrWord] = ()) -> list[Rect]:
    """Full-width bands of ``area`` covering the changed rectangles, overlaps merged.

    Each band grows to the whole height of the lines already ``known`` that it
    touches: pixels of a changed line that happen to be the same as before
    (the ascender of "tall" → "tell") are still part of the new word.
    """
    spans: list[tuple[int, int]] = []
    for rect in changed:
        hit = rect.intersection(area)
        if hit is None:
            continue
        top, bottom = hit.top, hit.bottom
        for word in known:
            if word.top < bottom and top < word.top + word.height:
                top, bottom = min(top, word.top), max(bottom, word.top + word.height)
        spans.append((max(top, area.top), min(bottom, area.bottom)))
    spans.sort()
    merged: list[list[int]] = []
    for top, bottom in spans:
        if merged and top <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], bottom)
        else:
            merged.append([top, bottom])
    return [Rect(area.left, top, area.width, bottom - top) for top, bottom in merged]


# -- redaction aligned with boxes ----------------------------------------------------

@dataclass(frozen=True)
class RedactedWords:
    """Redacted text, one box per token of it, and the boxes of what was removed."""

    text: str
    boxes: tuple[Rect, ...]  # aligned with text.split()
    hidden: tuple[Rect, ...]  # pixels to paint over in any stored image
    counts: Mapping[str, int]


def _box(word: OcrWord) -> Rect:
    return Rect(word.left, word.top, word.width, word.height)


def _union(words: Sequence[OcrWord]) -> Rect:
    box = _box(words[0])
    for w in words[1:]:
        box = box.union(_box(w))
    return box


def redact_words(words: Sequence[OcrWord], text: str, redact: Redact) -> RedactedWords:
    """Redact ``text`` (whose tokens are ``words``) and carry the boxes across.

    Tokens the redactor changed or removed are found by diffing token lists;
    their boxes are "hidden" (painted over in stored images), and each marker
    token gets the union box of the words it replaced.
    """
    clean, counts = redact(text)
    found = {k: v for k, v in counts.items() if v}
    tokens = [w.text for w in words]
    if not found and clean == text:
        return RedactedWords(text, tuple(_box(w) for w in words), (), {})
    new_tokens = clean.split()
    boxes: list[Rect] = []
    hidden: list[Rect] = []
    matcher = difflib.SequenceMatcher(None, tokens, new_tokens, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            boxes.extend(_box(w) for w in words[i1:i2])
            continue
        if i2 > i1:
            hidden.extend(_box(w) for w in words[i1:i2])
            boxes.extend([_union(words[i1:i2])] * (j2 - j1))
        else:  # inserted tokens with no word behind them: no place on screen
            boxes.extend([Rect(0, 0, 0, 0)] * (j2 - j1))
    return RedactedWords(clean, tuple(boxes), tuple(hidden), found)


# -- compact boxes in meta ---------------------------------------------------------

def encode_boxes(boxes: Sequence[Rect]) -> str:
    """Boxes as base64 of little-endian uint16 (left, top, width, height) each.

    ~11 bytes per word instead of ~25 as JSON numbers; screen coordinates fit.
    """
    def clip(v: int) -> int:
        return max(0, min(0xFFFF, v))

    packed = b"".join(struct.pack("<4H", clip(b.left), clip(b.top), clip(b.width),
                                  clip(b.height)) for b in boxes)
    return base64.b64encode(packed).decode("ascii")


def decode_boxes(encoded: str) -> list[Rect]:
    """The inverse of ``encode_boxes``: one Rect per token of the event's text."""
    raw = base64.b64decode(encoded)
    return [Rect(*struct.unpack_from("<4H", raw, i)) for i in range(0, len(raw) - 7, 8)]
