"""Settings for reaching Engram: the global shortcut, and what screenshots cost.

The shortcut is recorded by pressing it; it is saved only once it has been
registered (a combination another program holds is refused with the reason).
The cost line is measured on this computer's own store (``core.moments
.picture_cost``) and scaled to an active 8-hour day.
"""
from __future__ import annotations

import time

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QFormLayout, QHBoxLayout, QKeySequenceEdit, QLabel, QPushButton, QWidget,
)

from app.hotkey import DEFAULT_SHORTCUT, SETTING
from app.tasks import run_in_background
from app.views.common import human_size
from app.windows.context import AppContext
from core.moments import PictureCost, picture_cost

# bench_screen.py on a 1920×1080 desktop: ≈54 kB per viewing image, ≈9 MB a day.
TYPICAL_VIEW_DAY = "about 9 MB"
WINDOW_DAYS = 14


class ReachPanel(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        form = QFormLayout(self)
        row = QHBoxLayout()
        self.keys = QKeySequenceEdit()
        self.keys.setMaximumSequenceLength(1)
        self.keys.setToolTip("Click, then press the combination (e.g. Ctrl+Alt+Space)")
        current = str(ctx.engine.settings.get(SETTING) or DEFAULT_SHORTCUT)
        self.keys.setKeySequence(QKeySequence(current))
        self.apply = QPushButton("Use this shortcut")
        self.reset = QPushButton("Default")
        self.reset.setToolTip(DEFAULT_SHORTCUT)
        row.addWidget(self.keys, 1)
        row.addWidget(self.apply)
        row.addWidget(self.reset)
        form.addRow("Search or ask from any app", row)
        self.status = QLabel()
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        form.addRow(self.status)
        self.cost = QLabel()
        self.cost.setObjectName("hint")
        self.cost.setWordWrap(True)
        form.addRow("Screenshots", self.cost)
        self.apply.clicked.connect(self.on_apply)
        self.reset.clicked.connect(self.on_reset)
        self.refresh()

    def refresh(self) -> None:
        status = self.ctx.hotkey_status() if self.ctx.hotkey_status else \
            "The global shortcut starts with the app."
        self.status.setText(status)
        store = self.ctx.engine.store
        since = time.time() - WINDOW_DAYS * 86400
        run_in_background(lambda: picture_cost(store.reader(), since), self.show_cost,
                          owner=self)

    def show_cost(self, cost: PictureCost) -> None:
        full = bool(self.ctx.engine.settings.get("screen_keep_full_frames", False))
        what = ("Each moment keeps a thumbnail of the active window and "
                + ("the active window at full size (full frames are on)."
                   if full else "a viewing image of the whole screen (up to 1280 px wide) "
                   "for the full-size view, inside the encrypted database."))
        large = cost.frame_bytes if full else cost.view_bytes
        if cost.measured and not large:
            self.cost.setText(
                f"{what} None of the moments stored in the last {WINDOW_DAYS} days has one "
                f"yet; on a typical desktop they take {TYPICAL_VIEW_DAY} per active 8-hour "
                f"day. Thumbnails cost about "
                f"{human_size(int(cost.per_day(cost.thumbnail_bytes)))} a day here.")
        elif cost.measured:
            self.cost.setText(
                f"{what} On this computer that costs about "
                f"{human_size(int(cost.per_day(large)))} per active 8-hour day for the "
                f"{'full frames' if full else 'viewing images'} and "
                f"{human_size(int(cost.per_day(cost.thumbnail_bytes)))} for thumbnails "
                f"(measured over the last {WINDOW_DAYS} days, {cost.events} moments).")
        else:
            self.cost.setText(f"{what} Not enough screen time stored yet to measure it "
                              f"here; on a typical desktop viewing images take "
                              f"{TYPICAL_VIEW_DAY} per active 8-hour day.")

    def on_apply(self) -> None:
        text = self.keys.keySequence().toString(QKeySequence.SequenceFormat.PortableText)
        self.use(text)

    def on_reset(self) -> None:
        self.keys.setKeySequence(QKeySequence(DEFAULT_SHORTCUT))
        self.use(DEFAULT_SHORTCUT)

    def use(self, text: str) -> None:
        if self.ctx.set_hotkey is None:
            self.status.setText("The global shortcut is not running in this window.")
            return
        problem = self.ctx.set_hotkey(text)
        if problem:
            # The old one is gone with the failed attempt: put back what was saved.
            saved = str(self.ctx.engine.settings.get(SETTING) or DEFAULT_SHORTCUT)
            if saved != text:
                self.ctx.set_hotkey(saved)
            self.status.setText(f"{problem} (kept {saved})")
            return
        self.ctx.engine.settings.set(SETTING, text)
        self.refresh()
