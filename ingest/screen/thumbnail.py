"""The pictures kept with a screen event: a thumbnail of the active window, and a
larger viewing image of the whole screen (or, when the person asks for it, the
active window at full size).

Encoded in memory with Pillow (``io.BytesIO``): the bytes go into the encrypted
database through the observation and nowhere else. Before anything is encoded
the secrets' pixels (redacted words) are painted over, so an image never shows
what the text had removed.

The thumbnail crops to the active window (what the moment was about) and is
WebP at quality 50, ≤ 640 px wide. The viewing image is the whole monitor,
≤ 1280 px wide (two thirds of 1080p), WebP at quality ``VIEW_QUALITY``: large
enough to read ordinary UI text in the full-size moment view. Both go into
``event_images`` (``data`` and ``full_data``). Full frames, when the person
turns them on, replace the viewing image with the active window at native
resolution, WebP at quality 80.

Privacy: excluded windows are already black in the frame and the active
window's secrets are painted over; text elsewhere on the screen was never
read, so it cannot be redacted — the viewing image shows it as it was.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from ingest.screen.frame import Frame, Rect

THUMB_MAX_WIDTH = 640
THUMB_QUALITY = 50
VIEW_MAX_WIDTH = 1280
VIEW_QUALITY = 40
FULL_QUALITY = 80
_PAD = 2  # pixels around a hidden box: anti-aliased glyph edges reach past it


@dataclass(frozen=True, eq=False)
class Picture:
    """What one event keeps of the screen, not yet encoded.

    ``shot`` is the part of the frame shown (frame pixels); word boxes in the
    event's meta are in the same frame coordinates, so a viewer maps a box to
    the thumbnail with ``(x - shot.left) * thumb_width / shot.width``.
    """

    thumb: Image.Image
    shot: Rect
    full: np.ndarray | None = None  # masked BGRA pixels of ``full_shot``, native resolution
    full_shot: Rect | None = None
    view: Image.Image | None = None  # ``view_shot`` downscaled to ≤ VIEW_MAX_WIDTH, masked
    view_shot: Rect | None = None

    @property
    def large_shot(self) -> Rect | None:
        """What the large stored image shows: the full frame if kept, else the view."""
        return self.full_shot if self.full is not None else self.view_shot


def _masked_copy(frame: Frame, shot: Rect, hide: Sequence[Rect]) -> np.ndarray:
    pixels = np.array(frame.crop(shot))  # a copy: the frame itself stays as grabbed
    for box in hide:
        local = Rect(box.left - shot.left - _PAD, box.top - shot.top - _PAD,
                     box.width + 2 * _PAD, box.height + 2 * _PAD)
        clip = local.intersection(Rect(0, 0, shot.width, shot.height))
        if clip is not None:
            pixels[clip.top:clip.bottom, clip.left:clip.right, :3] = 0
    return pixels


def _rgb(pixels: np.ndarray) -> Image.Image:
    h, w = pixels.shape[:2]
    return Image.frombuffer("RGB", (w, h), pixels, "raw", "BGRX", 0, 1)


def _thumbnail(frame: Frame, shot: Rect, hide: Sequence[Rect], max_width: int) -> Image.Image:
    """Downscale first, then paint the hidden boxes on the small image.

    Painting after downscaling (boxes scaled, padded past the filter's reach)
    hides the same pixels as painting before would, without copying the frame.
    """
    image = Image.frombuffer("RGB", (frame.width, frame.height), frame.bgra, "raw", "BGRX",
                             0, 1)
    if shot != frame.rect:
        image = image.crop((shot.left, shot.top, shot.right, shot.bottom))
    if image.width > max_width:
        height = max(1, round(image.height * max_width / image.width))
        # reducing_gap 1.5: an integer box reduction (1920 → 960) then bilinear to
        # 640 — softer than a box reduction alone, which WebP repays with ≈20 %
        # fewer bytes, and ≈3× cheaper than resampling the full frame.
        image = image.resize((max_width, height), Image.Resampling.BILINEAR,
                             reducing_gap=1.5)
    elif shot == frame.rect:
        image = image.copy()  # detach from the frame's buffer
    sx, sy = image.width / shot.width, image.height / shot.height
    draw = ImageDraw.Draw(image)
    for box in hide:
        left, top = (box.left - shot.left) * sx - _PAD, (box.top - shot.top) * sy - _PAD
        right, bottom = (box.right - shot.left) * sx + _PAD, (box.bottom - shot.top) * sy + _PAD
        if right > 0 and bottom > 0 and left < image.width and top < image.height:
            draw.rectangle((left, top, right, bottom), fill=(0, 0, 0))
    return image


def take_picture(frame: Frame, shot: Rect, hide: Sequence[Rect] = (), *,
                 max_width: int = THUMB_MAX_WIDTH, full_shot: Rect | None = None,
                 view_shot: Rect | None = None) -> Picture:
    """A downscaled, masked copy of ``shot``; with ``full_shot``, that area at full size;
    with ``view_shot`` (and no ``full_shot``), that area at viewing size.

    The full-size copy is meant for the active window only: its text was read
    and its secrets found, while small print elsewhere on screen was not. The
    viewing image (the whole monitor) is downscaled to ≤ ``VIEW_MAX_WIDTH``.
    """
    shot = frame.rect.intersection(shot) or frame.rect
    image = _thumbnail(frame, shot, hide, max_width)
    full = view = None
    if full_shot is not None:
        full_shot = frame.rect.intersection(full_shot) or frame.rect
        full = _masked_copy(frame, full_shot, hide)
        view_shot = None
    elif view_shot is not None:
        view_shot = frame.rect.intersection(view_shot) or frame.rect
        view = _thumbnail(frame, view_shot, hide, VIEW_MAX_WIDTH)
    return Picture(thumb=image, shot=shot, full=full, full_shot=full_shot, view=view,
                   view_shot=view_shot)


def encode_webp(image: Image.Image, quality: int, method: int = 2) -> bytes:
    """WebP bytes of ``image``, built in memory.

    Method 2: half the encoder time of the default 4 for ≈3 % more bytes.
    """
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=quality, method=method)
    return out.getvalue()


def encode(picture: Picture) -> tuple[bytes, bytes | None]:
    """(thumbnail, full frame or viewing image or None) as WebP bytes."""
    thumb = encode_webp(picture.thumb, THUMB_QUALITY)
    if picture.full is not None:
        return thumb, encode_webp(_rgb(picture.full), FULL_QUALITY)
    if picture.view is not None:
        return thumb, encode_webp(picture.view, VIEW_QUALITY)
    return thumb, None
