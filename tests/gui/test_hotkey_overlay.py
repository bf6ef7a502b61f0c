"""The global hotkey (XGrabKey on a real Xvfb, pressed with xdotool), the overlay it
opens, and "Never record this app" with undo from the tray and from a moment."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.hotkey import (GlobalHotkey, HotkeyUnavailable, Shortcut, UnsupportedHotkey, X11Hotkey,
                        parse_shortcut)
from app.overlay import Overlay
from core.exclusions import excluded_apps
from tests.gui.conftest import IdleSource
from tests.xvfb import xdotool


def test_shortcuts_parse_and_bad_ones_say_why() -> None:
    s = parse_shortcut("ctrl+alt+space")
    assert s == Shortcut(frozenset({"ctrl", "alt"}), "space", "Ctrl+Alt+Space")
    assert parse_shortcut("Super+Shift+e").key == "e"
    assert parse_shortcut("Alt+F12").key == "F12"
    assert parse_shortcut("Ctrl++").key == "plus"  # as QKeySequence writes it
    for bad, why in (("Space", "Ctrl, Alt or Super"), ("Ctrl+Alt", "exactly one key"),
                     ("Ctrl+A+B", "exactly one key"), ("", "Type a shortcut")):
        with pytest.raises(ValueError, match=why):
            parse_shortcut(bad)


def test_unsupported_platforms_say_so_instead_of_faking(qtbot) -> None:
    backend = UnsupportedHotkey("windows", "A global shortcut is not available on Windows yet")
    with pytest.raises(HotkeyUnavailable, match="Windows"):
        backend.register(parse_shortcut("Ctrl+Alt+Space"), lambda: None)
    hotkey = GlobalHotkey(lambda: backend)
    assert not hotkey.start("Ctrl+Alt+Space") and "Windows" in hotkey.problem
    assert hotkey.shortcut is None


@pytest.mark.xvfb
def test_x11_hotkey_fires_on_the_key_and_a_taken_one_is_refused(qtbot, xvfb) -> None:
    hotkey = GlobalHotkey(lambda: X11Hotkey(xvfb))
    assert hotkey.start("Ctrl+Alt+Space"), hotkey.problem
    try:
        with qtbot.waitSignal(hotkey.activated, timeout=5000):
            xdotool(xvfb, "key", "ctrl+alt+space")
        # Num Lock on must not kill the shortcut.
        xdotool(xvfb, "key", "Num_Lock")
        with qtbot.waitSignal(hotkey.activated, timeout=5000):
            xdotool(xvfb, "key", "ctrl+alt+space")
        xdotool(xvfb, "key", "Num_Lock")
        # Another client cannot take the same combination: said, not faked.
        other = GlobalHotkey(lambda: X11Hotkey(xvfb))
        assert not other.start("Ctrl+Alt+Space") and "already taken" in other.problem
        # Another key does not fire it.
        with qtbot.assertNotEmitted(hotkey.activated, wait=400):
            xdotool(xvfb, "key", "ctrl+alt+x")
    finally:
        hotkey.stop()
    # Released: the combination can be taken again (re-configuring works).
    again = GlobalHotkey(lambda: X11Hotkey(xvfb))
    assert again.start("Ctrl+Alt+Space"), again.problem
    again.stop()


def test_overlay_searches_opens_a_hit_asks_and_escape_closes(qtbot, ctx) -> None:
    overlay = Overlay(ctx, close_on_deactivate=False)
    qtbot.addWidget(overlay)
    overlay.popup()
    assert overlay.isVisible() and overlay.focusWidget() is overlay.box
    QTest.keyClicks(overlay.box, "tenacity retries")
    qtbot.waitUntil(lambda: overlay.model.rowCount() > 0, timeout=20000)
    assert overlay.results.isVisible()
    titles = [overlay.model.hit(r).title for r in range(overlay.model.rowCount())]
    assert any("Tenacity" in t for t in titles)
    from app.models.search_results import HitRole

    screen_row = next(r for r in range(overlay.model.rowCount())
                      if overlay.model.hit(r).source == "screen")
    qtbot.waitUntil(lambda: overlay.model.index(screen_row, 0).data(HitRole.Thumbnail)
                    is not None, timeout=10000)  # the screenshot beside the hit
    first = overlay.model.hit(0)
    with qtbot.waitSignal(overlay.open_hit) as opened:
        QTest.keyClick(overlay.box, Qt.Key.Key_Return)
    assert opened.args[0] == first and not overlay.isVisible()
    overlay.popup()
    with qtbot.waitSignal(overlay.ask) as asked:
        QTest.keyClick(overlay.box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert asked.args == ["tenacity retries"]
    overlay.popup()
    QTest.keyClick(overlay.box, Qt.Key.Key_Escape)
    assert not overlay.isVisible()


class ScreenLikeSource(IdleSource):
    """Reports what the real screen source reports while it records an app."""

    name = "screen"

    def describe(self) -> str:
        return "capturing Gedit"


@pytest.fixture
def reach(qtbot, ctx, data_dir, tmp_path):
    from app.instance import Instance
    from app.models.capture import CaptureState
    from app.reach import Reach
    from app.tray import Tray
    from app.windows.controller import Controller
    from app.windows.main_window import MainWindow
    from core.config import resolve_paths

    window = MainWindow()
    qtbot.addWidget(window)
    controller = Controller(resolve_paths(data_dir), window)
    inst = Instance(ctx.engine, [ScreenLikeSource()])
    inst.start(control=False)
    ctx.capture = CaptureState(inst, ctx.engine)
    restarts: list[int] = []
    ctx.restart_capture = lambda: restarts.append(1)
    tray = Tray(ctx.capture)
    r = Reach(controller, tray, hotkey_factory=lambda: UnsupportedHotkey("test", "no grab here"))
    controller.ctx = ctx
    controller.ready.emit()
    qtbot.waitUntil(lambda: any(s.state == "running" for s in inst.supervisor.statuses()),
                    timeout=10000)
    yield r, tray, restarts
    inst.stop()
    r.close()


def test_never_record_from_the_tray_with_undo(qtbot, ctx, reach) -> None:
    r, tray, restarts = reach
    ctx.engine.settings.set("screen_excluded_apps", ["Signal"])
    tray.rebuild_menu()
    actions = {a.text(): a for a in tray.menu.actions()}
    assert "Never record Gedit" in actions and actions["Never record Gedit"].isEnabled()
    actions["Never record Gedit"].trigger()
    assert excluded_apps(ctx.engine.settings) == ["Signal", "Gedit"] and restarts == [1]
    assert r.undo_bar.isVisibleTo(r.window) and "Gedit" in r.undo_bar.label.text()
    tray.rebuild_menu()
    undo = {a.text(): a for a in tray.menu.actions()}["Undo: record Gedit again"]
    undo.trigger()
    assert excluded_apps(ctx.engine.settings) == ["Signal"] and restarts == [1, 1]
    tray.rebuild_menu()
    assert not [a for a in tray.menu.actions() if a.text().startswith("Undo")]
    # The overlay entry is there too, disabled-free, and the hotkey's problem is kept.
    assert any(a.text().startswith("Search or ask") for a in tray.menu.actions())
    assert r.hotkey_status() == "no grab here" and ctx.hotkey_status() == "no grab here"


def test_never_record_from_a_moment_with_undo_in_the_window(qtbot, ctx, reach) -> None:
    from app.views.moment import open_moment
    from tests.gui.test_moment_view import store_screen_moment

    r, _tray, restarts = reach
    event_id = store_screen_moment(ctx.engine)
    window = open_moment(ctx, event_id)
    qtbot.waitUntil(lambda: window.loaded is not None, timeout=15000)
    window.never_button.click()
    assert "Mousepad" in excluded_apps(ctx.engine.settings) and restarts == [1]
    assert "Mousepad" in r.undo_bar.label.text()
    r.undo_bar.undo.click()
    assert "Mousepad" not in excluded_apps(ctx.engine.settings) and restarts == [1, 1]
    window.close()


@pytest.mark.xvfb
def test_the_hotkey_opens_the_overlay_through_reach(qtbot, ctx, xvfb, data_dir) -> None:
    from app.reach import Reach
    from app.windows.controller import Controller
    from app.windows.main_window import MainWindow
    from core.config import resolve_paths

    window = MainWindow()
    qtbot.addWidget(window)
    controller = Controller(resolve_paths(data_dir), window)
    r = Reach(controller, None, hotkey_factory=lambda: X11Hotkey(xvfb))
    controller.ctx = ctx
    controller.ready.emit()
    try:
        assert r.hotkey.shortcut is not None, r.hotkey.problem
        assert ctx.hotkey_status().startswith("Ctrl+Alt+Space")
        xdotool(xvfb, "key", "ctrl+alt+space")
        qtbot.waitUntil(lambda: r.overlay is not None and r.overlay.isVisible(), timeout=5000)
        r.overlay.close_on_deactivate = False
        QTest.keyClick(r.overlay.box, Qt.Key.Key_Escape)
        assert not r.overlay.isVisible()
        # Re-configured from Settings: the old combination is released, the new one works.
        assert ctx.set_hotkey("Ctrl+Alt+J") == ""
        xdotool(xvfb, "key", "ctrl+alt+j")
        qtbot.waitUntil(lambda: r.overlay.isVisible(), timeout=5000)
        assert "Type a shortcut" in ctx.set_hotkey("")
    finally:
        r.close()


def test_sources_lists_an_app_excluded_elsewhere(qtbot, ctx) -> None:
    from app.views.sources import SourcesView
    from core.exclusions import never_record

    view = SourcesView(ctx)
    qtbot.addWidget(view)
    never_record(ctx.engine.settings, "Gedit")
    ctx.nav.settings_changed.emit()  # what the app's freshness watcher emits
    assert [view.apps.item(i).text() for i in range(view.apps.count())][-1] == "Gedit"
