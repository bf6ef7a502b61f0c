"""Tile-hash change detection between screen frames."""
from __future__ import annotations

import time

import numpy as np
import pytest

from ingest.screen.change import ChangeDetector, TileHasher, merge_rects
from ingest.screen.frame import Frame, Rect


def make_frame(pixels: np.ndarray) -> Frame:
    h, w = pixels.shape[:2]
    return Frame(np.ascontiguousarray(pixels).tobytes(), w, h)


@pytest.fixture()
def screen() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, size=(1080, 1920, 4), dtype=np.uint8)


def test_first_frame_is_reported_whole_and_identical_frame_is_unchanged(screen: np.ndarray) -> None:
    det = ChangeDetector()
    first = det.update(make_frame(screen))
    assert first.first and first.rects == (Rect(0, 0, 1920, 1080),) and first.fraction == 1.0
    again = det.update(make_frame(screen.copy()))
    assert not again.changed and again.rects == () and again.changed_tiles == 0
    assert again.total_tiles == 30 * 17  # 1080 / 64 = 16.9 → a partial last row


def test_one_pixel_one_channel_change_is_seen(screen: np.ndarray) -> None:
    det = ChangeDetector()
    det.update(make_frame(screen))
    changed = screen.copy()
    changed[700, 1000, 1] ^= 1  # the smallest possible change
    out = det.update(make_frame(changed))
    assert out.rects == (Rect(960, 640, 64, 64),)
    assert out.changed_tiles == 1


def test_text_line_change_becomes_one_rectangle(screen: np.ndarray) -> None:
    det = ChangeDetector()
    det.update(make_frame(screen))
    changed = screen.copy()
    changed[500:520, 100:900] = 0  # a line of text spanning two tile rows
    out = det.update(make_frame(changed))
    assert out.rects == (Rect(64, 448, 896, 128),)
    assert out.changed_tiles == 2 * 14


def test_far_apart_changes_stay_separate_and_close_ones_merge(screen: np.ndarray) -> None:
    det = ChangeDetector(merge_gap=1)
    det.update(make_frame(screen))
    changed = screen.copy()
    changed[10, 10] = 0            # tile (0, 0)
    changed[10, 140] = 0           # tile (0, 2): one tile gap → merged
    changed[1000, 1900] = 0        # far corner
    out = det.update(make_frame(changed))
    assert out.rects == (Rect(0, 0, 192, 64), Rect(1856, 960, 64, 64))


def test_partial_edge_tiles_are_clipped_to_the_frame() -> None:
    pixels = np.zeros((70, 101, 4), dtype=np.uint8)  # odd width: the uint32 path
    det = ChangeDetector()
    det.update(make_frame(pixels))
    pixels[69, 100, 2] = 9
    out = det.update(make_frame(pixels))
    assert out.rects == (Rect(64, 64, 37, 6),)


def test_size_change_and_reset_report_the_whole_frame(screen: np.ndarray) -> None:
    det = ChangeDetector()
    det.update(make_frame(screen))
    small = det.update(make_frame(screen[:600, :800]))
    assert small.first and small.rects == (Rect(0, 0, 800, 600),)
    det.reset()
    assert det.update(make_frame(screen[:600, :800])).first


def test_many_scattered_changes_are_capped(screen: np.ndarray) -> None:
    det = ChangeDetector(max_rects=4, merge_gap=0)
    det.update(make_frame(screen))
    changed = screen.copy()
    for i in range(12):  # twelve isolated tiles
        changed[(i % 4) * 256 + 5, (i // 4) * 640 + 5] ^= 255
    out = det.update(make_frame(changed))
    assert 1 <= len(out.rects) <= 4
    covered = {(r, c) for r in range(17) for c in range(30)
               if any(rect.intersection(Rect(c * 64, r * 64, 1, 1)) for rect in out.rects)}
    for i in range(12):
        assert ((i % 4) * 4, (i // 4) * 10) in covered


def test_merge_rects_merges_touching_and_orders_for_reading() -> None:
    rects = [Rect(100, 100, 10, 10), Rect(0, 0, 10, 10), Rect(110, 100, 10, 10)]
    assert merge_rects(rects, max_rects=8) == (Rect(0, 0, 10, 10), Rect(100, 100, 20, 10))


def test_frame_rejects_a_buffer_of_the_wrong_size() -> None:
    with pytest.raises(ValueError):
        Frame(b"\0" * 10, 2, 2)


def test_hashing_a_1080p_frame_is_cheap(screen: np.ndarray) -> None:
    hasher = TileHasher(1920, 1080)
    buf = screen.tobytes()
    hasher.hashes(buf)
    runs = []
    for _ in range(10):
        start = time.perf_counter()
        hasher.hashes(buf)
        runs.append(time.perf_counter() - start)
    best_ms = min(runs) * 1000
    print(f"tile hashing 1920x1080: best {best_ms:.1f} ms")
    assert best_ms < 40  # ≈4–5 ms here; generous for a loaded CI box
