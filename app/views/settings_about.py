"""Settings → About: version, build, llama.cpp and its CPU code, where data lives.

The facts come from ``app/about.py`` (shared with ``engram about``); llama.cpp's part
loads the native library, so it is read off the UI thread when the page is shown.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from app.tasks import run_in_background

_ROWS = (("Version", "version"), ("Build", "build"), ("Python", "python"), ("Qt", "qt"),
         ("Program", "program"), ("Data folder", "data_dir"), ("Models", "models_dir"),
         ("Start at login", "start_at_login"))


class AboutPanel(QWidget):
    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.values: dict[str, QLabel] = {}
        for title, key in (*_ROWS, ("llama.cpp", "llama"), ("CPU code", "cpu")):
            label = QLabel("…")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[key] = label
            self.form.addRow(title, label)

    def refresh(self) -> None:
        from app.about import about

        paths = self.ctx.engine.paths
        run_in_background(lambda: about(paths), self.show_info, owner=self)

    def show_info(self, info: dict[str, Any]) -> None:
        for _title, key in _ROWS:
            self.values[key].setText(str(info.get(key) or "—"))
        llama = info.get("llama_cpp", {})
        if "error" in llama:
            self.values["llama"].setText(llama["error"])
            self.values["cpu"].setText("—")
            return
        self.values["llama"].setText(
            f"llama-cpp-python {llama.get('llama_cpp_python')}, ggml "
            f"{llama.get('ggml_version', '?')} ({llama.get('ggml_commit', '?')})")
        self.values["cpu"].setText(f"{llama.get('cpu_backend', '?')}\n"
                                   f"{llama.get('system_info', '')}")
