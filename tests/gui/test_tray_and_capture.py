"""The tray is a view of capture state: pausing from it pauses the real supervisor."""
from __future__ import annotations

from datetime import timedelta

from app.tray import Tray, draw_icon
from core.records import utcnow


def actions(tray: Tray) -> dict[str, object]:
    tray.menu.aboutToShow.emit()  # the menu is rebuilt every time it opens
    return {a.text(): a for a in tray.menu.actions() if a.text()}


def test_pausing_from_the_tray_pauses_capture(qtbot, ctx, instance):
    tray = Tray(ctx.capture)
    sup = instance.supervisor
    assert not sup.paused and tray.state() in ("capturing", "idle")
    menu = actions(tray)
    assert not menu["Resume capture"].isEnabled()
    menu["Pause for 15 minutes"].trigger()
    assert sup.paused
    assert utcnow() + timedelta(minutes=14) < sup.paused_until < utcnow() + timedelta(minutes=16)
    qtbot.waitUntil(lambda: tray.state() == "paused", timeout=5000)
    assert "paused until" in tray.icon.toolTip()
    menu = actions(tray)  # rebuilt: now offers Resume
    assert menu["Resume capture"].isEnabled()
    menu["Resume capture"].trigger()
    assert not sup.paused and sup.paused_until is None
    actions(tray)["Pause until resumed"].trigger()
    assert sup.paused and sup.paused_until is None
    ctx.capture.resume()


def test_a_failed_source_shows_in_the_tray(qtbot, seeded):
    from app.instance import Instance
    from app.models.capture import CaptureState

    class Broken:
        name = "screen"

        def run(self, sink, control):
            raise RuntimeError("no display")

        def describe(self):
            return ""

    engine, _ = seeded
    inst = Instance(engine, [Broken()])
    inst.supervisor.backoff = 0.01
    inst.start(control=False)
    try:
        capture = CaptureState(inst, engine)
        tray = Tray(capture)
        qtbot.waitUntil(lambda: tray.state() == "failed", timeout=10000)
        texts = list(actions(tray))
        assert any("screen: RuntimeError: no display" in t for t in texts)
        assert "Capture problem" in capture.snapshot().summary()
    finally:
        inst.stop()


def test_icons_differ_by_state(qtbot):
    images = {s: draw_icon(s).pixmap(32, 32).toImage() for s in ("capturing", "paused",
                                                                 "failed", "locked")}
    assert len({img.pixelColor(24, 24).name() for img in images.values()}) >= 3


def test_without_a_tray_the_window_says_capture_continues(qtbot, ctx):
    from app.windows.shell import Shell

    shell = Shell(ctx)
    qtbot.addWidget(shell)
    assert not ctx.tray_available
    assert "engram daemon" in shell.capture_label.text()
