"""Tesseract kept loaded in one helper process: OCR without a process start per region.

Every ``tesseract`` run spends ≈140 ms of CPU loading its model before reading a
single word, which is most of the cost of reading one changed line. Here one
long-lived child process loads libtesseract (through ctypes and its C API, no
compiled binding needed) once and reads region after region: a changed line
costs ≈45 ms instead of ≈170 ms.

Why a child process and not ctypes in the capturing process:
- ``OMP_THREAD_LIMIT=1`` must be set for tesseract (its OpenMP threads were 4×
  slower on a busy 2-core box), but in the capturing process it would also cap
  llama.cpp's OpenMP threads;
- a crash inside the C library ends the helper, not the daemon or the app.

Pixels go to the child through its stdin pipe and TSV comes back on stdout:
nothing touches the disk. The child writes nothing else (stderr is discarded:
tesseract's warnings are not worth risking a log line about what it read).
Where libtesseract cannot be loaded (or ``ENGRAM_TESSERACT`` names a binary),
``SharedOcr`` falls back to running the tesseract binary per region.
"""
from __future__ import annotations

import os
import select
import struct
import subprocess
import sys
import threading
import time

import numpy as np

from ingest.screen.frame import Frame, Rect
from ingest.screen.ocr import (DEFAULT_LANG, DEFAULT_TIMEOUT, OcrFailed, OcrResult, ocr_image,
                               parse_tsv)

TSV_HEADER = ("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\t"
              "height\tconf\ttext\n")
_REQUEST = struct.Struct("<4sIIII")  # magic, width, height, psm, dpi; then RGB rows
_REPLY = struct.Struct("<II")  # status (0 ok), payload length; then UTF-8 payload

# The child: stdlib only, so it runs from any install layout.
CHILD = r'''
import ctypes, ctypes.util, struct, sys
REQ, REP = struct.Struct("<4sIIII"), struct.Struct("<II")
out = sys.stdout.buffer
def reply(status, payload):
    out.write(REP.pack(status, len(payload)) + payload)
    out.flush()
names = [ctypes.util.find_library("tesseract"), "libtesseract.so.5", "libtesseract.so",
         "libtesseract.5.dylib", "libtesseract-5.dll", "tesseract53.dll", "tesseract.dll"]
lib = None
for name in names:
    if not name:
        continue
    try:
        lib = ctypes.CDLL(name)
        break
    except OSError:
        pass
if lib is None:
    reply(2, b"libtesseract not found")
    sys.exit(2)
P, I, C = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
lib.TessBaseAPICreate.restype = P
lib.TessBaseAPIInit3.argtypes = [P, C, C]
lib.TessBaseAPISetPageSegMode.argtypes = [P, I]
lib.TessBaseAPISetImage.argtypes = [P, P, I, I, I, I]
lib.TessBaseAPISetSourceResolution.argtypes = [P, I]
lib.TessBaseAPIGetTsvText.restype = P
lib.TessBaseAPIGetTsvText.argtypes = [P, I]
lib.TessDeleteText.argtypes = [P]
lib.TessBaseAPIClear.argtypes = [P]
lib.TessBaseAPIEnd.argtypes = [P]
lib.TessBaseAPIDelete.argtypes = [P]
api = lib.TessBaseAPICreate()
if lib.TessBaseAPIInit3(api, None, sys.argv[1].encode()) != 0:
    reply(2, b"tesseract could not load language " + sys.argv[1].encode())
    sys.exit(2)
reply(0, b"ready")
stdin = sys.stdin.buffer
while True:
    head = stdin.read(REQ.size)
    if len(head) < REQ.size:
        break
    magic, w, h, psm, dpi = REQ.unpack(head)
    data = stdin.read(w * h * 3)
    if magic != b"OCR1" or len(data) != w * h * 3:
        break
    buf = ctypes.create_string_buffer(data, len(data))
    lib.TessBaseAPISetPageSegMode(api, psm)
    lib.TessBaseAPISetImage(api, buf, w, h, 3, w * 3)
    lib.TessBaseAPISetSourceResolution(api, dpi)
    text = lib.TessBaseAPIGetTsvText(api, 0)
    if text:
        tsv = ctypes.string_at(text)
        lib.TessDeleteText(text)
        reply(0, tsv)
    else:
        reply(1, b"tesseract returned nothing")
    lib.TessBaseAPIClear(api)
    del buf, data
lib.TessBaseAPIEnd(api)
lib.TessBaseAPIDelete(api)
'''


class WorkerUnavailable(OcrFailed):
    """The helper process could not start (no libtesseract, no language data)."""


class TesseractWorker:
    """One helper process with tesseract loaded. Not thread-safe: one per capture thread."""

    def __init__(self, lang: str = DEFAULT_LANG, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.lang, self.timeout = lang, timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> subprocess.Popen[bytes]:
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        proc = subprocess.Popen([sys.executable, "-c", CHILD, self.lang],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, creationflags=flags,
                                env=dict(os.environ, OMP_THREAD_LIMIT="1"))
        self._proc = proc
        try:
            status, payload = self._read_reply(proc, timeout=30.0)
        except OcrFailed as exc:
            self.close()
            raise WorkerUnavailable(f"OCR helper did not start: {exc}") from None
        if status != 0:
            self.close()
            raise WorkerUnavailable(payload.decode("utf-8", "replace"))
        return proc

    def _read_exactly(self, proc: subprocess.Popen[bytes], n: int, deadline: float) -> bytes:
        assert proc.stdout is not None
        chunks, got = [], 0
        fd = proc.stdout.fileno()
        while got < n:
            if os.name == "posix":
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([fd], [], [], left)[0]:
                    raise OcrFailed(f"OCR took longer than {self.timeout:.0f} s and was stopped.")
            chunk = os.read(fd, n - got)
            if not chunk:
                raise OcrFailed("the OCR helper process ended unexpectedly")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _read_reply(self, proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, bytes]:
        deadline = time.monotonic() + timeout
        status, length = _REPLY.unpack(self._read_exactly(proc, _REPLY.size, deadline))
        return status, self._read_exactly(proc, length, deadline)

    def ocr(self, bgra: np.ndarray, *, offset: tuple[int, int] = (0, 0), psm: int = 3,
            dpi: int = 96) -> OcrResult:
        """OCR a (h, w, 4) BGRA array; word boxes shifted by ``offset``."""
        h, w = bgra.shape[:2]
        region = Rect(offset[0], offset[1], w, h)
        if w < 4 or h < 4:
            return OcrResult((), (), region)
        started = time.perf_counter()
        proc = self._proc if self._proc is not None and self._proc.poll() is None \
            else self._start()
        rgb = np.ascontiguousarray(bgra[:, :, 2::-1])  # BGRA → RGB, what the binary reads
        try:
            assert proc.stdin is not None
            proc.stdin.write(_REQUEST.pack(b"OCR1", w, h, psm, dpi))
            proc.stdin.write(memoryview(rgb).cast("B"))
            proc.stdin.flush()
            status, payload = self._read_reply(proc, self.timeout)
        except (OSError, OcrFailed) as exc:
            self.close()  # a stuck or dead helper is replaced on the next call
            raise OcrFailed(f"OCR helper failed: {exc}") from None
        if status != 0:
            raise OcrFailed(payload.decode("utf-8", "replace"))
        words, lines = parse_tsv(TSV_HEADER + payload.decode("utf-8", "replace"),
                                 offset[0], offset[1])
        return OcrResult(words, lines, region, time.perf_counter() - started)

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


class SharedOcr:
    """``ocr(frame, rect)`` through the helper process, or the tesseract binary.

    Falls back to the binary for good when the helper cannot start (and at once
    when ``ENGRAM_TESSERACT`` names a binary to use); a helper that fails
    mid-way is restarted once per region before the binary is used.
    """

    def __init__(self, lang: str = DEFAULT_LANG) -> None:
        self.lang = lang
        self._worker: TesseractWorker | None = None
        self._use_binary = bool(os.environ.get("ENGRAM_TESSERACT"))
        self._lock = threading.Lock()

    @property
    def worker_pid(self) -> int | None:
        return self._worker.pid if self._worker is not None else None

    def __call__(self, frame: Frame, rect: Rect, psm: int = 3, pad: int = 0) -> OcrResult:
        """OCR ``rect`` of ``frame``; boxes in frame pixels.

        ``pad`` adds that many pixels around the crop by repeating its edge (the
        background, for a band cut between lines): tesseract misreads glyphs
        that touch the image border ("morning" → "mornin" on a tight crop).
        """
        clipped = frame.rect.intersection(rect)
        if clipped is None:
            return OcrResult((), (), Rect(rect.left, rect.top, 0, 0))
        crop = frame.crop(clipped)
        if pad:
            crop = np.pad(crop, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        offset = (clipped.left - pad, clipped.top - pad)
        with self._lock:
            if not self._use_binary:
                if self._worker is None:
                    self._worker = TesseractWorker(self.lang)
                for attempt in (1, 2):
                    try:
                        return self._worker.ocr(crop, offset=offset, psm=psm)
                    except WorkerUnavailable:
                        self._use_binary = True
                        break
                    except OcrFailed:
                        if attempt == 2:
                            break
        return ocr_image(np.ascontiguousarray(crop), offset=offset, psm=psm, lang=self.lang)

    def close(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.close()
                self._worker = None
