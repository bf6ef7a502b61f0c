"""OCR of screen regions with tesseract, without any image touching the disk.

pytesseract writes every image to a temp file first — a plaintext screenshot on
disk. Instead the tesseract binary is run directly: the image goes in on stdin
(input file name ``stdin``) as an in-memory BMP, and TSV comes back on stdout
(output base ``stdout``, config ``tsv``). BMP, not PNM: leptonica parses BMP
straight from memory on every OS, while its PNM reader needs ``fmemopen`` and
falls back to ``tmpfile()`` where that is missing (Windows builds).
``tests/test_screen_ocr.py`` checks under inotify and strace that no file is
written.

``OMP_THREAD_LIMIT=1`` in the child: tesseract's default OpenMP threading was 4×
slower on a busy 2-core box. Images are OCR'd at native resolution: downscaling
UI text loses words (×0.5 lost half of them).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Hashable

import numpy as np

from core.errors import EngramError
from ingest.screen.frame import Frame, Rect

DEFAULT_LANG = "eng"
DEFAULT_TIMEOUT = 60.0
_WINDOWS_DEFAULT = r"C:\Program Files\Tesseract-OCR\tesseract.exe"
# An app started from Finder gets PATH=/usr/bin:/bin:/usr/sbin:/sbin, without Homebrew.
_MACOS_DEFAULTS = ("/opt/homebrew/bin/tesseract", "/usr/local/bin/tesseract")


class OcrUnavailable(EngramError):
    """Tesseract is not installed (or not where Engram looks for it)."""


class OcrFailed(EngramError):
    """Tesseract ran but could not read the image."""


@dataclass(frozen=True)
class OcrWord:
    """One recognised word; the box is in full-frame pixel coordinates."""

    text: str
    confidence: float  # 0–100, as tesseract reports it
    left: int
    top: int
    width: int
    height: int
    line: int  # index into OcrResult.lines


@dataclass(frozen=True)
class OcrResult:
    """Words with boxes, and the text as lines in tesseract's reading order."""

    words: tuple[OcrWord, ...]
    lines: tuple[str, ...]
    region: Rect
    seconds: float = 0.0

    @property
    def text(self) -> str:
        return "\n".join(self.lines)



def find_tesseract() -> str:
    """Path of the tesseract binary (``ENGRAM_TESSERACT`` overrides), or OcrUnavailable."""
    env = os.environ.get("ENGRAM_TESSERACT")
    if env:
        return env
    found = shutil.which("tesseract")
    if found:
        return found
    if sys.platform == "win32" and os.path.exists(_WINDOWS_DEFAULT):
        return _WINDOWS_DEFAULT
    if sys.platform == "darwin":
        found = next((p for p in _MACOS_DEFAULTS if os.access(p, os.X_OK)), None)
        if found:
            return found
    raise OcrUnavailable("Tesseract OCR is not installed, so screen text cannot be read.",
                         hint="Install it (Debian/Ubuntu: apt install tesseract-ocr; "
                              "macOS: brew install tesseract; Windows: the UB Mannheim "
                              "installer) or set ENGRAM_TESSERACT to its path.")


def encode_bmp(bgra: np.ndarray) -> memoryview:
    """An uncompressed 24-bit BMP of a (h, w, 4) BGRA array, built in memory.

    One allocation and one pixel copy; small next to tesseract's own time.
    """
    h, w = bgra.shape[:2]
    stride = (w * 3 + 3) & ~3  # BMP rows are padded to 4 bytes
    out = np.empty(54 + h * stride, dtype=np.uint8)
    pixels_per_metre = 3780  # 96 dpi, what screens are drawn for
    struct.pack_into("<2sIHHI", out, 0, b"BM", out.size, 0, 0, 54)
    struct.pack_into("<IiiHHIIiiII", out, 14, 40, w, h, 1, 24, 0, h * stride,
                     pixels_per_metre, pixels_per_metre, 0, 0)
    rows = out[54:].reshape(h, stride)
    rows[:, w * 3:] = 0
    rows[:, : w * 3].reshape(h, w, 3)[...] = bgra[::-1, :, :3]  # bottom-up, B G R as stored
    return memoryview(out)


_Box = tuple[str, float, int, int, int, int]  # text, confidence, left, top, width, height


def _join_fragments(fragments: list[list[_Box]]) -> list[list[_Box]]:
    """Join tesseract lines that sit side by side on one baseline.

    Tesseract's layout analysis splits "Line 0:" from the rest of its line when
    it guesses two columns; on screens a short gap means the same line, while
    sidebars and table columns are further apart than ~2.5 text heights.
    """
    joined: list[list[_Box]] = []
    boxes: list[tuple[int, int, int, int]] = []  # left, top, right, bottom per joined line
    for frag in fragments:
        left = min(w[2] for w in frag)
        top = min(w[3] for w in frag)
        right = max(w[2] + w[4] for w in frag)
        bottom = max(w[3] + w[5] for w in frag)
        for i in range(len(joined) - 1, -1, -1):
            l0, t0, r0, b0 = boxes[i]
            height = max(bottom - top, b0 - t0, 1)
            overlap = min(bottom, b0) - max(top, t0)
            if overlap >= 0.5 * min(bottom - top, b0 - t0) and 0 <= left - r0 <= 2.5 * height:
                joined[i].extend(frag)
                boxes[i] = (l0, min(t0, top), right, max(b0, bottom))
                break
        else:
            joined.append(list(frag))
            boxes.append((left, top, right, bottom))
    return joined


def parse_tsv(tsv: str, dx: int = 0, dy: int = 0,
              min_confidence: float = 0.0) -> tuple[tuple[OcrWord, ...], tuple[str, ...]]:
    """Words (offset by dx, dy) and lines in reading order from tesseract's TSV output."""
    fragments: list[list[_Box]] = []
    current_key: tuple[str, ...] | None = None
    for row in tsv.splitlines()[1:]:  # first row is the header
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":  # level 5 = word
            continue
        text = cols[11].strip()
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        if not text or conf < min_confidence:
            continue
        key = (cols[1], cols[2], cols[3], cols[4])  # page, block, paragraph, line
        if key != current_key:
            fragments.append([])
            current_key = key
        fragments[-1].append((text, conf, int(cols[6]) + dx, int(cols[7]) + dy,
                              int(cols[8]), int(cols[9])))
    words: list[OcrWord] = []
    lines: list[str] = []
    for index, line in enumerate(_join_fragments(fragments)):
        lines.append(" ".join(w[0] for w in line))
        words.extend(OcrWord(*w, line=index) for w in line)
    return tuple(words), tuple(lines)


def ocr_image(bgra: np.ndarray, *, offset: tuple[int, int] = (0, 0), psm: int = 3,
              lang: str = DEFAULT_LANG, min_confidence: float = 0.0,
              timeout: float = DEFAULT_TIMEOUT) -> OcrResult:
    """OCR a (h, w, 4) BGRA array; word boxes are shifted by ``offset``."""
    h, w = bgra.shape[:2]
    region = Rect(offset[0], offset[1], w, h)
    if w < 4 or h < 4:  # tesseract rejects images this small
        return OcrResult((), (), region)
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    cmd = [find_tesseract(), "stdin", "stdout", "-l", lang, "--psm", str(psm),
           "--dpi", "96", "tsv"]
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console flash on Windows
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, input=encode_bmp(bgra), capture_output=True, env=env,
                              timeout=timeout, check=False, creationflags=flags)
    except FileNotFoundError as exc:
        raise OcrUnavailable(f"Tesseract could not be started: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise OcrFailed(f"OCR took longer than {timeout:.0f} s and was stopped.") from exc
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrFailed(f"Tesseract failed (exit {done.returncode}): "
                        f"{err[-1] if err else 'no message'}")
    words, lines = parse_tsv(done.stdout.decode("utf-8", "replace"), offset[0], offset[1],
                             min_confidence)
    return OcrResult(words, lines, region, time.perf_counter() - started)


def ocr_region(frame: Frame, rect: Rect, *, psm: int = 3, lang: str = DEFAULT_LANG,
               min_confidence: float = 0.0, timeout: float = DEFAULT_TIMEOUT) -> OcrResult:
    """OCR one rectangle of ``frame``; word boxes are in full-frame coordinates.

    ``psm`` is tesseract's page segmentation mode: 3 (automatic layout) suits
    windows and regions of several lines; 7 (one line) is faster for a region
    known to hold a single line of text.
    """
    clipped = frame.rect.intersection(rect)
    if clipped is None:
        return OcrResult((), (), Rect(rect.left, rect.top, 0, 0))
    return ocr_image(frame.crop(clipped), offset=(clipped.left, clipped.top), psm=psm,
                     lang=lang, min_confidence=min_confidence, timeout=timeout)


def ocr_full(frame: Frame, *, psm: int = 3, lang: str = DEFAULT_LANG,
             min_confidence: float = 0.0, timeout: float = DEFAULT_TIMEOUT) -> OcrResult:
    """OCR the whole frame (≈1 s for a sparse 1080p screen on 2 busy cores)."""
    return ocr_region(frame, frame.rect, psm=psm, lang=lang, min_confidence=min_confidence,
                      timeout=timeout)


def region_digest(frame: Frame, rect: Rect) -> bytes:
    """A 16-byte hash of the pixels of ``rect`` (identity of what is shown there)."""
    crop = np.ascontiguousarray(frame.crop(rect))
    h = hashlib.blake2b(digest_size=16)
    h.update(b"%d,%d,%d,%d;" % (rect.left, rect.top, rect.width, rect.height))
    h.update(crop.data)
    return h.digest()


class OcrCache:
    """Reuses OCR results when the same window shows the same pixels in the same place.

    A small LRU held in memory only (results are plaintext, they never go to
    disk). Thread-safe; OCR itself runs outside the lock.
    """

    def __init__(self, max_entries: int = 128) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[Hashable, bytes], OcrResult] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        """Forget every cached result (on pause, or when the person forgets data)."""
        with self._lock:
            self._items.clear()

    def ocr(self, frame: Frame, rect: Rect, window_key: Hashable = None,
            run: Callable[[Frame, Rect], OcrResult] = ocr_region) -> OcrResult:
        """The cached result for (window, pixels of rect), or a fresh ``run``."""
        key = (window_key, region_digest(frame, rect))
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        result = run(frame, rect)
        with self._lock:
            self._items[key] = result
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return result
