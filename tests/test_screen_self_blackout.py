"""Bug 2 (issue 15): capture keeps reading the active window while Engram's own window
is open behind it, and blacks out only what shows of Engram.

A private Xvfb with a real window manager (openbox, which keeps the stacking order a
person sees), real windows, the real `engram capture --once`, real tesseract, the real
encrypted store. Engram's window is open first and large, so the focused window in
front of it lies wholly inside it: once a window with Engram's identity (WM_CLASS
"engram", title "Engram — Search"), once the real desktop app (`python -m app` on the
X server). Both failed before the fix with "no readable text in the active window".
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


def test_the_real_engram_window_behind_the_active_one(with_wm, data_dir: Path, cli,
                                                       tmp_path: Path):
    """The same with the real desktop app (`python -m app`, Qt on the X server) as the
    window behind: its own capture is off, `engram capture --once` reads the screen."""
    import os
    import signal

    from tests.gui.test_app_xvfb import AppProcess

    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths

    display = with_wm
    paths = resolve_paths(data_dir)
    settings = Settings(paths.settings_path)
    settings.set("screen_capture", False)  # the app must not capture itself here
    open_engine(paths, settings=settings, ask=None).close()  # an existing store: no welcome
    (tmp_path / "runtime").mkdir(mode=0o700)
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
           "ENGRAM_GUI_REPORT": "1", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_RUNTIME_DIR": str(tmp_path / "runtime"), "TMPDIR": str(tmp_path)}
    env.pop("WAYLAND_DISPLAY", None)
    app = AppProcess(env)
    notes = None
    try:
        try:
            wait_for(lambda: app.reported("ready") or app.proc.poll() is not None, timeout=90)
        except AssertionError:
            raise AssertionError("the app did not open:\n" + "\n".join(app.lines)) from None
        assert app.proc.poll() is None, "\n".join(app.lines)
        wid = wait_for(lambda: xdotool(display, "search", "--name", "^Engram"))
        xdotool(display, "windowsize", "--sync", wid.splitlines()[0], "1200", "740")
        xdotool(display, "windowmove", "--sync", wid.splitlines()[0], "10", "10")
        notes = TkWindow(display, "Harbour notes", NOTES, class_name="Notetaker",
                         geometry="700x220+260+300", font=20, pady=14)
        note_id = wait_for(lambda: xdotool(display, "search", "--name", "^Harbour notes$"))
        xdotool(display, "windowactivate", "--sync", note_id.splitlines()[0])
        capture_env = {"DISPLAY": display, "TMPDIR": str(tmp_path), "WAYLAND_DISPLAY": "",
                       "XDG_SESSION_ID": "", "XDG_RUNTIME_DIR": str(tmp_path / "runtime")}
        outcome = capture_once(cli, capture_env)
        assert outcome["status"] == "stored", outcome
        assert outcome["app"] == "Notetaker"
        stored = " ".join(screen_texts(data_dir)).lower()
        assert "harbour" in stored and "ferry" in stored
        app.proc.send_signal(signal.SIGTERM)
        assert app.proc.wait(timeout=60) == 0, "\n".join(app.lines)
    finally:
        if notes is not None:
            notes.close()
        if app.proc.poll() is None:
            app.proc.kill()
            app.proc.wait()
