"""Where matched words sit on a screenshot: OCR word boxes from a screen event's meta.

The screen source stores one box per whitespace token of the event's text, in
full-frame pixels (``meta["boxes"]``, packed by ``ingest.screen.screentext
.encode_boxes``), and the part of the frame the stored image shows as
``meta["shot"] = [left, top, width, height]``. Boxes come back as fractions of
that image, so the painter does not care how large the stored thumbnail is.
An event without both (not a screenshot, or stored before boxes were kept)
simply has no highlights.
"""
from __future__ import annotations

import binascii
import re
from typing import Any, Iterable, Mapping

from ingest.screen.screentext import decode_boxes

_PUNCT = re.compile(r"^\W+|\W+$", re.UNICODE)


def matching_boxes(meta: Mapping[str, Any], words: Iterable[str],
                   text: str) -> list[tuple[float, float, float, float]]:
    """Boxes of the OCR words in ``text`` that start with any of ``words``, as image fractions."""
    wanted = [w.lower() for w in words if w and w.strip()]
    packed, shot = meta.get("boxes"), meta.get("shot")
    if not wanted or not isinstance(packed, str) or not isinstance(shot, (list, tuple)) \
            or len(shot) != 4 or shot[2] <= 0 or shot[3] <= 0:
        return []
    try:
        rects = decode_boxes(packed)
    except (binascii.Error, ValueError):
        return []
    left, top, width, height = (float(v) for v in shot)
    out = []
    for token, r in zip(text.split(), rects):
        word = _PUNCT.sub("", token).lower()
        if not r.width or not r.height or not word or \
                not any(word.startswith(w) for w in wanted):
            continue
        x, y = (r.left - left) / width, (r.top - top) / height
        w, h = r.width / width, r.height / height
        if x + w <= 0 or y + h <= 0 or x >= 1 or y >= 1:
            continue  # outside what the image shows
        out.append((x, y, w, h))
    return out
