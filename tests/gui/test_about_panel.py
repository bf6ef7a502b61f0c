"""Settings › About shows the version, the build, llama.cpp's CPU code and the data folder."""
from __future__ import annotations

import tomllib
from pathlib import Path

from app.views.settings import SettingsView

VERSION = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml")
                        .read_text())["project"]["version"]


def test_about_panel_in_settings(qtbot, ctx):
    view = SettingsView(ctx)
    qtbot.addWidget(view)
    view.show()
    view.activate()
    about = view.about
    qtbot.waitUntil(lambda: about.values["llama"].text() != "…", timeout=20000)
    assert about.values["version"].text() == VERSION
    assert about.values["build"].text() == "source"
    assert about.values["data_dir"].text() == str(ctx.engine.paths.data_dir)
    assert about.values["llama"].text().startswith("llama-cpp-python 0.3.36, ggml ")
    assert "CPU :" in about.values["cpu"].text()
    assert about.values["start_at_login"].text().startswith(("on (", "off ("))
