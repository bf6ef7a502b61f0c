"""One look at the screen: grab, what changed, what the active window now says.

``Grabber`` wraps ``mss``: one grab of the whole virtual screen (every monitor
at once), so one change detector covers everything. ``ScreenReader`` turns a
frame into a ``Reading`` of the active window:

- the window's area is read whole when it comes to the front, moves or resizes
  (unless its pixels are exactly those read last time it was in front);
- otherwise only the full-width bands of it that changed are read again
  (``screentext``), through an ``OcrCache`` keyed by window, by tesseract kept
  loaded in a helper process (``ocr_worker``);
- visible windows that must not be captured (password managers, private
  browsing, Engram itself, the person's exclusions) are painted black in the
  frame first, so neither OCR nor a picture can see them, even at the edge
  of the active window's area;
- the text is redacted here, word by word, so the picture can paint over the
  secrets' pixels and the stored word boxes match the stored text.

Not thread-safe: one reader per capture thread. Everything is in memory.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from ingest.screen.change import ChangeDetector, FrameChange
from ingest.screen.frame import Frame, Rect
from ingest.screen.heartbeat import Reading, WindowIdentity
from ingest.screen.ocr import OcrCache, OcrResult
from ingest.screen.ocr_worker import SharedOcr
from ingest.screen.privacy import PrivacySettings, should_capture
from ingest.screen.screentext import (Redact, WindowText, bands, encode_boxes, read_rect,
                                      redact_words)
from ingest.screen.window import WindowInfo

Ocr = Callable[[Frame, Rect], OcrResult]
BAND_PAD = 10  # background pixels added around a band's crop for tesseract


class Grabber:
    """``mss`` in this thread: the whole virtual screen as one frame."""

    def __init__(self) -> None:
        import mss

        self._sct: Any = mss.MSS()
        mons = self._sct.monitors
        self._all = mons[0]
        origin = (self._all["left"], self._all["top"])
        # Monitors in frame coordinates (the frame's top-left is (0, 0)).
        self.monitors: tuple[Rect, ...] = tuple(
            Rect(m["left"] - origin[0], m["top"] - origin[1], m["width"], m["height"])
            for m in mons[1:]) or (Rect(0, 0, self._all["width"], self._all["height"]),)

    def grab(self) -> Frame:
        return Frame.from_mss(self._sct.grab(self._all))

    def close(self) -> None:
        self._sct.close()


def window_area(window: WindowInfo | None, frame: Frame) -> Rect:
    """The active window in frame pixels, clipped; the whole frame when unknown."""
    if window is None or window.geometry is None:
        return frame.rect
    area = window.geometry.translated(-frame.left, -frame.top)
    return frame.rect.intersection(area) or frame.rect


def monitor_of(area: Rect, monitors: Sequence[Rect], frame: Frame) -> Rect:
    """The monitor holding the centre of ``area`` (the whole frame if none does)."""
    cx, cy = area.left + area.width // 2, area.top + area.height // 2
    for mon in monitors:
        if mon.left <= cx < mon.right and mon.top <= cy < mon.bottom:
            return mon
    return frame.rect


def mask_windows(frame: Frame, rects: Sequence[Rect]) -> None:
    """Paint ``rects`` (frame pixels) black, in the frame's own buffer."""
    if not rects or isinstance(frame.bgra, bytes):
        return
    pixels = np.frombuffer(frame.bgra, dtype=np.uint8).reshape(frame.height, frame.width, 4)
    for rect in rects:
        clip = frame.rect.intersection(rect)
        if clip is not None:
            pixels[clip.top:clip.bottom, clip.left:clip.right, :3] = 0


def excluded_rects(windows: Sequence[WindowInfo], active: WindowInfo | None,
                   privacy: PrivacySettings, frame: Frame) -> tuple[Rect, ...]:
    """Where the visible parts of windows that must not be captured are, in frame pixels.

    ``windows`` come bottom to top (every backend's ``list_windows`` order). The part
    of an excluded window that a window above it covers is not on screen, so it is
    not painted: Engram's own window open behind the active one must black out only
    what shows of it, never the window being read. The active window counts as on
    top when the list does not hold it.
    """
    def rect(w: WindowInfo | None) -> Rect | None:
        return w.geometry.translated(-frame.left, -frame.top) if w and w.geometry else None

    def same(a: WindowInfo, b: WindowInfo | None) -> bool:
        return b is not None and a.window_id is not None and a.window_id == b.window_id

    rects = [rect(w) for w in windows]
    listed = any(same(w, active) for w in windows)
    out: list[Rect] = []
    for i, w in enumerate(windows):
        own = rects[i]
        if own is None or same(w, active) or should_capture(w, privacy).allowed:
            continue
        covers = [r for r in rects[i + 1:] if r is not None]
        top = rect(active)
        if not listed and top is not None:
            covers.append(top)
        parts = [own]
        for cover in covers:
            parts = [piece for part in parts for piece in subtract(part, cover)]
        out.extend(parts)
    return tuple(out)


def subtract(rect: Rect, cover: Rect) -> list[Rect]:
    """What of ``rect`` lies outside ``cover``: up to four rectangles."""
    inner = rect.intersection(cover)
    if inner is None:
        return [rect]
    pieces = [Rect(rect.left, rect.top, rect.width, inner.top - rect.top),          # above
              Rect(rect.left, inner.bottom, rect.width, rect.bottom - inner.bottom),  # below
              Rect(rect.left, inner.top, inner.left - rect.left, inner.height),      # left
              Rect(inner.right, inner.top, rect.right - inner.right, inner.height)]  # right
    return [p for p in pieces if p.width > 0 and p.height > 0]


@dataclass(frozen=True)
class ReadStats:
    """What one ``read`` cost: OCR calls made (cache misses) and their seconds."""

    ocr_calls: int = 0
    ocr_seconds: float = 0.0
    full_read: bool = False


class ScreenReader:
    """Keeps what was read of recently active windows; reads only what changed."""

    def __init__(self, redact: Redact, *, ocr: Ocr | None = None, band_margin: int = 8,
                 remember_windows: int = 16) -> None:
        self.redact = redact
        # Exact rows: a changed line is read alone, not with the 64-px tile rows around it.
        self.detector = ChangeDetector(exact_rows=True)
        self.cache = OcrCache(max_entries=64)
        self.band_margin = band_margin
        self.engine = SharedOcr() if ocr is None else None
        self._ocr: Ocr = ocr or self._engine_ocr
        self._band_ocr: Ocr = ocr or self._engine_band_ocr
        self._texts: OrderedDict[Hashable, WindowText] = OrderedDict()
        self._remember = remember_windows
        self._front: Hashable = object()

    def _engine_ocr(self, frame: Frame, rect: Rect) -> OcrResult:
        assert self.engine is not None
        return self.engine(frame, rect)

    def _engine_band_ocr(self, frame: Frame, rect: Rect) -> OcrResult:
        assert self.engine is not None
        return self.engine(frame, rect, pad=BAND_PAD)

    def forget(self) -> None:
        """Drop every text and hash held in memory (pause, stop, forget)."""
        self.detector.reset()
        self.cache.clear()
        self._texts.clear()
        self._front = object()

    def close(self) -> None:
        """Forget everything and stop the OCR helper process."""
        self.forget()
        if self.engine is not None:
            self.engine.close()

    def _run_ocr(self, frame: Frame, rect: Rect, key: Hashable, spent: list[float],
                 band: bool = False) -> OcrResult:
        ocr = self._band_ocr if band else self._ocr

        def run(f: Frame, r: Rect) -> OcrResult:
            started = time.perf_counter()
            try:
                return ocr(f, r)
            finally:
                spent.append(time.perf_counter() - started)
        return self.cache.ocr(frame, rect, key, run=run)

    def window_text(self, frame: Frame, change: FrameChange, window: WindowInfo | None,
                    area: Rect) -> tuple[WindowText, ReadStats]:
        """The active window's text now: reused, updated band by band, or read whole."""
        key: Hashable = (window.window_id, window.app) if window else None
        state = self._texts.get(key)
        spent: list[float] = []
        whole = change.first or state is None or state.area != area or key != self._front
        self._front = key
        if whole:
            digest = self.detector.digest(area)
            if state is None or state.area != area or state.digest != digest:
                state = WindowText.from_result(area, self._run_ocr(frame, area, key, spent),
                                               digest)
        else:
            assert state is not None
            changed_bands = bands(change.rects, area, state.words)
            for band in changed_bands:
                rect = read_rect(band, area, self.band_margin)
                state = state.replace_band(band, self._run_ocr(frame, rect, key, spent,
                                                               band=True))
            if changed_bands:
                state = state.with_digest(self.detector.digest(area))
        self._texts[key] = state
        self._texts.move_to_end(key)
        while len(self._texts) > self._remember:
            self._texts.popitem(last=False)
        return state, ReadStats(len(spent), sum(spent), whole)

    def reading(self, state: WindowText, window: WindowInfo | None,
                at: datetime) -> tuple[Reading, tuple[Rect, ...]]:
        """A redacted reading of ``state``, and the boxes of what redaction removed."""
        words = state.words
        red = redact_words(words, state.text, self.redact)
        title = self.redact(window.title)[0] if window and window.title else None
        url = self.redact(window.url)[0] if window and window.url else None
        ident = WindowIdentity(window.window_id if window else None,
                               window.app if window else None, title, url,
                               window.process if window else None)
        confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
        return (Reading(at, ident, red.text, encode_boxes(red.boxes), red.counts, confidence),
                red.hidden)
