"""The real app (`python -m app`) on a private Xvfb: Ctrl+Alt+Space, pressed with
xdotool while another window has the focus, floats the search/ask overlay over it;
typing searches, Esc closes it. A screenshot goes to tests/artifacts/screens/."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.gui.test_app_xvfb import AppProcess, non_blank, seeded_home, shoot  # noqa: F401
from tests.xvfb import TkWindow, focus, require_tools, running_xvfb, wait_for, xdotool

pytestmark = pytest.mark.xvfb
OVERLAY = "Engram — search or ask"


def visible(display: str, name: str) -> list[str]:
    import subprocess

    done = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", name],
                          env={**os.environ, "DISPLAY": display}, capture_output=True,
                          text=True, timeout=10)
    return done.stdout.split()


def test_hotkey_floats_the_overlay_over_another_app(seeded_home: Path,  # noqa: F811
                                                    tmp_path: Path) -> None:
    require_tools()
    with running_xvfb("1366x768x24") as display:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
               "ENGRAM_GUI_REPORT": "1", "XDG_RUNTIME_DIR": str(tmp_path / "runtime"),
               "XDG_CONFIG_HOME": str(tmp_path / "config"), "ENGRAM_NO_CAPTURE": "1"}
        (tmp_path / "runtime").mkdir(mode=0o700)
        env.pop("WAYLAND_DISPLAY", None)
        app = AppProcess(env)
        other = None
        try:
            wait_for(lambda: app.reported("ready") or app.proc.poll() is not None, timeout=90)
            assert app.proc.poll() is None, "\n".join(app.lines)
            other = TkWindow(display, "Budget - Editor", ["Quarterly numbers, draft 3"],
                             geometry="900x400+200+200")
            focus(display, other.title)
            assert not visible(display, OVERLAY)
            time.sleep(1.0)  # the grab is made once the engine is open ("ready")
            xdotool(display, "key", "ctrl+alt+space")
            wait_for(lambda: visible(display, OVERLAY), timeout=15)
            time.sleep(0.5)
            xdotool(display, "type", "--delay", "30", "tenacity")
            time.sleep(3.0)  # debounce, search, layout
            path = shoot(display, "overlay-1366x768")
            assert non_blank(path)
            xdotool(display, "key", "Escape")
            wait_for(lambda: not visible(display, OVERLAY), timeout=10)
            assert app.proc.poll() is None
            app.proc.send_signal(signal.SIGTERM)
            assert app.proc.wait(timeout=60) == 0, "\n".join(app.lines)
        finally:
            if other is not None:
                other.close()
            if app.proc.poll() is None:
                app.proc.kill()
                app.proc.wait()
