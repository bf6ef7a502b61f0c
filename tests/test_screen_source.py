"""ScreenSource: its states and its loop, first with stand-in OS handles, then for real
on a private Xvfb with real windows, real tesseract and the real encrypted store."""
from __future__ import annotations

import threading
import time
from typing import Any, Sequence

import numpy as np
import pytest

from core.records import Changes, Observation
from ingest.base import Control
from ingest.screen.activity import Activity
from ingest.screen.frame import Frame, Rect
from ingest.screen.ocr import OcrResult, OcrWord
from ingest.screen.source import ScreenSettings, ScreenSource
from ingest.screen.window import BackendStatus, WindowInfo
from tests.xvfb import TkWindow, focus, wait_for, xdotool

NOTES = WindowInfo(app="Notetaker", title="Plan - Notetaker", window_id=5,
                   geometry=Rect(0, 0, 320, 200))


class StandIn:
    """OS handles for the loop's logic: windows, idle probe and grabber in one object,
    with an OCR that "reads" ``words`` (the real ones run in the Xvfb tests below)."""

    def __init__(self) -> None:
        self.active: WindowInfo | None = NOTES
        self.visible: tuple[WindowInfo, ...] = ()
        self.backend = BackendStatus("fake", True, "fake")
        self.idle: float | None = 0.0
        self.locked: bool | None = False
        self.pixels = np.full((200, 320, 4), 255, dtype=np.uint8)
        self.monitors = (Rect(0, 0, 320, 200),)
        self.words = ["alpha", "beta"]

    def active_window(self) -> WindowInfo | None:
        return self.active

    def list_windows(self) -> tuple[WindowInfo, ...]:
        return self.visible

    def status(self) -> BackendStatus:
        return self.backend

    def activity(self) -> Activity:
        return Activity(self.idle, self.locked)

    def frame(self) -> Frame:
        return Frame(bytearray(self.pixels.tobytes()), 320, 200)

    def close(self) -> None:
        pass

    def ocr(self, frame: Frame, rect: Rect) -> OcrResult:
        words = tuple(OcrWord(t, 90.0, 10 + 60 * i, 20, 50, 20, 0)
                      for i, t in enumerate(self.words))
        return OcrResult(words, (" ".join(self.words),), rect)


class StandInRig:
    def __init__(self, parts: StandIn) -> None:
        self.windows = self.probe = parts
        self.parts = parts
        self.grabber = type("Grabber", (), {"grab": lambda _: parts.frame(),
                                            "monitors": parts.monitors})()

    def grab(self) -> Any:
        return self.grabber

    def close(self) -> None:
        pass


def make_source(parts: StandIn, **settings: Any) -> tuple[ScreenSource, StandInRig]:
    rig = StandInRig(parts)
    source = ScreenSource(ScreenSettings(interval=0.05, **settings), ocr=parts.ocr,
                          rig=lambda: rig)
    return source, rig


class Collect:
    def __init__(self) -> None:
        self.items: list[Observation] = []

    def __call__(self, observations: Sequence[Observation]) -> Changes:
        self.items.extend(observations)
        return Changes(added=tuple(range(len(self.items) - len(observations) + 1,
                                         len(self.items) + 1)))


def test_states_idle_locked_excluded(monkeypatch: pytest.MonkeyPatch) -> None:
    parts = StandIn()
    source, rig = make_source(parts, idle_seconds=60)
    sink = Collect()
    source._sink = sink

    assert source._tick(rig).status == "held"
    assert source.describe() == "capturing Notetaker"
    assert source._tick(rig).status == "unchanged"
    parts.idle = 120.0
    assert source._tick(rig).status == "idle" and source.describe() == "idle"
    assert len(sink.items) == 1  # the held event was flushed, ending at the last input
    flushed = sink.items[0]
    assert flushed.ended_at == flushed.captured_at  # input stopped before it was seen
    parts.idle, parts.locked = 0.0, True
    assert source._tick(rig).status == "locked" and source.describe() == "screen locked"
    parts.locked = False
    parts.active = WindowInfo(app="KeePassXC", title="Passwords.kdbx - KeePassXC", window_id=9)
    assert source._tick(rig).status == "excluded"
    assert source.describe() == "excluded: KeePassXC"
    parts.active = WindowInfo(app="i3lock", title="i3lock", window_id=10)
    assert source._tick(rig).status == "locked"
    parts.active = None
    assert source._tick(rig).status == "excluded" and source.describe() == "no active window"
    parts.backend = BackendStatus("none", False, "Wayland: active window unknown")
    assert source._tick(rig).status == "no-display"
    assert source.describe() == "no display (Wayland: active window unknown)"


def test_loop_pause_discards_and_stop_flushes() -> None:
    rig = StandIn()
    source, _ = make_source(rig, idle_seconds=0)
    sink, control = Collect(), Control()
    thread = threading.Thread(target=source.run, args=(sink, control))
    thread.start()
    try:
        wait_for(lambda: source.stats().unchanged >= 3)
        assert sink.items == []  # one event growing longer, nothing submitted yet
        control.pause()
        wait_for(lambda: source.describe() == "paused")
        assert [o.text for o in sink.items] == ["alpha beta"]  # flushed on pause
        rig.words = ["shown", "while", "paused"]
        rig.pixels[50:80, :, :3] = 0
        time.sleep(0.3)
        ticks = source.stats().ticks
        time.sleep(0.3)
        assert source.stats().ticks == ticks  # nothing captured while paused
        rig.words = ["after", "resume"]
        rig.pixels[50:80, :, :3] = 100
        control.resume()
        wait_for(lambda: source.describe() == "capturing Notetaker" and source.stats().reads >= 2)
    finally:
        control.stop()
        thread.join(10)
    assert not thread.is_alive()
    texts = [o.text for o in sink.items]
    assert texts == ["alpha beta", "after resume"]  # the held event flushed on stop
    assert source.describe() == "stopped"
    assert all(o.image and o.image[8:12] == b"WEBP" for o in sink.items)


def test_without_a_display_the_source_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    source = ScreenSource(ScreenSettings(interval=0.05))
    control = Control()
    thread = threading.Thread(target=source.run, args=(Collect(), control))
    thread.start()
    try:
        wait_for(lambda: source.describe() == "no display (Wayland: active window unknown)")
    finally:
        control.stop()
        thread.join(10)


# -- on a real X screen ---------------------------------------------------------------

@pytest.mark.xvfb
def test_real_screen_unchanged_adds_nothing_changes_read_by_band(xvfb_display: str,
                                                                 engine: Any) -> None:
    title = "Field notes - Notetaker"
    window = TkWindow(xvfb_display, title, ["Lisbon offsite agenda", "Pelican harbour invoice",
                                            "Quokka marmalade recipe"], geometry="900x300+60+80")
    source = ScreenSource(ScreenSettings(interval=0.2, idle_seconds=0))
    control = Control()
    thread = threading.Thread(target=source.run, args=(engine.pipeline.submit, control))
    try:
        focus(xvfb_display, title)
        thread.start()
        wait_for(lambda: source.stats().unchanged >= 5, timeout=30)
        first = source.stats()
        assert first.reads == 1 and first.full_reads == 1 and first.events == 0
        window.set_line(1, "Walrus lighthouse ticket")
        wait_for(lambda: source.stats().reads >= 2, timeout=30)
        wait_for(lambda: source.stats().unchanged >= first.unchanged + 3, timeout=30)
        edited = source.stats()
        assert edited.full_reads == 1  # only the changed band was read again
        assert edited.ocr_calls == 2
        assert edited.events == 0  # one line of three changed: the same event, grown
        window.set_title("Other notes - Notetaker")  # same pixels, another document
        wait_for(lambda: source.stats().events == 1, timeout=30)
        assert source.stats().ocr_calls == 2  # nothing on screen changed: nothing read
    finally:
        control.stop()
        thread.join(30)
        window.close()
    db = engine.store.reader()
    rows = db.execute("SELECT text, app, title, started_at, ended_at FROM events "
                      "WHERE source='screen' ORDER BY started_at").fetchall()
    assert len(rows) == 2
    first_text, second_text = rows[0][0], rows[1][0]
    assert rows[0][1:3] == ("Notetaker", title)
    assert rows[1][1:3] == ("Notetaker", "Other notes - Notetaker")
    # The first event: the screen as last seen (the unchanged lines were not re-read
    # but are there), then the line that left the screen.
    assert first_text.splitlines() == ["Lisbon offsite agenda", "Walrus lighthouse ticket",
                                       "Quokka marmalade recipe", "Pelican harbour invoice"]
    assert "Pelican" not in second_text and "Walrus lighthouse ticket" in second_text
    assert rows[0][4] - rows[0][3] >= 1.0  # one event that grew longer
    hits = engine.retriever.search("pelican harbour")
    assert hits and hits[0].source == "screen"


@pytest.mark.xvfb
def test_real_idle_time_stops_capture_until_input(xvfb_display: str) -> None:
    window = TkWindow(xvfb_display, "Idle - Notetaker", ["Quiet screen"])
    source = ScreenSource(ScreenSettings(interval=0.1, idle_seconds=1.0))
    control = Control()
    sink = Collect()
    thread = threading.Thread(target=source.run, args=(sink, control))
    try:
        focus(xvfb_display, "Idle - Notetaker")
        xdotool(xvfb_display, "mousemove", "300", "300")
        thread.start()
        wait_for(lambda: source.describe() == "idle", timeout=10)
        grabs = source.stats().grabs
        time.sleep(0.5)
        assert source.stats().grabs == grabs  # idle: not even a grab
        xdotool(xvfb_display, "mousemove", "310", "310")  # the person is back
        wait_for(lambda: source.describe() == "capturing Notetaker", timeout=10)
    finally:
        control.stop()
        thread.join(30)
        window.close()
    assert sink.items and "Quiet screen" in sink.items[0].text
