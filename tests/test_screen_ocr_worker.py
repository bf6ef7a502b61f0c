"""The OCR helper process: libtesseract loaded once, pixels over a pipe, nothing on disk."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ingest.screen.frame import Rect
from ingest.screen.ocr import ocr_region
from ingest.screen.ocr_worker import SharedOcr
from tests.test_screen_ocr import SAMPLE, render, words_of

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None,
                                reason="tesseract is not installed (apt install tesseract-ocr)")


def test_helper_reads_like_the_binary_in_frame_coordinates() -> None:
    frame = render(SAMPLE)
    ocr = SharedOcr()
    try:
        rect = Rect(64, 384, 640, 128)
        by_helper = ocr(frame, rect)
        assert ocr.worker_pid is not None  # the helper, not the binary, answered
        by_binary = ocr_region(frame, rect)
        assert by_helper.lines == by_binary.lines == (
            "Ana recommended the tenacity library for retries",)
        assert [(w.text, w.left, w.top) for w in by_helper.words] == \
            [(w.text, w.left, w.top) for w in by_binary.words]
        # A tight band padded with background reads the same, boxes still in frame pixels.
        padded = ocr(frame, Rect(64, 412, 640, 28), pad=10)
        assert padded.lines == by_helper.lines
        assert padded.words[0].left == by_helper.words[0].left
        whole = ocr(frame, frame.rect)
        assert {"quarterly", "lisbon", "tenacity"} <= words_of(whole)
        pid = ocr.worker_pid
        os.kill(pid, signal.SIGKILL)  # a crashed helper is replaced on the next call
        again = ocr(frame, rect)
        assert again.lines == by_helper.lines and ocr.worker_pid not in (None, pid)
    finally:
        ocr.close()
    assert ocr.worker_pid is None


def test_engram_tesseract_setting_uses_the_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGRAM_TESSERACT", shutil.which("tesseract") or "tesseract")
    ocr = SharedOcr()
    result = ocr(render(SAMPLE), Rect(64, 384, 640, 128))
    assert "tenacity" in words_of(result) and ocr.worker_pid is None


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_helper_opens_no_file_for_writing(tmp_path: Path) -> None:
    """System-call proof: the capture side and the helper, under strace -f."""
    script = textwrap.dedent("""
        import numpy as np
        from ingest.screen.frame import Frame, Rect
        from ingest.screen.ocr_worker import SharedOcr
        px = np.full((120, 400, 4), 255, np.uint8)
        px[40:80, 40:360] = 0
        frame = Frame(px.tobytes(), 400, 120)
        ocr = SharedOcr()
        ocr(frame, Rect(0, 0, 400, 120))
        ocr(frame, Rect(0, 30, 400, 60), pad=10)
        assert ocr.worker_pid is not None
        ocr.close()
    """)
    log = tmp_path / "strace.log"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    env.pop("ENGRAM_TESSERACT", None)
    done = subprocess.run(["strace", "-f", "-qq", "-e", "trace=open,openat,creat,rename,link",
                           "-o", str(log), sys.executable, "-c", script],
                          capture_output=True, env=env, timeout=120, check=False)
    if done.returncode != 0 and b"ptrace" in done.stderr:
        pytest.skip("ptrace is not permitted here")
    assert done.returncode == 0, done.stderr.decode()
    calls = log.read_text().splitlines()
    assert any("libtesseract" in c for c in calls)  # the helper was traced
    assert any("tessdata" in c for c in calls)
    writes = [c for c in calls
              if any(flag in c for flag in ("O_WRONLY", "O_RDWR", "O_CREAT", "creat(",
                                             "rename(", "link("))
              and "/dev/null" not in c and "/dev/tty" not in c]
    assert writes == []
