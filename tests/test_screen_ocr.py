"""Real tesseract OCR of rendered text, with proof that no image touches the disk."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ingest.screen.frame import Frame, Rect
from ingest.screen.ocr import (OcrCache, OcrResult, OcrUnavailable, ocr_full, ocr_region,
                               parse_tsv)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None,
                                     reason="tesseract is not installed (apt install tesseract-ocr)")
IMAGE_MAGIC = (b"P6", b"P5", b"\x89PNG", b"BM", b"II*\0", b"MM\0*", b"\xff\xd8\xff")


def render(lines: list[tuple[int, int, str]], size: tuple[int, int] = (1280, 800)) -> Frame:
    """A BGRA frame with dark text on a light background, like a desktop app."""
    from PIL import Image, ImageDraw, ImageFont

    if not os.path.exists(FONT):
        pytest.skip("DejaVu fonts missing (apt install fonts-dejavu-core)")
    img = Image.new("RGB", size, (246, 246, 244))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 15)
    for x, y, text in lines:
        draw.text((x, y), text, fill=(20, 20, 30), font=font)
    rgb = np.asarray(img)
    bgra = np.dstack([rgb[:, :, ::-1], np.full(rgb.shape[:2], 255, np.uint8)])
    return Frame(np.ascontiguousarray(bgra).tobytes(), size[0], size[1])


SAMPLE = [(80, 60, "Quarterly planning notes for the Lisbon offsite"),
          (80, 420, "Ana recommended the tenacity library for retries")]


def words_of(result: OcrResult) -> set[str]:
    return {w.text.strip(".,:;").lower() for w in result.words}


@needs_tesseract
def test_rendered_text_is_read_back_with_frame_coordinates() -> None:
    frame = render(SAMPLE)
    full = ocr_full(frame)
    assert {"quarterly", "planning", "lisbon", "offsite", "tenacity", "retries"} <= words_of(full)
    assert full.lines[0].startswith("Quarterly planning notes")
    region = ocr_region(frame, Rect(64, 384, 640, 128))
    assert region.lines == ("Ana recommended the tenacity library for retries",)
    ana = next(w for w in region.words if w.text == "Ana")
    assert 75 <= ana.left <= 90 and 415 <= ana.top <= 432  # full-frame, not crop, coordinates
    assert ana.confidence > 60 and ana.line == 0


@needs_tesseract
def test_region_outside_or_too_small_gives_an_empty_result() -> None:
    frame = render(SAMPLE)
    assert ocr_region(frame, Rect(5000, 5000, 100, 100)).words == ()
    assert ocr_region(frame, Rect(0, 0, 3, 3)).lines == ()
    clipped = ocr_region(frame, Rect(1200, 700, 500, 500))
    assert clipped.region == Rect(1200, 700, 80, 100)


class CreatedFiles:
    """Names created in some directories while active, seen through Linux inotify.

    Snapshots before/after would miss pytesseract, which deletes its temp image
    when done; inotify sees the creation itself.
    """

    IN_CREATE, IN_MOVED_TO, IN_NONBLOCK = 0x100, 0x80, 0o4000

    def __init__(self, *dirs: Path) -> None:
        import ctypes

        self._libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self._fd = self._libc.inotify_init1(self.IN_NONBLOCK)
        assert self._fd >= 0
        self._dirs: dict[int, Path] = {}
        for d in dirs:
            wd = self._libc.inotify_add_watch(self._fd, str(d).encode(),
                                              self.IN_CREATE | self.IN_MOVED_TO)
            assert wd >= 0
            self._dirs[wd] = d

    def collect(self) -> list[Path]:
        import select
        import struct

        found: list[Path] = []
        while select.select([self._fd], [], [], 0.2)[0]:
            buf, i = os.read(self._fd, 65536), 0
            while i < len(buf):
                wd, _mask, _cookie, size = struct.unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + size].rstrip(b"\0").decode(errors="replace")
                found.append(self._dirs[wd] / name)
                i += 16 + size
        os.close(self._fd)
        return found


@needs_tesseract
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses Linux inotify")
def test_no_file_appears_in_any_temp_dir_during_ocr(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    private_tmp = tmp_path / "tmpdir"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # make tempfile re-read TMPDIR
    assert tempfile.gettempdir() == str(private_tmp)  # (it probes the dir with a file)
    frame = render(SAMPLE)
    watch = CreatedFiles(private_tmp, Path("/tmp"))
    result = ocr_full(frame)
    ocr_region(frame, Rect(64, 384, 640, 128))
    with tempfile.NamedTemporaryFile(prefix="control-"):  # proves the watch works
        pass
    created = watch.collect()
    assert "tenacity" in words_of(result)
    mine = [p.name for p in created if p.parent == private_tmp]
    assert len(mine) == 1 and mine[0].startswith("control-")
    # Other processes write to /tmp meanwhile: flag only the names pytesseract
    # and leptonica give their temp files.
    assert [p for p in created if p.parent == Path("/tmp")
            and p.name.startswith(("tess", "lept"))] == []


@needs_tesseract
@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_tesseract_child_opens_no_file_for_writing(tmp_path: Path) -> None:
    """System-call proof: OCR under strace -f; no open for writing, anywhere."""
    script = textwrap.dedent(f"""
        import numpy as np
        from ingest.screen.frame import Frame, Rect
        from ingest.screen.ocr import ocr_region
        px = np.full((120, 400, 4), 255, np.uint8)
        px[40:80, 40:360] = 0
        frame = Frame(px.tobytes(), 400, 120)
        ocr_region(frame, Rect(0, 0, 400, 120))
    """)
    log = tmp_path / "strace.log"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run(["strace", "-f", "-qq", "-e", "trace=open,openat,creat,rename,link",
                           "-o", str(log), sys.executable, "-c", script],
                          capture_output=True, env=env, timeout=120, check=False)
    if done.returncode != 0 and b"ptrace" in done.stderr:
        pytest.skip("ptrace is not permitted here")
    assert done.returncode == 0, done.stderr.decode()
    calls = log.read_text().splitlines()
    assert any("tesseract" in c or "tessdata" in c for c in calls)  # the child was traced
    writes = [c for c in calls
              if any(flag in c for flag in ("O_WRONLY", "O_RDWR", "O_CREAT", "creat(",
                                             "rename(", "link("))
              and "/dev/null" not in c and "/dev/tty" not in c]
    assert writes == []


def test_missing_tesseract_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGRAM_TESSERACT", "/nonexistent/tesseract")
    frame = Frame(np.full((50, 50, 4), 255, np.uint8).tobytes(), 50, 50)
    with pytest.raises(OcrUnavailable) as err:
        ocr_full(frame)
    assert "Tesseract" in str(err.value)


def test_parse_tsv_joins_split_lines_and_offsets_boxes() -> None:
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [
        "5\t1\t1\t1\t1\t1\t10\t10\t40\t12\t95.0\tLine",
        "5\t1\t1\t1\t1\t2\t55\t10\t10\t12\t94.0\t0:",
        "5\t1\t1\t1\t2\t1\t10\t40\t40\t12\t93.0\tLine",
        "5\t1\t1\t1\t2\t2\t55\t40\t10\t12\t92.0\t1:",
        "5\t1\t2\t1\t1\t1\t75\t11\t50\t12\t91.0\tlorem",   # second "column", same row
        "5\t1\t2\t1\t2\t1\t75\t41\t50\t12\t90.0\tipsum",
        "5\t1\t3\t1\t1\t1\t600\t10\t60\t12\t89.0\tSidebar",  # far away: its own line
        "5\t1\t3\t1\t1\t2\t670\t10\t20\t12\t-1\t ",
        "4\t1\t3\t1\t1\t0\t600\t10\t90\t12\t-1\t",
    ]
    words, lines = parse_tsv("\n".join([header, *rows]), dx=100, dy=200)
    assert lines == ("Line 0: lorem", "Line 1: ipsum", "Sidebar")
    assert [w.text for w in words if w.line == 0] == ["Line", "0:", "lorem"]
    assert words[0].left == 110 and words[0].top == 210


def test_cache_reuses_results_for_same_window_and_pixels() -> None:
    calls: list[Rect] = []

    def fake_run(frame: Frame, rect: Rect) -> OcrResult:
        calls.append(rect)
        return OcrResult((), (f"call {len(calls)}",), rect)

    px = np.zeros((128, 128, 4), np.uint8)
    cache = OcrCache(max_entries=2)
    rect = Rect(0, 0, 64, 64)
    first = cache.ocr(Frame(px.tobytes(), 128, 128), rect, "win-1", run=fake_run)
    again = cache.ocr(Frame(px.copy().tobytes(), 128, 128), rect, "win-1", run=fake_run)
    assert again is first and cache.hits == 1
    cache.ocr(Frame(px.tobytes(), 128, 128), rect, "win-2", run=fake_run)  # other window
    px[10, 10] = 7
    cache.ocr(Frame(px.tobytes(), 128, 128), rect, "win-1", run=fake_run)  # other pixels
    assert len(calls) == 3 and cache.misses == 3
    cache.clear()
    cache.ocr(Frame(px.tobytes(), 128, 128), rect, "win-1", run=fake_run)
    assert len(calls) == 4


@pytest.mark.parametrize("width", [1, 5, 64, 333])
def test_bmp_encoding_round_trips(width: int) -> None:
    import io

    from PIL import Image

    from ingest.screen.ocr import encode_bmp

    rng = np.random.default_rng(width)
    bgra = rng.integers(0, 256, size=(7, width, 4), dtype=np.uint8)
    img = Image.open(io.BytesIO(encode_bmp(bgra)))
    assert img.size == (width, 7) and img.mode == "RGB"
    assert np.array_equal(np.asarray(img), bgra[:, :, 2::-1])
    assert img.info.get("dpi", (96, 96))[0] == pytest.approx(96, abs=0.1)
