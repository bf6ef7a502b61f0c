"""OCR words placed on a stored picture: what the moment view lets a person select.

The screen source stores one box per whitespace token of the event's text, in
frame pixels (``meta["boxes"]``); a picture covers a known part of the frame
(``shot``). A word's place on the picture is its box moved and scaled from
that part to the picture's size. Tokens after the boxed ones (lines kept from
earlier in the event) have no place on the picture and are left out.
"""
from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ingest.screen.screentext import decode_boxes


@dataclass(frozen=True)
class PlacedWord:
    """One OCR word and where it is on the picture, in picture pixels."""

    index: int           # position in the event's text (reading order)
    text: str
    x: float
    y: float
    width: float
    height: float


def place_words(text: str, meta: Mapping[str, Any], shot: Sequence[int] | None,
                picture_size: tuple[int, int]) -> list[PlacedWord]:
    """The event's OCR words on a picture of ``picture_size`` showing ``shot``."""
    packed = meta.get("boxes")
    if not isinstance(packed, str) or shot is None or len(shot) != 4 \
            or shot[2] <= 0 or shot[3] <= 0:
        return []
    try:
        rects = decode_boxes(packed)
    except (binascii.Error, ValueError):
        return []
    left, top, width, height = (float(v) for v in shot)
    sx, sy = picture_size[0] / width, picture_size[1] / height
    out = []
    for i, (token, r) in enumerate(zip(text.split(), rects)):
        if not r.width or not r.height:
            continue
        x, y = (r.left - left) * sx, (r.top - top) * sy
        w, h = r.width * sx, r.height * sy
        if x + w <= 0 or y + h <= 0 or x >= picture_size[0] or y >= picture_size[1]:
            continue  # outside what this picture shows
        out.append(PlacedWord(i, token, x, y, w, h))
    return out


def words_text(words: Sequence[PlacedWord]) -> str:
    """Selected words as text, in reading order, a new line where a line of text ends."""
    ordered = sorted(words, key=lambda w: w.index)
    lines: list[list[str]] = []
    last: PlacedWord | None = None
    for word in ordered:
        # A new line when the next word is not to the right of the last one on its row.
        same_row = last is not None and abs(word.y - last.y) < max(word.height,
                                                                   last.height) * 0.6 \
            and word.x >= last.x
        if same_row:
            lines[-1].append(word.text)
        else:
            lines.append([word.text])
        last = word
    return "\n".join(" ".join(line) for line in lines)
