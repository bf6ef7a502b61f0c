"""The screen building blocks against a real X server: a private Xvfb and a Tk window.

Xvfb has no window manager, so ``_NET_ACTIVE_WINDOW`` is absent at first: the
X11 backend falls back to the focused window (set with xdotool), or to the
window under the pointer when focus is PointerRoot. The EWMH path is checked
by setting ``_NET_ACTIVE_WINDOW`` on the root the way a window manager would.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from ingest.screen import window as window_mod
from ingest.screen.change import ChangeDetector
from ingest.screen.frame import Frame, Rect
from ingest.screen.ocr import ocr_region
from ingest.screen.privacy import PrivacySettings, should_capture
from ingest.screen.window import X11Backend
from tests.xvfb import TkWindow, grab, wait_for, xdotool

TITLE = "Quarterly planning - Notetaker"
LINES = ("Lisbon offsite agenda", "Ana recommended tenacity for retries")


@pytest.fixture()
def tk_window(xvfb: str) -> Iterator[TkWindow]:
    window = TkWindow(xvfb, TITLE, LINES)
    try:
        yield window
    finally:
        window.close()


@pytest.mark.xvfb
def test_capture_change_ocr_and_active_window_on_a_real_screen(
        xvfb: str, tk_window: TkWindow) -> None:
    backend = X11Backend(xvfb)
    try:
        status = backend.status()
        assert status.ok and "no window manager" in status.reason

        ours = wait_for(lambda: [w for w in backend.list_windows() if w.title == TITLE])
        assert len(ours) == 1
        listed = ours[0]
        assert listed.app == "Notetaker"
        assert listed.pid == tk_window.pid  # Tk sets no _NET_WM_PID: found via X-Resource
        assert listed.geometry is not None
        assert (listed.geometry.left, listed.geometry.top) == (120, 140)
        assert (listed.geometry.width, listed.geometry.height) == (760, 220)

        # Focus follows the pointer while focus is PointerRoot (the Xvfb default).
        xdotool(xvfb, "mousemove", "10", "10")
        assert backend.active_window() is None  # pointer over the bare root window
        xdotool(xvfb, "mousemove", "400", "200")
        assert wait_for(lambda: backend.active_window()).title == TITLE

        # Explicit keyboard focus, as a person clicking into the window would give.
        xdotool(xvfb, "mousemove", "10", "10")
        wid = xdotool(xvfb, "search", "--name", "^Quarterly planning")
        xdotool(xvfb, "windowfocus", "--sync", wid.splitlines()[0])
        active = wait_for(lambda: backend.active_window())
        assert (active.title, active.app, active.pid) == (TITLE, "Notetaker", tk_window.pid)
        assert active.window_id == listed.window_id
        assert should_capture(active, PrivacySettings()).allowed

        # The frame: the window shows text; OCR of the changed region finds it.
        detector = ChangeDetector()
        frame = grab(xvfb)
        assert (frame.width, frame.height) == (1280, 800)
        assert detector.update(frame).first
        again = detector.update(grab(xvfb))
        assert again.rects == () and again.changed_tiles == 0

        window_rect = active.geometry
        assert window_rect is not None
        result = ocr_region(frame, window_rect)
        words = {w.text.lower() for w in result.words}
        assert {"lisbon", "offsite", "agenda", "tenacity", "retries"} <= words
        assert any("Ana recommended tenacity" in line for line in result.lines)
        for word in result.words:  # boxes are in frame coordinates, inside the window
            assert window_rect.intersection(Rect(word.left, word.top, word.width, word.height))

        # One line of the window changes: only its area is reported, and OCR of
        # that region alone reads the new text.
        tk_window.set_line(1, "Ana recommended httpx for clients")

        def changed_frame() -> tuple[Frame, tuple[Rect, ...]] | None:
            f = grab(xvfb)
            rects = detector.update(f).rects
            return (f, rects) if rects else None

        new_frame, rects = wait_for(changed_frame)
        assert detector.update(grab(xvfb)).rects == ()  # settled: nothing new since
        assert len(rects) == 1
        rect = rects[0]
        assert window_rect.intersection(rect) is not None
        assert rect.height <= 128 and rect.area < window_rect.area
        changed_text = ocr_region(new_frame, rect)
        assert "httpx" in {w.text.lower() for w in changed_text.words}
        assert "lisbon" not in changed_text.text.lower()  # the unchanged line is not re-read
    finally:
        backend.close()


@pytest.mark.xvfb
def test_ewmh_active_window_and_module_helpers(
        xvfb: str, tk_window: TkWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    from Xlib import X, Xatom, display

    backend = X11Backend(xvfb)
    target = wait_for(lambda: [w for w in backend.list_windows() if w.title == TITLE])[0]
    backend.close()
    # Play window manager: publish the active window the EWMH way.
    d = display.Display(xvfb)
    d.screen().root.change_property(d.intern_atom("_NET_ACTIVE_WINDOW"), Xatom.WINDOW, 32,
                                    [target.window_id], X.PropModeReplace)
    d.sync()
    monkeypatch.setenv("DISPLAY", xvfb)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    window_mod.reset_backend()
    try:
        status = window_mod.backend_status()
        assert status.ok and "window manager reports" in status.reason
        active = window_mod.active_window()
        assert active is not None and active.title == TITLE
        assert TITLE in [w.title for w in window_mod.list_windows()]
    finally:
        window_mod.reset_backend()
        d.close()


def test_without_display_the_null_backend_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    window_mod.reset_backend()
    try:
        status = window_mod.backend_status()
        assert (status.name, status.ok, status.reason) == \
            ("none", False, "Wayland: active window unknown")
        assert window_mod.active_window() is None and window_mod.list_windows() == ()
        monkeypatch.delenv("WAYLAND_DISPLAY")
        monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
        window_mod.reset_backend()
        assert "DISPLAY is not set" in window_mod.backend_status().reason
    finally:
        window_mod.reset_backend()
