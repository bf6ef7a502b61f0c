"""Bug 2 (issue 15): capture keeps reading the active window while Engram's own window
is open behind it, and blacks out only what shows of Engram.

A private Xvfb with a real window manager (openbox, which keeps the stacking order a
person sees), real windows, the real `engram capture --once`, real tesseract, the real
encrypted store. The Engram window is a real top-level window with Engram's identity
(WM_CLASS "engram", title "Engram — Search"), open first and large, so the focused
window in front of it lies wholly inside it.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from tests.test_screen_capture import capture_once, screen_texts, write_settings
from tests.xvfb import TkWindow, wait_for, xdotool

pytestmark = pytest.mark.xvfb

NOTES = ["Harbour lighting budget approved", "Ferry timetable changes in June"]
ENGRAM = ["Engram private search results", "Confidential memory of yesterday"]


@pytest.fixture()
def with_wm(xvfb: str) -> Iterator[str]:
    if shutil.which("openbox") is None:
        pytest.skip("openbox is not installed (installers/install.sh --test installs it)")
    proc = subprocess.Popen(["openbox", "--sm-disable"], env={"DISPLAY": xvfb, "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def managed() -> bool:
            out = subprocess.run(["xprop", "-display", xvfb, "-root", "_NET_SUPPORTING_WM_CHECK"],
                                 capture_output=True, text=True).stdout
            return "window id" in out

        wait_for(managed, timeout=20)
        yield xvfb
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_engram_behind_the_active_window_does_not_blind_capture(with_wm, data_dir: Path,
                                                                cli, tmp_path: Path):
    display = with_wm
    env = {"DISPLAY": display, "TMPDIR": str(tmp_path), "WAYLAND_DISPLAY": "",
           "XDG_SESSION_ID": ""}
    data_dir.mkdir(parents=True, exist_ok=True)
    write_settings(data_dir, screen_capture=True)
    engram = TkWindow(display, "Engram — Search", ENGRAM, class_name="engram",
                      geometry="1200x720+20+20", font=20, pady=30)
    notes = TkWindow(display, "Harbour notes", NOTES, class_name="Notetaker",
                     geometry="700x220+260+300", font=20, pady=14)
    try:
        wid = wait_for(lambda: xdotool(display, "search", "--name", "^Harbour notes$"))
        xdotool(display, "windowactivate", "--sync", wid.splitlines()[0])
        outcome = capture_once(cli, env)
        assert outcome["status"] == "stored", outcome
        assert outcome["app"] == "Notetaker"
        texts = screen_texts(data_dir)
        assert len(texts) == 1
        stored = texts[0].lower()
        assert "harbour" in stored and "ferry" in stored
        assert "confidential" not in stored and "private" not in stored
    finally:
        notes.close()
        engram.close()
