"""Where matched words sit on a screenshot: OCR word boxes from an event's meta.

The screen source stores one box per whitespace token of the event's text, in
full-frame pixels: ``meta["boxes"]`` as base64 of little-endian uint16
(left, top, width, height) — ``meta["boxes_format"] == "u16le-xywh"``, see
``ingest.screen.screentext.encode_boxes`` — and the part of the frame the
thumbnail shows as ``meta["shot"]``. Key names belong to the screen source, so
this reader is deliberately tolerant: the packed form, lists of word dicts or
tuples, and several spellings of the frame size are understood, and anything
it can't read yields no highlight rather than an error. Boxes come back
normalised to the image (0…1), so the painter doesn't care how large the
stored thumbnail is.
"""
from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

WORD_LIST_KEYS = ("words", "ocr_words", "boxes", "word_boxes")
_PUNCT = re.compile(r"^\W+|\W+$", re.UNICODE)


@dataclass(frozen=True)
class Box:
    text: str
    left: float
    top: float
    width: float
    height: float


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _box(item: Any) -> Box | None:
    if isinstance(item, Mapping):
        text = item.get("text", item.get("word"))
        if not isinstance(text, str):
            return None
        if isinstance(item.get("box"), (list, tuple)) and len(item["box"]) == 4:
            l, t, w, h = (_num(v) for v in item["box"])
        elif isinstance(item.get("bbox"), (list, tuple)) and len(item["bbox"]) == 4:
            x0, y0, x1, y1 = (_num(v) for v in item["bbox"])
            if None in (x0, y0, x1, y1):
                return None
            l, t, w, h = x0, y0, x1 - x0, y1 - y0  # type: ignore[operator]
        else:
            l = _num(item.get("left", item.get("x")))
            t = _num(item.get("top", item.get("y")))
            w = _num(item.get("width", item.get("w")))
            h = _num(item.get("height", item.get("h")))
    elif isinstance(item, (list, tuple)) and len(item) >= 5 and isinstance(item[0], str):
        text = item[0]
        l, t, w, h = (_num(v) for v in item[1:5])
    else:
        return None
    if None in (l, t, w, h) or w <= 0 or h <= 0:  # type: ignore[operator]
        return None
    return Box(text, l, t, w, h)  # type: ignore[arg-type]


def _word_list(meta: Mapping[str, Any]) -> Sequence[Any]:
    for holder in (meta, meta.get("ocr") if isinstance(meta.get("ocr"), Mapping) else None):
        if not holder:
            continue
        for key in WORD_LIST_KEYS:
            value = holder.get(key)
            if isinstance(value, (list, tuple)):
                return value
    return ()


def _size(value: Any) -> tuple[float, float] | None:
    if isinstance(value, Mapping):
        w, h = _num(value.get("width", value.get("w"))), _num(value.get("height", value.get("h")))
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        w, h = _num(value[0]), _num(value[1])
    else:
        return None
    return (w, h) if w and h and w > 0 and h > 0 else None


def _region(meta: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    """The part of the frame the stored image shows (left, top, width, height)."""
    for key in ("shot", "image_region", "thumbnail_region", "crop", "window_rect", "region"):
        value = meta.get(key)
        if isinstance(value, Mapping):
            l, t = _num(value.get("left", value.get("x"))), _num(value.get("top", value.get("y")))
            size = _size(value)
            if l is not None and t is not None and size:
                return l, t, size[0], size[1]
        elif isinstance(value, (list, tuple)) and len(value) == 4:
            nums = [_num(v) for v in value]
            if None not in nums and nums[2] > 0 and nums[3] > 0:  # type: ignore[operator]
                return tuple(nums)  # type: ignore[return-value]
    return None


def _frame(meta: Mapping[str, Any]) -> tuple[float, float] | None:
    for w_key, h_key in (("frame_width", "frame_height"), ("screen_width", "screen_height"),
                         ("image_width", "image_height")):
        size = _size((meta.get(w_key), meta.get(h_key)))
        if size:
            return size
    for key in ("frame", "frame_size", "screen", "screen_size", "image_size", "size"):
        size = _size(meta.get(key))
        if size:
            return size
    return None


def _packed(encoded: str, text: str) -> list[Box]:
    """Packed uint16 boxes paired with the text's whitespace tokens, one to one."""
    try:
        raw = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        return []
    tokens = text.split()
    out = []
    for n, offset in enumerate(range(0, len(raw) - 7, 8)):
        if n >= len(tokens):
            break
        l, t, w, h = struct.unpack_from("<4H", raw, offset)
        if w and h:
            out.append(Box(tokens[n], l, t, w, h))
    return out


def boxes(meta: Mapping[str, Any], text: str = "") -> list[Box]:
    packed = meta.get("boxes")
    if isinstance(packed, str):
        return _packed(packed, text)
    return [b for b in (_box(item) for item in _word_list(meta)) if b is not None]


def _normalise(word: str) -> str:
    return _PUNCT.sub("", word).lower()


def matching_boxes(meta: Mapping[str, Any], words: Iterable[str],
                   image_size: tuple[int, int],
                   text: str = "") -> list[tuple[float, float, float, float]]:
    """Boxes of OCR words that start with any of ``words``, as image fractions.

    ``text`` is the event's text: packed boxes are matched to its tokens.
    """
    wanted = [w.lower() for w in words if w and w.strip()]
    found = boxes(meta, text)
    if not wanted or not found or image_size[0] <= 0 or image_size[1] <= 0:
        return []
    region = _region(meta)
    if region is None:
        frame = _frame(meta)
        if frame is None:
            # Unknown frame size: assume the image shows the whole area the boxes
            # cover, widened to the image's aspect ratio. Approximate, never wild.
            right = max(b.left + b.width for b in found)
            bottom = max(b.top + b.height for b in found)
            aspect = image_size[0] / image_size[1]
            if right <= image_size[0] and bottom <= image_size[1]:
                frame = (float(image_size[0]), float(image_size[1]))
            else:
                frame = (max(right, bottom * aspect), max(bottom, right / aspect))
        region = (0.0, 0.0, frame[0], frame[1])
    rl, rt, rw, rh = region
    out = []
    for b in found:
        token = _normalise(b.text)
        if not token or not any(token.startswith(w) for w in wanted):
            continue
        x, y = (b.left - rl) / rw, (b.top - rt) / rh
        w, h = b.width / rw, b.height / rh
        if x + w <= 0 or y + h <= 0 or x >= 1 or y >= 1:
            continue  # outside what the image shows
        out.append((x, y, w, h))
    return out
