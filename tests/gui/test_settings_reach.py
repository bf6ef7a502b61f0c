"""Settings → shortcut and screenshots: the shortcut is re-registered live (and a taken
one refused, keeping the old), and the screenshots' cost per day is measured."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QKeySequence

from app.hotkey import X11Hotkey
from app.views.settings_reach import ReachPanel
from core.records import Observation
from tests.gui.seed import at, screen_observation
from tests.xvfb import xdotool


def test_cost_of_viewing_images_is_measured_per_active_day(qtbot, ctx, seeded):
    engine, _info = seeded
    panel = ReachPanel(ctx)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.cost.text() != "", timeout=10000)
    # The seeded day: 70 minutes of screen moments with thumbnails, no viewing images:
    # not "0 B a day", the typical figure.
    assert "None of the moments stored in the last 14 days has one" in panel.cost.text()
    assert "9 MB" in panel.cost.text() and "0 B" not in panel.cost.text()
    assert "The global shortcut starts with the app." == panel.status.text()
    view = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"v" * 50_000
    obs = []
    for n in range(4):
        o = screen_observation(f"draft {n} of the budget memo", "Writer", f"memo {n}",
                               at(15, 15 * n), 15)
        obs.append(Observation(**{**o.__dict__, "full_image": view,
                                  "meta": {**o.meta, "full_shot": [0, 0, 720, 450],
                                           "full_kind": "view"}}))
    engine.pipeline.submit(obs)
    panel.cost.setText("")
    panel.refresh()
    qtbot.waitUntil(lambda: panel.cost.text() != "", timeout=10000)
    text = panel.cost.text()
    # 4 × 50 kB over the seeded 70 min + 60 min of screen time → 721.4 KB per 8 hours.
    assert "per active 8-hour day" in text and "viewing images" in text, text
    assert "721.4 KB per active 8-hour day for the viewing images" in text, text
    # Too little screen time to scale to a day: the typical figure instead.
    from core.moments import PictureCost

    panel.show_cost(PictureCost(1, 60.0, 20_000, 50_000, 0))
    assert "Not enough screen time" in panel.cost.text() and "9 MB" in panel.cost.text()


@pytest.mark.xvfb
def test_shortcut_is_changed_live_and_a_taken_one_is_refused(qtbot, ctx, xvfb, data_dir):
    from app.reach import Reach
    from app.windows.controller import Controller
    from app.windows.main_window import MainWindow
    from core.config import resolve_paths

    window = MainWindow()
    qtbot.addWidget(window)
    controller = Controller(resolve_paths(data_dir), window)
    reach = Reach(controller, None, hotkey_factory=lambda: X11Hotkey(xvfb))
    controller.ctx = ctx
    controller.ready.emit()
    squatter = X11Hotkey(xvfb)
    try:
        panel = ReachPanel(ctx)
        qtbot.addWidget(panel)
        assert panel.status.text().startswith("Ctrl+Alt+Space")
        panel.keys.setKeySequence(QKeySequence("Ctrl+Alt+K"))
        panel.apply.click()
        assert ctx.engine.settings.get("hotkey") == "Ctrl+Alt+K"
        assert panel.status.text().startswith("Ctrl+Alt+K")
        xdotool(xvfb, "key", "ctrl+alt+k")
        qtbot.waitUntil(lambda: reach.overlay is not None and reach.overlay.isVisible(),
                        timeout=5000)
        reach.overlay.dismiss()
        # Another program holds Ctrl+Alt+L: refused, and Ctrl+Alt+K keeps working.
        from app.hotkey import parse_shortcut

        squatter.register(parse_shortcut("Ctrl+Alt+L"), lambda: None)
        panel.keys.setKeySequence(QKeySequence("Ctrl+Alt+L"))
        panel.apply.click()
        assert "already taken" in panel.status.text() and "kept Ctrl+Alt+K" in \
            panel.status.text()
        assert ctx.engine.settings.get("hotkey") == "Ctrl+Alt+K"
        xdotool(xvfb, "key", "ctrl+alt+k")
        qtbot.waitUntil(lambda: reach.overlay.isVisible(), timeout=5000)
        panel.reset.click()
        assert ctx.engine.settings.get("hotkey") == "Ctrl+Alt+Space"
    finally:
        squatter.close()
        reach.close()
