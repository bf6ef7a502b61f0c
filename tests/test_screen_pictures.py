"""The pictures a screen event keeps: the active window as thumbnail, the whole
monitor as a viewing image (≤ 1280 px), secrets painted over in both."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ingest.screen.frame import Frame, Rect
from ingest.screen.thumbnail import VIEW_MAX_WIDTH, encode, take_picture


def desktop() -> tuple[Frame, Rect, Rect]:
    pixels = np.full((1080, 1920, 4), 255, dtype=np.uint8)
    pixels[100:900, 100:1000, :3] = 200      # the active window, light grey
    pixels[500:540, 300:700, :3] = 40        # a secret inside it
    pixels[200:240, 1300:1700, :3] = 90      # another window's text, outside the active one
    return Frame(bytearray(pixels.tobytes()), 1920, 1080), Rect(100, 100, 900, 800), \
        Rect(300, 500, 400, 40)


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_thumbnail_is_the_active_window_and_the_view_the_whole_screen() -> None:
    frame, window, secret = desktop()
    picture = take_picture(frame, window, [secret], view_shot=frame.rect)
    assert picture.shot == window and picture.large_shot == frame.rect
    thumb, view = encode(picture)
    assert view is not None and view[8:12] == b"WEBP"
    small = decode(thumb)
    assert small.shape[:2] == (569, 640)  # 900×800 window scaled to 640 wide
    # Cropped to the window: its light grey reaches the thumbnail's corners.
    assert abs(int(small[5, 5, 0]) - 200) < 20 and abs(int(small[-5, -5, 0]) - 200) < 20
    large = decode(view)
    assert large.shape[:2] == (720, VIEW_MAX_WIDTH)
    s = VIEW_MAX_WIDTH / 1920
    assert large[int(520 * s), int(500 * s)].max() < 40      # the secret: painted black
    assert 60 < large[int(220 * s), int(1500 * s)][0] < 120  # the rest of the screen is there
    sx = 640 / 900
    assert small[int((520 - 100) * sx), int((500 - 100) * sx)].max() < 40
    assert frame.pixels()[520, 500, 0] == 40  # the frame itself is untouched


def test_full_frames_replace_the_viewing_image() -> None:
    frame, window, secret = desktop()
    picture = take_picture(frame, window, [secret], full_shot=window, view_shot=frame.rect)
    assert picture.view is None and picture.large_shot == window
    _, full = encode(picture)
    assert full is not None and decode(full).shape[:2] == (800, 900)


def test_no_view_asked_keeps_only_the_thumbnail() -> None:
    frame, window, secret = desktop()
    thumb, large = encode(take_picture(frame, window, [secret]))
    assert large is None and thumb[8:12] == b"WEBP"
